"""Headers first: whether the decision on a big message can depend on its body.

The use case asks this of a big message's header alone (inbound.mime.parse_head)
before it decodes anything else. The pipeline's own steps, up to knowing who the
author is, answer it: a duplicate, an automated mail or a forged sender is
decided on the header; so is a stranger who may not open tickets and is no
participant of the ticket the mail names (the decision is a rejection). Their
body is then never parsed, nor their attachments decoded; the raw bytes are
kept all the same. Only a bounce needs its body (the report names our mail).
"""

from __future__ import annotations

from gateway.domain import AuthorRole, Decision, ParsedMessage, RecordBounce
from gateway.intake import steps
from gateway.intake.assessment import Assessment
from gateway.intake.facts import Facts

# The steps that need nothing but the header, ending with who the author is.
HEADER_STEPS = steps.STEPS[: steps.STEPS.index(steps.identify_author) + 1]


def body_needed(head: ParsedMessage, facts: Facts) -> bool:
    """False when the decision on this header alone cannot change with the body."""
    assessment = Assessment(message=head, dedup_key=steps.dedup_key(head))
    for step in HEADER_STEPS:
        result = step(assessment, facts)
        if isinstance(result, Decision):
            return isinstance(result, RecordBounce)
        assessment = result
    return assessment.role is not AuthorRole.STRANGER or assessment.may_open_tickets
