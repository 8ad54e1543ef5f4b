"""Typed template contexts: what each template is filled with, built in one place.

A template reads plain names (`ticket.ref`, `requester_name`); these frozen
values say which names each template gets and build them from domain
records with the locale's `Words`, so a label or date format is never
spelled out by a caller. `as_mapping()` hands Jinja plain dicts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gateway.domain import AgentNews, Directory, HoldLoop, TicketRecord
from gateway.domain.flood import HoldSource
from gateway.mail.labels import Words


class TemplateContext:
    """Base of every typed context: its fields are the template's variables."""

    def as_mapping(self) -> dict[str, object]:
        return asdict(self)  # type: ignore[call-overload]  # every subclass is a dataclass


@dataclass(frozen=True)
class TicketLine:
    """The ticket as a customer's mail names it."""

    ref: str
    subject: str
    priority: int

    @classmethod
    def of(cls, ticket: TicketRecord) -> TicketLine:
        return cls(str(ticket.ref), ticket.subject, int(ticket.priority))


def agreed_due(ticket: TicketRecord, words: Words) -> str:
    """The resolution date agreed with the customer (`#due`) as they read it; "" if none."""
    return words.when(ticket.due_at) if ticket.due_at else ""


@dataclass(frozen=True)
class Acknowledgement(TemplateContext):
    """`acknowledgement` (or a rule's `reply_with` template): the ticket is open."""

    ticket: TicketLine
    requester_name: str
    priority_label: str
    category_label: str
    first_response_due: str  # "" when the policy sets no first-answer target (`null`)
    support_address: str
    due: str = ""  # a ticket an agent opened for a contact may have an agreed date already

    @classmethod
    def of(
        cls, ticket: TicketRecord, requester_name: str, support: str, words: Words
    ) -> Acknowledgement:
        return cls(
            ticket=TicketLine.of(ticket),
            requester_name=requester_name,
            priority_label=words.priority(ticket.priority),
            category_label=words.category(ticket.category),
            first_response_due=(
                words.when(ticket.first_response_due) if ticket.first_response_due else ""
            ),
            support_address=support,
            due=agreed_due(ticket, words),
        )


@dataclass(frozen=True)
class Rejection(TemplateContext):
    """`rejection`: the official channel, and nothing about any ticket."""

    support_address: str
    organization_note: str = ""  # the organization's own instructions, when it has some


@dataclass(frozen=True)
class TicketFacts:
    """The ticket as an agent's mail shows it."""

    ref: str
    subject: str
    requester: str
    requester_name: str
    organization: str
    priority: int
    priority_label: str
    category: str
    environment: str
    queue: str  # the queue's name from directory.yaml; `queue_id` is what `#queue` takes
    assignee: str
    status: str  # in the agents' words (`agent_status`); the id is `status_id`
    first_response_due: str
    resolution_due: str
    due: str  # the date agreed with the customer (`#due`)
    queue_id: str = ""
    status_id: str = ""

    @classmethod
    def of(cls, ticket: TicketRecord, directory: Directory, words: Words) -> TicketFacts:
        """The facts in the locale's words: ids (status, environment, queue) are what the
        gateway stores, not what an agent reads in a Portuguese mail; a status in the
        agents' own words, an SLA target switched off as words ("sem prazo")."""
        org = directory.organization(ticket.organization)
        return cls(
            ref=str(ticket.ref),
            subject=ticket.subject,
            requester=ticket.requester,
            requester_name=ticket.requester_name,
            organization=org.name if org else (ticket.organization or "—"),
            priority=int(ticket.priority),
            priority_label=words.priority(ticket.priority),
            category=words.category(ticket.category),
            environment=words.environment(ticket.environment),
            queue=words.queue_in(directory, ticket.queue) if ticket.queue else "—",
            assignee=ticket.assignee or "—",
            status=words.agent_status(ticket.status.value),
            first_response_due=words.target_due(ticket.first_response_due),
            resolution_due=words.target_due(ticket.resolution_due),
            due=words.when(ticket.due_at),
            queue_id=ticket.queue or "",
            status_id=ticket.status.value,
        )


@dataclass(frozen=True)
class ThreadLine:
    """One message of the conversation so far, as a hand-off shows it to the next agent."""

    at: str
    who: str
    internal: bool
    text: str
    attachments: list[str]


@dataclass(frozen=True)
class AgentNotification(TemplateContext):
    """`agent_notification`: what happened, the facts, and the agent's two signed addresses
    (answer the customer; internal note), naming the one this mail's Reply-To points at."""

    event: AgentNews
    author: str
    text: str
    marker: str
    answer_address: str
    note_address: str
    replies_are_notes: bool
    ticket: TicketFacts
    conversation: list[ThreadLine]
    history: str = ""  # the sender's whole text when quoted history was cut from `text`

    def as_mapping(self) -> dict[str, object]:
        mapping = asdict(self)
        mapping["event"] = self.event.value
        return mapping


@dataclass(frozen=True)
class TicketName:
    ref: str
    subject: str


@dataclass(frozen=True)
class AgentAnswer(TemplateContext):
    """`agent_reply`: an agent's text, relayed to the customer from the support address,
    with the resolution date agreed with them, once there is one."""

    text: str
    agent_name: str
    ticket: TicketName
    due: str = ""
    status_line: str = ""  # set when the answer changes the status: the new one, what's next
    # Set when the same mail changed them (seeds 002, 004): "1 (alta)", the queue's name.
    priority_line: str = ""
    queue_name: str = ""

    @classmethod
    def of(
        cls,
        text: str,
        agent_name: str,
        ticket: TicketRecord,
        words: Words,
        status_line: str = "",
        *,
        priority_changed: bool = False,
        queue_name: str = "",
    ) -> AgentAnswer:
        name = TicketName(str(ticket.ref), ticket.subject)
        level = int(ticket.priority)
        priority = f"{level} ({words.priority(ticket.priority)})" if priority_changed else ""
        return cls(
            text, agent_name, name, agreed_due(ticket, words), status_line, priority, queue_name
        )


@dataclass(frozen=True)
class CommandErrors(TemplateContext):
    """`agent_command_errors`: what failed; nothing reached the customer."""

    errors: list[str]
    ref: str
    kept_as_note: bool = False
    # The agent's own signed addresses on the ticket, when the mail named one.
    answer_address: str = ""
    note_address: str = ""


# --- the lifecycle's mail ----------------------------------------------------------------


@dataclass(frozen=True)
class HistoryLine:
    """One earlier public message, quoted short in a status mail."""

    at: str
    who: str
    text: str


@dataclass(frozen=True)
class AboutTicket:
    """What every lifecycle mail to the customer carries (`due`: the agreed date, or "")."""

    ticket: TicketLine
    requester_name: str
    history: list[HistoryLine]
    support_address: str
    due: str = ""

    @classmethod
    def of(
        cls,
        ticket: TicketRecord,
        history: list[HistoryLine],
        support_address: str,
        words: Words,
    ) -> AboutTicket:
        line = TicketLine.of(ticket)
        return cls(line, ticket.requester_name, history, support_address, agreed_due(ticket, words))


@dataclass(frozen=True)
class CustomerNotice(TemplateContext):
    """A lifecycle mail to the requester: the common part, then its own names."""

    about: AboutTicket

    def as_mapping(self) -> dict[str, object]:
        mapping = asdict(self)
        return {**mapping.pop("about"), **mapping}


@dataclass(frozen=True)
class CustomerActions:
    """What a status mail offers the customer, each a link signed for this ticket
    (gateway/lifecycle/ticket_links.py): approve the solution, say it is not solved, ask
    for the next level; and a phrase that escalates by reply ("" when none is read)."""

    approve_url: str
    not_solved_url: str
    escalate_url: str
    escalate_phrase: str


@dataclass(frozen=True)
class StatusChanged(CustomerNotice):
    """`status_changed`: the new status in words, why, and any automatic deadline; when
    resolved, the outcome's paragraph (`#outcome`, from the policy) and how to approve or
    refuse the solution."""

    status: str
    status_label: str
    cause: str
    deadline: str
    actions: CustomerActions
    outcome: str = ""


@dataclass(frozen=True)
class Closed(CustomerNotice):
    """`closed`: why, the outcome's paragraph, and what a reply will do now."""

    cause: str
    new_ticket_on_reply: bool
    outcome: str = ""


@dataclass(frozen=True)
class SurveyInvitation(CustomerNotice):
    """`survey`: the page and its one-click answers, each link signed for this survey."""

    survey_url: str
    rating_links: list[tuple[int, str]]
    met_links: dict[str, str]


@dataclass(frozen=True)
class Reminder(CustomerNotice):
    """`reminder`: we wait for the customer since … and resolve without them at …."""

    since: str
    deadline: str


@dataclass(frozen=True)
class AutoResolved(CustomerNotice):
    """`auto_resolved`: resolved after waiting …; closes at … unless they write (or approve
    it, or say it is not solved)."""

    waited: str
    deadline: str
    actions: CustomerActions


@dataclass(frozen=True)
class EscalationAnswer(CustomerNotice):
    """`escalation_answer`: the customer's escalation was taken to `level`, or (not
    `accepted`) one was already taken at `earlier` and the next may be at `next_allowed`."""

    accepted: bool
    level: str
    earlier: str
    next_allowed: str


@dataclass(frozen=True)
class EscalationNotice(TemplateContext):
    """`escalation_notice`: past the end of the queues' chain, the direction hears that a
    customer asked for escalation, with their words."""

    ticket: TicketFacts
    author: str
    text: str


@dataclass(frozen=True)
class SlaNotice(TemplateContext):
    """`sla_warning` / `sla_breach`: which clock, when, and the escalation level."""

    ticket: TicketLine
    sla_label: str
    due: str
    queue: str
    assignee: str
    level: int
    # An agent's own signed addresses (empty for the direction, who acts through agents).
    answer_address: str = ""
    note_address: str = ""


@dataclass(frozen=True)
class LoopAlert(TemplateContext):
    """`loop_alert`: what the gateway stopped answering and why, as data the template words
    in its locale (`limit` is the `[limits]` key gone over, or `repeated_answer`)."""

    source: str
    key: str
    is_sender: bool
    is_ticket: bool
    limit: str
    count: int  # the limit's count; 0 for a repeated answer, which has none
    window: str  # the limit's window in words ("10 minutos"); "" for a repeated answer
    signals: tuple[str, ...]  # for loop_signals: what the mail showed, in words
    subject: str
    sender: str
    reason: str  # the receipt's English words, for an admin's own template that shows them

    @classmethod
    def of(cls, d: HoldLoop, subject: str, sender: str, words: Words) -> LoopAlert:
        rate = d.tripped.rate
        return cls(
            source=d.source.value,
            key=d.key,
            is_sender=d.source is HoldSource.SENDER,
            is_ticket=d.source is HoldSource.TICKET,
            limit=d.tripped.trip.value,
            count=rate.count if rate else 0,
            window=words.span(rate.window) if rate else "",
            signals=tuple(words.loop_signal(s) for s in d.tripped.signals),
            subject=subject,
            sender=sender,
            reason=d.reason,
        )
