"""Each pipeline step on its own, with an in-memory Facts (no sockets, no database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import (
    Agent,
    AgentCommandsFailed,
    AgentError,
    AgentUpdate,
    AuthorRole,
    Contact,
    CreateTicket,
    Decision,
    DecisionKind,
    Directory,
    DomainPolicy,
    EmailAddress,
    Envelope,
    Organization,
    ParsedMessage,
    Priority,
    Quarantine,
    Queue,
    RejectUnauthorized,
    ThreadSource,
    ThreadUpdate,
    TicketRef,
    TicketSnapshot,
    TicketStatus,
    TokenPurpose,
    Triage,
    TriageInput,
    TriageOutcome,
)
from gateway.domain.calendar import BusinessCalendar
from gateway.domain.commands import CommandTerms
from gateway.domain.flood import Counter, FloodLimits, Hold, HoldSource
from gateway.domain.signing import ReplyTokens
from gateway.intake import steps as pipeline
from rules.engine import RuleSet

TOKENS = ReplyTokens(b"unit-test-secret-unit-test-secret")
SP = ZoneInfo("America/Sao_Paulo")
ANA = "ana@example.com"
AGENT_AUTH = (("Authentication-Results", "mx.example.com; dmarc=pass header.from=example.com"),)
TICKET = TicketSnapshot(
    ref=TicketRef(7),
    subject="Sistema fora do ar",
    status=TicketStatus.OPEN,
    requester="maria@alfa.edu.br",
    organization_id="alfa",
)
DIRECTORY = Directory(
    queues=(Queue("n1", "Nível 1"), Queue("n2", "Nível 2")),
    agents=(Agent("ana@example.com", "Ana", ("n1",)),),
    organizations=(
        Organization(
            "alfa",
            "Escola Alfa",
            ("alfa.edu.br",),
            (
                Contact("maria@alfa.edu.br", "Maria", can_open_tickets=True),
                Contact("joao@alfa.edu.br", "João", can_open_tickets=False),
            ),
        ),
        Organization("beta", "Beta", (), (Contact("carla@beta.com.br", "Carla", True),)),
    ),
)


@dataclass
class MemoryFacts:
    """A Facts implementation over plain dicts, for steps tested in isolation."""

    directory: Directory = DIRECTORY
    tokens: ReplyTokens = TOKENS
    support_addresses: Sequence[str] = ("suporte@example.com",)
    trusted_authserv_ids: Sequence[str] = ("mx.example.com",)
    max_message_bytes: int = 10_000
    customer_escalation_phrases: Sequence[str] = ("quero escalar", "please escalate")
    received: set[str] = field(default_factory=set)
    tickets: dict[TicketRef, TicketSnapshot] = field(default_factory=lambda: {TICKET.ref: TICKET})
    message_ids: dict[str, TicketRef] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)

    def already_received(self, dedup_key: str) -> bool:
        return dedup_key in self.received

    def ticket(self, ref: TicketRef) -> TicketSnapshot | None:
        return self.tickets.get(ref)

    def ref_for_sent_message_id(self, message_id: str) -> TicketRef | None:
        return self.message_ids.get(message_id)

    def ticket_exists(self, ref: TicketRef) -> bool:
        return ref in self.tickets

    def ref_for_message_ids(self, message_ids: Sequence[str]) -> TicketRef | None:
        return next((self.message_ids[m] for m in message_ids if m in self.message_ids), None)

    rules: RuleSet = field(default_factory=lambda: RuleSet(defaults=Triage(queue="n1")))
    now: datetime = datetime(2026, 11, 23, 10, 0, tzinfo=SP)

    def rejections_recently_sent_to(self, address: str) -> int:
        return self.rejections.get(address, 0)

    def triage(self, subject: TriageInput) -> TriageOutcome:
        return self.rules.evaluate(subject)

    def local_now(self) -> datetime:
        return self.now

    def in_business_hours(self) -> bool:
        return True

    def follow_up_triage(self, ref: TicketRef, new_text: str) -> TriageOutcome | None:
        return None

    def command_terms(self) -> CommandTerms:
        return CommandTerms(BusinessCalendar(zone=SP), self.now)

    # Loops and floods: counts by (counter, key) within any window, and active holds.
    flood_limits: FloodLimits = field(default_factory=FloodLimits)
    counts: dict[tuple[Counter, str], int] = field(default_factory=dict)
    holds: dict[tuple[HoldSource, str], Hold] = field(default_factory=dict)

    def count(self, counter: Counter, key: str, window: timedelta) -> int:
        return self.counts.get((counter, key), 0)

    def active_hold(self, *sources: tuple[HoldSource, str]) -> Hold | None:
        return next((self.holds[s] for s in sources if s in self.holds), None)


def mail(sender: str | None = "maria@alfa.edu.br", **changes: object) -> ParsedMessage:
    base = ParsedMessage(
        raw_sha256="ab" * 32,
        size=500,
        message_id="<new@alfa.edu.br>",
        subject="Sistema fora do ar",
        sender=EmailAddress(sender, "Alguém") if sender else None,
        to=(EmailAddress("suporte@example.com"),),
        text_body="O sistema caiu.",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def decide(msg: ParsedMessage, facts: MemoryFacts | None = None) -> Decision:
    return pipeline.run(msg, facts or MemoryFacts())


def test_the_step_order_is_data_and_each_step_is_named() -> None:
    names = [step.__name__ for step in pipeline.STEPS]
    assert names[0] == "skip_duplicate" and names[-1] == "decide"
    assert names.index("ignore_automated") < names.index("find_thread")
    assert names.index("refuse_forged_sender") < names.index("decide")


def test_authorized_contact_opens_a_ticket_in_the_front_desk_queue() -> None:
    decision = decide(mail())
    assert decision.kind is DecisionKind.CREATE_TICKET
    assert decision.organization_id == "alfa"
    assert decision.triage is not None and decision.triage.queue == "n1"
    assert decision.new_text == "O sistema caiu."


def test_redelivery_is_a_duplicate_by_message_id_or_by_content() -> None:
    facts = MemoryFacts(received={"mid:<new@alfa.edu.br>"})
    assert decide(mail(), facts).kind is DecisionKind.DUPLICATE
    no_id = mail(message_id=None)
    assert pipeline.dedup_key(no_id) == f"sha256:{'ab' * 32}"
    facts = MemoryFacts(received={pipeline.dedup_key(no_id)})
    assert decide(no_id, facts).kind is DecisionKind.DUPLICATE


def test_oversized_and_senderless_mail_is_quarantined() -> None:
    assert decide(mail(size=10_001)).kind is DecisionKind.QUARANTINE
    assert decide(mail(sender=None)).kind is DecisionKind.QUARANTINE


def test_mail_from_our_own_address_is_never_answered() -> None:
    decision = decide(mail(sender="suporte@example.com"))
    assert decision.kind is DecisionKind.IGNORE_AUTOMATED and "loop" in decision.reason


def test_auto_reply_is_ignored_and_bounce_recorded() -> None:
    ooo = mail(headers=(("Auto-Submitted", "auto-replied"),))
    assert decide(ooo).kind is DecisionKind.IGNORE_AUTOMATED
    dsn = mail(sender="mailer-daemon@mx.alfa.edu.br", envelope=Envelope(mail_from=""))
    assert decide(dsn).kind is DecisionKind.RECORD_BOUNCE


def test_failed_authentication_is_quarantined_even_for_a_contact() -> None:
    forged = mail(
        headers=(("Authentication-Results", "mx.example.com; dmarc=fail header.from=alfa.edu.br"),)
    )
    decision = decide(forged)
    # A quarantine carries no mail to send: its type has nothing to address.
    assert isinstance(decision, Quarantine)


@pytest.mark.parametrize(
    ("changes", "source"),
    [
        (
            {
                "envelope": Envelope(
                    rcpt_tos=(TOKENS.reply_address("suporte@example.com", TicketRef(7)),)
                )
            },
            ThreadSource.REPLY_TOKEN,
        ),
        ({"in_reply_to": ("<ack-7@example.com>",)}, ThreadSource.HEADERS),
        ({"references": ("<other@x>", "<ack-7@example.com>")}, ThreadSource.HEADERS),
        ({"subject": "RE: [#TG-00007] Sistema fora do ar"}, ThreadSource.SUBJECT_TAG),
    ],
)
def test_requester_reply_threads_by_each_kind_of_evidence(
    changes: dict[str, object], source: ThreadSource
) -> None:
    facts = MemoryFacts(message_ids={"<ack-7@example.com>": TicketRef(7)})
    assessment = pipeline.Assessment(message=mail(**changes), dedup_key="k")
    found = pipeline.find_thread(assessment, facts)
    assert isinstance(found, pipeline.Assessment)
    assert found.thread is not None and found.thread.source is source
    decision = decide(mail(**changes), facts)
    assert decision.kind is DecisionKind.THREAD_UPDATE and decision.ticket == TicketRef(7)
    assert decision.author_role is AuthorRole.REQUESTER


def test_token_beats_headers_when_they_disagree() -> None:
    facts = MemoryFacts(
        message_ids={"<ack-8@example.com>": TicketRef(8)},
        tickets={TicketRef(7): TICKET, TicketRef(8): replace(TICKET, ref=TicketRef(8))},
    )
    msg = mail(
        envelope=Envelope(rcpt_tos=(TOKENS.reply_address("suporte@example.com", TicketRef(7)),)),
        in_reply_to=("<ack-8@example.com>",),
    )
    assert decide(msg, facts).ticket == TicketRef(7)


def test_forged_token_is_not_evidence() -> None:
    forged = "suporte+tg-00007.aaaaaaaaaaaaaaaa@example.com"
    assessment = pipeline.Assessment(
        message=mail(envelope=Envelope(rcpt_tos=(forged,)), subject="oi"), dedup_key="k"
    )
    found = pipeline.find_thread(assessment, MemoryFacts())
    assert isinstance(found, pipeline.Assessment) and found.thread is None


def test_same_org_contact_without_permission_may_neither_update_nor_open() -> None:
    """Seed 001: a colleague without permission who answers a ticket he was CC'd on is
    rejected like a stranger (before issue 11 he threaded in as a CONTACT)."""
    reply = mail(sender="joao@alfa.edu.br", subject="Re: [#TG-00007] x")
    decision = decide(reply)
    assert isinstance(decision, RejectUnauthorized) and decision.notify_sender
    assert decision.organization_id == "alfa"
    assert decide(mail(sender="joao@alfa.edu.br")).kind is DecisionKind.REJECT_UNAUTHORIZED
    # Not even as a follower recorded under the old default.
    old = MemoryFacts(tickets={TICKET.ref: replace(TICKET, followers=("joao@alfa.edu.br",))})
    assert decide(reply, old).kind is DecisionKind.REJECT_UNAUTHORIZED


def _with(*organizations: Organization) -> MemoryFacts:
    return MemoryFacts(directory=replace(DIRECTORY, organizations=organizations))


def test_explicit_roles_let_a_contact_reply_without_opening() -> None:
    lia = Contact("lia@alfa.edu.br", "Lia", can_reply=True)
    olga = Contact("olga@alfa.edu.br", "Olga", can_open_tickets=True, can_reply=False)
    facts = _with(replace(DIRECTORY.organizations[0], contacts=(lia, olga)))
    reply = mail(sender=lia.email, subject="Re: [#TG-00007] x")
    decision = decide(reply, facts)
    assert isinstance(decision, ThreadUpdate) and decision.author_role is AuthorRole.CONTACT
    assert decide(mail(sender=lia.email), facts).kind is DecisionKind.REJECT_UNAUTHORIZED
    # Olga may open tickets but not write on another's: her mail opens a new one.
    olga_reply = decide(mail(sender=olga.email, subject="Re: [#TG-00007] x"), facts)
    assert isinstance(olga_reply, CreateTicket) and "not a participant" in olga_reply.reason


def test_another_organizations_contact_never_threads_into_a_ticket() -> None:
    decision = decide(mail(sender="carla@beta.com.br", subject="Re: [#TG-00007] x"))
    assert isinstance(decision, CreateTicket) and decision.organization_id == "beta"


def test_anyone_at_an_open_domain_opens_and_answers_its_organizations_tickets() -> None:
    """Seed 004: the organization authorized its whole domain."""
    gama = Organization("gama", "Gama", ("gama.org",), domain_policy=DomainPolicy.OPEN)
    facts = _with(*DIRECTORY.organizations, gama)
    decision = decide(mail(sender="novo@gama.org"), facts)
    assert isinstance(decision, CreateTicket) and decision.organization_id == "gama"
    facts.tickets[TICKET.ref] = replace(TICKET, organization_id="gama")
    reply = decide(mail(sender="outro@gama.org", subject="Re: [#TG-00007] x"), facts)
    assert isinstance(reply, ThreadUpdate) and reply.author_role is AuthorRole.CONTACT
    # A domain listed without `open` authorizes nobody (alfa lists alfa.edu.br).
    assert decide(mail(sender="novo@alfa.edu.br"), facts).kind is DecisionKind.REJECT_UNAUTHORIZED
    assert decide(mail(sender="x@sub.gama.org"), facts).kind is DecisionKind.REJECT_UNAUTHORIZED


def test_the_rejection_carries_the_senders_organizations_note() -> None:
    note = "Fale com a secretaria (ramal 2001) para ser cadastrado."
    facts = _with(replace(DIRECTORY.organizations[0], rejection_note=note))
    for sender in ("joao@alfa.edu.br", "desconhecido@alfa.edu.br"):
        decision = decide(mail(sender=sender, subject="Re: [#TG-00007] x"), facts)
        assert isinstance(decision, RejectUnauthorized)
        assert decision.organization_note == note and decision.organization_id == "alfa"
    stranger = decide(mail(sender="x@gmail.com"), facts)
    assert isinstance(stranger, RejectUnauthorized) and stranger.organization_note == ""


def test_agent_acts_on_a_ticket_only_through_the_signed_agent_address() -> None:
    agent_address = TOKENS.reply_address(
        "suporte@example.com", TicketRef(7), TokenPurpose.AGENT, ANA
    )
    signed = mail(sender=ANA, envelope=Envelope(rcpt_tos=(agent_address,)), headers=AGENT_AUTH)
    decision = decide(signed)
    assert decision.kind is DecisionKind.AGENT_UPDATE and decision.author_role is AuthorRole.AGENT
    # Another agent cannot use Ana's address, and Ana's mail must pass authentication.
    carlos = replace(signed, sender=EmailAddress("carlos@example.com"))
    assert decide(carlos).kind not in (DecisionKind.THREAD_UPDATE, DecisionKind.AGENT_UPDATE)
    assert decide(replace(signed, headers=())).kind is DecisionKind.AGENT_ERROR
    # A From: ana@… with only a subject tag could be anyone: refused, and told to the agent.
    forged = decide(mail(sender="ana@example.com", subject="[#TG-00007] x"))
    assert isinstance(forged, AgentError)  # an AgentError names no ticket


def test_agent_commands_are_read_and_removed_from_the_text() -> None:
    agent_address = TOKENS.reply_address(
        "suporte@example.com", TicketRef(7), TokenPurpose.AGENT, ANA
    )
    msg = mail(
        sender=ANA,
        envelope=Envelope(rcpt_tos=(agent_address,)),
        headers=AGENT_AUTH,
        text_body="#status aguardando_cliente\n#prioridade 1\n\nPode testar?",
    )
    decision = decide(msg)
    assert isinstance(decision, AgentUpdate)
    assert decision.commands.changes.status is TicketStatus.WAITING_CUSTOMER
    assert decision.commands.changes.priority is Priority.HIGH
    assert decision.commands.text == "Pode testar?"


def test_a_bad_due_date_fails_the_whole_mail_and_reaches_no_customer() -> None:
    agent_address = TOKENS.reply_address(
        "suporte@example.com", TicketRef(7), TokenPurpose.AGENT, ANA
    )
    signed = mail(sender=ANA, envelope=Envelope(rcpt_tos=(agent_address,)), headers=AGENT_AUTH)
    good = decide(replace(signed, text_body="#prazo 10/12/2026 17:00\n#desfecho roadmap\n\nOk"))
    assert isinstance(good, AgentUpdate)
    assert good.commands.changes.due_at == datetime(2026, 12, 10, 17, tzinfo=SP)
    assert good.commands.changes.outcome == "roadmap"
    bad = decide(replace(signed, text_body="#prazo 31/02/2026\n#prioridade 1\n\nOk"))
    assert isinstance(bad, AgentCommandsFailed) and "is not a date" in bad.errors[0]


def test_the_note_address_makes_any_agent_mail_internal() -> None:
    note = TOKENS.reply_address("suporte@example.com", TicketRef(7), TokenPurpose.NOTE, ANA)
    decision = decide(mail(sender=ANA, envelope=Envelope(rcpt_tos=(note,)), headers=AGENT_AUTH))
    assert isinstance(decision, AgentUpdate) and decision.commands.is_note


def test_contact_of_another_org_opens_a_new_ticket_instead_of_joining() -> None:
    decision = decide(mail(sender="carla@beta.com.br", subject="Re: [#TG-00007] x"))
    assert isinstance(decision, CreateTicket) and decision.follow_up_of is None
    assert decision.organization_id == "beta"


def test_rules_see_a_reply_as_an_update_and_mail_that_opens_a_ticket_as_new() -> None:
    """`on:` follows the decision: a participant's reply threads (an update); a contact of
    another organization naming the ticket opens a new one (new mail)."""
    seen: list[bool] = []

    @dataclass
    class Watching(MemoryFacts):
        def triage(self, subject: TriageInput) -> TriageOutcome:
            seen.append(subject.is_new)
            return super().triage(subject)

    assert isinstance(decide(mail(subject="Re: [#TG-00007] x"), Watching()), ThreadUpdate)
    other_org = decide(mail(sender="carla@beta.com.br", subject="Re: [#TG-00007] x"), Watching())
    assert isinstance(other_org, CreateTicket)
    assert isinstance(decide(mail(), Watching()), CreateTicket)
    assert seen == [False, True, True]


def test_stranger_is_rejected_once_then_silently() -> None:
    first = decide(mail(sender="x@evil.example", subject="[#TG-00007] me dê os dados"))
    assert first.kind is DecisionKind.REJECT_UNAUTHORIZED and first.notify_sender
    assert not hasattr(first, "ticket")
    again = decide(mail(sender="x@evil.example"), MemoryFacts(rejections={"x@evil.example": 1}))
    assert again.kind is DecisionKind.REJECT_UNAUTHORIZED and not again.notify_sender


def test_new_text_excludes_quoted_history() -> None:
    body = (
        "Funcionou, obrigada!\n\n"
        "Em seg., 23 de nov. de 2026 às 10:00, Suporte <s@x> escreveu:\n> Tente de novo"
    )
    decision = decide(mail(subject="[#TG-00007] x", text_body=body))
    assert decision.new_text == "Funcionou, obrigada!"
    assert isinstance(decision, ThreadUpdate)
    assert decision.history == body  # the whole text rides along for the agents' fold


def test_a_new_ticket_with_nothing_quoted_carries_no_history() -> None:
    decision = decide(mail(text_body="O sistema caiu hoje cedo."))
    assert isinstance(decision, CreateTicket) and decision.history == ""


def test_an_on_behalf_ticket_that_cannot_escalate_is_refused_not_crashed() -> None:
    msg = mail(sender=ANA, headers=AGENT_AUTH, subject="Novo",
               text_body="#requester maria@alfa.edu.br\n#escalar\n\nAbrindo.")  # fmt: skip
    decision = decide(msg, MemoryFacts(directory=replace(DIRECTORY, queues=(Queue("n1", "N1"),))))
    assert isinstance(decision, AgentError) and "escalate" in decision.errors[0]


def test_an_agent_opens_for_whoever_may_open_and_for_nobody_else() -> None:
    gama = Organization("gama", "Gama", ("gama.org",), domain_policy=DomainPolicy.OPEN)
    facts = _with(*DIRECTORY.organizations, gama)

    def on_behalf(requester: str) -> Decision:
        text = f"#requester {requester}\n\nAbrindo."
        return decide(mail(sender=ANA, headers=AGENT_AUTH, subject="Novo", text_body=text), facts)

    opened = on_behalf("Rui@Gama.org")
    assert isinstance(opened, CreateTicket) and opened.organization_id == "gama"
    assert opened.on_behalf is not None and opened.on_behalf.requester == "rui@gama.org"
    refused = on_behalf("joao@alfa.edu.br")
    assert isinstance(refused, AgentError) and "not authorized" in refused.errors[0]
    unknown = on_behalf("x@gmail.com")
    assert isinstance(unknown, AgentError) and "not a contact" in unknown.errors[0]


def test_a_customer_asking_for_escalation_is_a_thread_update_flagged_to_escalate() -> None:
    asks = mail(subject="Re: [#TG-00007] x", text_body="Já faz uma semana. Quero escalar!")
    decision = decide(asks)
    assert isinstance(decision, ThreadUpdate) and decision.escalate
    negated = decide(
        mail(subject="Re: [#TG-00007] x", text_body="Não quero escalar ainda, obrigada.")
    )
    assert isinstance(negated, ThreadUpdate) and not negated.escalate
    # The phrases come from the policy (Facts): none configured, none read.
    quiet = MemoryFacts(customer_escalation_phrases=())
    assert not decide(asks, quiet).escalate  # type: ignore[union-attr]
    # A new ticket has no level to leave: the words only open it.
    assert decide(mail(text_body="Quero escalar")).kind is DecisionKind.CREATE_TICKET
