"""Each effect of a decision on its own, over in-memory fakes of the intake's ports.

The fakes implement the Protocols of gateway/intake/ports.py with plain
lists and dicts (no database, no sockets): what an effect writes is what it
asks of its ports, so that is what these tests read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.domain import (
    SYSTEM_ACTORS,
    Agent,
    AgentAsksForTicket,
    AgentCommandsFailed,
    AgentError,
    AgentNews,
    AgentUpdate,
    AttachmentPart,
    AuthorRole,
    CommandSheet,
    Contact,
    CreateTicket,
    Direction,
    Directory,
    DomainPolicy,
    EmailAddress,
    EventKind,
    HoldLoop,
    IgnoreAutomated,
    MailKind,
    MessageRecord,
    Organization,
    OutgoingMail,
    ParsedMessage,
    Priority,
    Queue,
    RecordBounce,
    RejectUnauthorized,
    RuleMatch,
    ThreadUpdate,
    TicketChanges,
    TicketRecord,
    TicketRef,
    TicketStatus,
    TokenPurpose,
    Triage,
    TriageOutcome,
    Visibility,
    is_agent_actor,
)
from gateway.domain.flood import HoldSource, QuarantineCause, Rate, Trip, Tripped
from gateway.domain.signing import ReplyTokens
from gateway.intake import agent_effects, agent_mail, customer_effects, effects, steps
from gateway.intake.ports import Job, Ports
from gateway.lifecycle.escalation import EscalationOutcome, EscalationResult
from gateway.lifecycle.sla import ReplyEffect
from gateway.lifecycle.step import GATEWAY, SCHEDULER
from gateway.mail.contexts import (
    AgentAnswer,
    AgentNotification,
    CommandErrors,
    LoopAlert,
    Rejection,
)
from gateway.mail.labels import Words, brand
from gateway.mail.letters import Letter
from outbound.compose import Templates
from storage.repository import NewMessage

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SUPPORT = "suporte@example.com"
ANA, BRUNO = "ana@example.com", "bruno@example.com"
MARIA, LUIZA, CARLA = "maria@alfa.edu.br", "luiza@alfa.edu.br", "carla@beta.com.br"
RITA = "rita@alfa.edu.br"  # may follow and reply, not open (explicit roles)
DIRECTORY = Directory(
    queues=(Queue("n1", "Nível 1", escalates_to="n2"), Queue("n2", "Nível 2")),
    agents=(Agent(ANA, "Ana Ribeiro", ("n1",)), Agent(BRUNO, "Bruno", ("n1", "n2"))),
    organizations=(
        Organization(
            "alfa",
            "Escola Alfa",
            (),
            (
                Contact(MARIA, "Maria", True),
                Contact(LUIZA, "Luiza"),  # no permission: neither follows nor replies
                Contact(RITA, "Rita", can_follow=True, can_reply=True),
            ),
        ),
        Organization("beta", "Beta", (), (Contact(CARLA, "Carla", True),)),
    ),
)


@dataclass
class FakeTickets:
    """`TicketLog` over dicts."""

    tickets: dict[TicketRef, TicketRecord] = field(default_factory=dict)
    thread: list[tuple[TicketRef, NewMessage]] = field(default_factory=list)
    events: list[tuple[TicketRef | None, str, str, dict[str, Any]]] = field(default_factory=list)

    def create(self, **kw: Any) -> TicketRef:
        ref = TicketRef(len(self.tickets) + 1)
        triage: Triage = kw["triage"]
        self.tickets[ref] = TicketRecord(
            ref=ref, subject=kw["subject"], status=TicketStatus.NEW, priority=triage.priority,
            category=triage.category, environment=triage.environment, queue=triage.queue,
            requester=kw["requester"], requester_name=kw["requester_name"],
            organization=kw["organization_id"], assignee=kw.get("assignee"),
            tags=triage.tags, followers=tuple(kw.get("followers", ())), created_at=kw["now"],
            updated_at=kw["now"], first_response_due=kw["first_response_due"],
            resolution_due=kw["resolution_due"], next_response_due=None, status_since=kw["now"],
            first_responded_at=None, awaiting_since=None, paused_at=None, paused=timedelta(0),
            linked_from=None, due_at=None, outcome=None,
        )  # fmt: skip
        return ref

    def get(self, ref: TicketRef) -> TicketRecord | None:
        return self.tickets.get(ref)

    def add_message(self, ref: TicketRef, message: NewMessage, now: datetime) -> None:
        self.thread.append((ref, message))

    def change_fields(
        self, ref: TicketRef, changes: dict[str, Any], now: datetime
    ) -> dict[str, tuple[Any, Any]]:
        record, changed = self.tickets[ref], {}
        for name, value in changes.items():
            old = getattr(record, name)
            if name in ("tags", "followers"):
                value = tuple(dict.fromkeys([*old, *value]))
            if value != old:
                changed[name] = (old, value)
                record = replace(record, **{name: value})
        self.tickets[ref] = record
        return changed

    def record_event(
        self, ref: TicketRef | None, event: str, actor: str, now: datetime, **data: Any
    ) -> None:
        self.events.append((ref, str(event), actor, data))

    def fields_set_by_agents(self, ref: TicketRef) -> dict[str, str]:
        return {
            data["field"]: actor
            for r, kind, actor, data in self.events
            if r == ref and kind == EventKind.FIELD_CHANGED and is_agent_actor(actor)
        }

    def public_message_ids(self, ref: TicketRef, limit: int = 20) -> list[str]:
        return [
            m.message_id for r, m in self.thread if r == ref and m.visibility is Visibility.PUBLIC
        ]

    def messages(self, ref: TicketRef) -> list[MessageRecord]:
        return [
            MessageRecord(m.message_id, m.direction, m.visibility, m.sender, m.recipients,
                          m.subject, m.body, (), NOW)
            for r, m in self.thread if r == ref
        ]  # fmt: skip

    def last_customer_message_id(self, ref: TicketRef) -> str | None:
        inbound = [m.message_id for r, m in self.thread if r == ref and m.sender == MARIA]
        return inbound[-1] if inbound else None

    def kinds(self) -> list[str]:
        return [kind for _, kind, _, _ in self.events]


@dataclass
class FakeMail:
    """`MailQueue` that keeps the letters."""

    letters: list[Letter] = field(default_factory=list)

    def queue(self, support_address: str, letter: Letter, now: datetime) -> OutgoingMail:
        self.letters.append(letter)
        recipients = tuple(a for _, a in (*letter.to, *letter.cc))
        return OutgoingMail(
            letter.kind, f"<{len(self.letters)}@x>", support_address, recipients, b""
        )

    def to(self, address: str) -> list[Letter]:
        return [lt for lt in self.letters if any(a == address for _, a in lt.to)]


@dataclass
class FakeHeld:
    """The quarantine and cool-downs (storage/flow.py): a source told once per cool-down."""

    held: list[tuple[QuarantineCause, str]] = field(default_factory=list)
    cooling: set[tuple[HoldSource, str]] = field(default_factory=set)

    def hold(self, job: Job, cause: QuarantineCause, reason: str, ticket: TicketRef | None) -> None:
        self.held.append((cause, reason))

    def cool_down(self, source: HoldSource, key: str, reason: str, now: datetime) -> bool:
        told = (source, key) not in self.cooling
        self.cooling.add((source, key))
        return told


@dataclass
class FakeLifecycle:
    """`LifecycleHooks` that records what it was asked and moves status like the real one."""

    tickets: FakeTickets
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def initial_dues(
        self, now: datetime, triage: Triage, organization: str | None
    ) -> tuple[datetime | None, datetime | None]:
        return now, now

    def on_created(self, ref: TicketRef, linked_from: TicketRef | None, now: datetime) -> None:
        self.calls.append(("on_created", (ref, linked_from)))

    def customer_replied(
        self, ref: TicketRef, text: str, sender: str, now: datetime
    ) -> ReplyEffect:
        self.calls.append(("customer_replied", (ref, text)))
        return ReplyEffect.NONE

    def customer_escalation(
        self, ref: TicketRef, now: datetime, *, actor: str, author: str, channel: str, text: str
    ) -> EscalationOutcome:
        self.calls.append(("customer_escalation", (ref, actor, author, channel, text)))
        return EscalationOutcome(EscalationResult.ESCALATED, "Nível 2")

    def agent_responded(self, ref: TicketRef, now: datetime, actor: str) -> None:
        self.calls.append(("agent_responded", ref))

    def change_status(
        self, ref: TicketRef, new: TicketStatus, now: datetime, *, actor: str, cause: str,
        notify: bool = True,
    ) -> TicketStatus:  # fmt: skip
        old = self.tickets.tickets[ref].status
        self.tickets.tickets[ref] = replace(self.tickets.tickets[ref], status=new)
        self.calls.append(("change_status", (new, notify)))
        return old

    def recompute(self, ref: TicketRef, now: datetime) -> None:
        self.calls.append(("recompute", ref))

    def next_step(self, status: TicketStatus, now: datetime) -> str:
        return f"next: {status.value}"


@dataclass
class World:
    tickets: FakeTickets
    mail: FakeMail
    lifecycle: FakeLifecycle
    ports: Ports

    def job(self, msg: ParsedMessage, ref: TicketRef | None = None) -> Job:
        return Job(msg, DIRECTORY, NOW, self.ports, ref=ref)


def world() -> World:
    tickets, mail = FakeTickets(), FakeMail()
    lifecycle = FakeLifecycle(tickets)
    ports = Ports(
        tickets, mail, lifecycle, ReplyTokens(b"effects-test-secret-0123456789"),
        Words("pt_BR", ZoneInfo("America/Sao_Paulo")), (SUPPORT,), FakeHeld(),
        admins=("admin@example.com",),
    )  # fmt: skip
    return World(tickets, mail, lifecycle, ports)


def mail_from(sender: str, text: str = "O sistema caiu.", **changes: Any) -> ParsedMessage:
    base = ParsedMessage(
        raw_sha256="cd" * 32, size=400, message_id="<m1@alfa.edu.br>", subject="Sistema fora do ar",
        sender=EmailAddress(sender, "Remetente"), to=(EmailAddress(SUPPORT),), text_body=text,
    )  # fmt: skip
    return replace(base, **changes)


def opened(w: World, **triage: Any) -> TicketRef:
    """A ticket as `open_ticket` leaves it, for effects that run on an existing one."""
    decision = CreateTicket("t", "alfa", "O sistema caiu.", TriageOutcome(Triage(**triage)))
    job = w.job(mail_from(MARIA))
    customer_effects.open_ticket(decision, job)
    assert job.ref is not None
    return job.ref


def agent_update(text: str, note: bool = False, **changes: Any) -> AgentUpdate:
    sheet = CommandSheet(TicketChanges(**changes), (), text, is_note=note)
    return AgentUpdate("agent replied", TicketRef(1), sheet)


# --- opening a ticket ------------------------------------------------------------------


def test_a_new_tickets_subject_is_what_it_is_about() -> None:
    """Reply prefixes and our tag go; a follow-up keeps the closed ticket's subject."""
    w = world()
    job = w.job(mail_from(MARIA, subject="RES: Fwd: [#TG-00009] Boletos atrasados"))
    customer_effects.open_ticket(CreateTicket("r", "alfa", "x"), job)
    assert w.tickets.get(job.ref).subject == "Boletos atrasados"  # type: ignore[arg-type, union-attr]
    closed = job.ref
    follow = w.job(mail_from(MARIA, subject=f"Re: [#{closed}] Chamado {closed} fechado"))
    customer_effects.open_ticket(CreateTicket("r", "alfa", "x", follow_up_of=closed), follow)
    assert w.tickets.get(follow.ref).subject == "Boletos atrasados"  # type: ignore[arg-type, union-attr]


def test_open_ticket_takes_the_rules_assignee_and_only_allowed_followers() -> None:
    w = world()
    rules = TriageOutcome(Triage(queue="n1", priority=Priority.HIGH), assignee=ANA,
                          followers=(LUIZA, RITA, CARLA))  # fmt: skip
    job = w.job(mail_from(MARIA, subject=""))
    customer_effects.open_ticket(CreateTicket("r", "alfa", "x", rules), job)
    ticket = w.tickets.get(job.ref)  # type: ignore[arg-type]
    assert ticket is not None and ticket.assignee == ANA and ticket.followers == (RITA,)
    assert ticket.subject == "(sem assunto)" and ticket.priority is Priority.HIGH


def test_a_ticket_opened_on_behalf_belongs_to_the_contact_not_the_agent() -> None:
    w = world()
    sheet = CommandSheet(TicketChanges(priority=Priority.CRITICAL), (), "x", requester=MARIA)
    job = w.job(mail_from(ANA))
    decision = CreateTicket("agent", "alfa", "x", on_behalf=sheet)
    customer_effects.open_ticket(decision, job)
    customer_effects.apply_on_behalf_fields(decision, job)
    ticket = job.ticket()
    assert ticket.requester == MARIA and ticket.requester_name == "Maria"
    assert ticket.priority == Priority.CRITICAL
    assert ("field_changed" in w.tickets.kinds()) and w.tickets.events[-1][2] == ANA


def test_store_inbound_keeps_the_new_text_and_named_attachments_only() -> None:
    w = world()
    ref = opened(w)
    logo = AttachmentPart("", "image/png", b"png", inline=True)
    pdf = AttachmentPart("nota.pdf", "application/pdf", b"%PDF")
    decision = ThreadUpdate("r", ref, AuthorRole.REQUESTER, "alfa", "Segue a nota.")
    customer_effects.store_inbound(decision, w.job(mail_from(MARIA, attachments=(logo, pdf)), ref))
    _, message = w.tickets.thread[-1]
    assert message.body == "Segue a nota." and message.visibility is Visibility.PUBLIC
    assert [a.filename for a in message.attachments] == ["nota.pdf"]


def test_rules_are_audited_only_when_one_matched() -> None:
    w = world()
    ref = opened(w)
    job = w.job(mail_from(MARIA), ref)
    customer_effects.record_rules(CreateTicket("r", "alfa", "x", TriageOutcome(Triage())), job)
    assert EventKind.TRIAGED_BY_RULES not in w.tickets.kinds()
    match = RuleMatch("00.yaml", 3, "Urgente", "v1", ("subject",), ("priority",))
    rules = TriageOutcome(Triage(), matches=(match,), set_by=(("priority", "Urgente"),))
    customer_effects.record_rules(CreateTicket("r", "alfa", "x", rules), job)
    assert w.tickets.events[-1][1:3] == (EventKind.TRIAGED_BY_RULES, "rules")


def test_cc_who_may_follow_become_followers_and_others_are_dropped_and_recorded() -> None:
    """Seed 001: a colleague without permission (Luiza) CC'd by the customer receives
    nothing of the ticket, like another organization's contact (Carla)."""
    w = world()
    ref = opened(w)
    cc = (
        EmailAddress(LUIZA),
        EmailAddress(RITA),
        EmailAddress(CARLA),
        EmailAddress("suporte+x@example.com"),
    )
    job = w.job(mail_from(MARIA, cc=cc), ref)
    customer_effects.follow_cc(ThreadUpdate("r", ref, AuthorRole.REQUESTER, "alfa", "x"), job)
    assert job.ticket().followers == (RITA,)
    dropped = [d for _, k, _, d in w.tickets.events if k == EventKind.RECIPIENTS_DROPPED]
    assert dropped == [{"addresses": [LUIZA, CARLA], "reason": "not allowed on this ticket"}]


def test_anyone_at_an_open_domain_may_follow_its_organizations_tickets() -> None:
    """Seed 004: an organization that opens its domain needs no contact list to follow."""
    gama = Organization("gama", "Gama", ("gama.org",), domain_policy=DomainPolicy.OPEN)
    directory = replace(DIRECTORY, organizations=(*DIRECTORY.organizations, gama))
    allowed, dropped = agent_effects.split_followers(
        directory, "gama", ["Chefe@Gama.org", LUIZA, "x@sub.gama.org"]
    )
    assert allowed == ["chefe@gama.org"] and dropped == [LUIZA, "x@sub.gama.org"]


def test_the_acknowledgement_goes_to_the_requester_with_a_signed_reply_address() -> None:
    w = world()
    job = w.job(mail_from(MARIA))
    decision = CreateTicket("r", "alfa", "x", TriageOutcome(Triage(queue="n1")))
    customer_effects.open_ticket(decision, job)
    customer_effects.acknowledge(decision, job)
    (ack,) = w.mail.letters
    assert ack.template == "acknowledgement" and ack.to == [("Remetente", MARIA)]
    assert ack.reply_to == w.ports.tokens.reply_address(SUPPORT, job.ref)  # type: ignore[arg-type]
    assert ack.public_author == SUPPORT and ack.in_reply_to == "<m1@alfa.edu.br>"


def test_a_rule_template_replaces_the_acknowledgement() -> None:
    w = world()
    job = w.job(mail_from(MARIA))
    decision = CreateTicket("r", "alfa", "x", TriageOutcome(Triage(), reply_with="artigos"))
    customer_effects.open_ticket(decision, job)
    customer_effects.acknowledge(decision, job)
    assert [lt.template for lt in w.mail.letters] == ["artigos"]


# --- telling agents --------------------------------------------------------------------


def test_the_queue_is_notified_one_mail_per_agent_with_addresses_bound_to_each() -> None:
    w = world()
    ref = opened(w, queue="n1")
    job = w.job(mail_from(MARIA), ref)
    customer_effects.notify_agents_of_new(CreateTicket("r", "alfa", "Caiu."), job)
    assert sorted(a for lt in w.mail.letters for _, a in lt.to) == [ANA, BRUNO]
    for letter in w.mail.letters:
        agent = letter.to[0][1]
        assert letter.kind is MailKind.AGENT_NOTIFICATION
        assert letter.reply_to and letter.reply_to.endswith(".agent@example.com")
        assert isinstance(letter.context, AgentNotification)
        assert letter.context.note_address == w.ports.tokens.reply_address(
            SUPPORT, ref, TokenPurpose.NOTE, agent
        )


def test_only_the_assignee_is_notified_and_never_the_author() -> None:
    w = world()
    ref = opened(w, queue="n1")
    w.tickets.change_fields(ref, {"assignee": ANA}, NOW)
    agent_mail.notify_agents(w.job(mail_from(MARIA), ref), AgentNews.UPDATE, "x")
    assert [lt.to[0][1] for lt in w.mail.letters] == [ANA]
    agent_mail.notify_agents(w.job(mail_from(ANA), ref), AgentNews.NOTE, "x")
    assert len(w.mail.letters) == 1 and w.tickets.kinds()[-1] == EventKind.NO_AGENT_TO_NOTIFY


# --- an agent's reply --------------------------------------------------------------------


def test_the_answer_goes_to_requester_and_allowed_followers_from_support() -> None:
    w = world()
    ref = opened(w, queue="n1")
    cc = (EmailAddress(LUIZA), EmailAddress(RITA), EmailAddress(CARLA), EmailAddress(BRUNO))
    job = w.job(mail_from(ANA, cc=cc), ref)
    effects._run(effects.AGENT_UPDATE, agent_update("Pode testar de novo?"), job)
    (answer,) = w.mail.letters
    assert answer.kind is MailKind.AGENT_REPLY and answer.to[0][1] == MARIA
    assert answer.cc == [("", RITA)] and answer.from_name == "Ana Ribeiro (Suporte)"
    assert isinstance(answer.context, AgentAnswer) and answer.context.text == "Pode testar de novo?"
    assert ("agent_responded", ref) in w.lifecycle.calls and job.answered


def test_a_follower_kept_from_before_who_may_not_follow_gets_no_answer() -> None:
    """A follower recorded under the old default (any contact of the organization) is
    checked again on the way out: without the right to follow, no copy."""
    w = world()
    ref = opened(w, queue="n1")
    w.tickets.change_fields(ref, {"followers": [LUIZA, RITA]}, NOW)
    effects._run(effects.AGENT_UPDATE, agent_update("Resolvido."), w.job(mail_from(ANA), ref))
    (answer,) = w.mail.letters
    assert answer.cc == [("", RITA)]


def test_a_note_reaches_other_agents_only_and_is_kept_internal() -> None:
    w = world()
    ref = opened(w, queue="n1")
    job = w.job(mail_from(ANA), ref)
    effects._run(effects.AGENT_UPDATE, agent_update("Cliente VIP.", note=True), job)
    assert [lt.to[0][1] for lt in w.mail.letters] == [BRUNO]
    assert w.tickets.thread[-1][1].visibility is Visibility.INTERNAL
    assert ("agent_responded", ref) not in w.lifecycle.calls


def test_status_goes_through_the_lifecycle_quietly_when_the_answer_already_told() -> None:
    w = world()
    ref = opened(w, queue="n1")
    job = w.job(mail_from(ANA), ref)
    effects._run(effects.AGENT_UPDATE, agent_update("Aguardo.", status=TicketStatus.RESOLVED), job)
    assert ("change_status", (TicketStatus.RESOLVED, False)) in w.lifecycle.calls
    quiet = w.job(mail_from(ANA), ref)
    effects._run(
        effects.AGENT_UPDATE, agent_update("", status=TicketStatus.WAITING_CUSTOMER), quiet
    )
    assert ("change_status", (TicketStatus.WAITING_CUSTOMER, True)) in w.lifecycle.calls


def test_escalation_moves_to_the_next_level_drops_the_assignee_and_tells_it() -> None:
    w = world()
    ref = opened(w, queue="n1")
    w.tickets.change_fields(ref, {"assignee": ANA}, NOW)
    effects._run(effects.AGENT_UPDATE, agent_update("", escalate=True), w.job(mail_from(ANA), ref))
    ticket = w.tickets.tickets[ref]
    assert ticket.queue == "n2" and ticket.assignee is None
    assert EventKind.ESCALATED in w.tickets.kinds()
    assert [lt.to[0][1] for lt in w.mail.letters] == [BRUNO]  # n2's agents, not the author


def test_a_priority_change_recomputes_the_clock() -> None:
    w = world()
    ref = opened(w, queue="n1")
    effects._run(effects.AGENT_UPDATE, agent_update("", priority=Priority.CRITICAL),
                 w.job(mail_from(ANA), ref))  # fmt: skip
    assert ("recompute", ref) in w.lifecycle.calls and not w.mail.letters


def test_an_agreed_date_and_outcome_are_fields_logged_and_rearm_the_clock() -> None:
    w = world()
    ref = opened(w, queue="n1")
    due = datetime(2026, 12, 10, 17, tzinfo=ZoneInfo("America/Sao_Paulo"))
    update = agent_update("Corrigimos até quinta.", due_at=due, outcome="fixed")
    effects._run(effects.AGENT_UPDATE, update, w.job(mail_from(ANA), ref))
    ticket = w.tickets.tickets[ref]
    assert (ticket.due_at, ticket.outcome) == (due, "fixed")
    changed = {d["field"]: d for _, kind, _, d in w.tickets.events if kind == "field_changed"}
    assert changed["due_at"]["new"] == "2026-12-10T17:00:00-03:00"  # the log is JSON
    assert (changed["outcome"]["old"], changed["outcome"]["new"]) == (None, "fixed")
    assert ("recompute", ref) in w.lifecycle.calls  # the date's warning and breach timers
    # The answer that carries the date tells the customer, in the ticket's zone.
    [answer] = w.mail.to(MARIA)
    assert isinstance(answer.context, AgentAnswer)
    assert answer.context.due == "10/12/2026 17:00 (BRT)"


def test_failed_commands_keep_the_text_internal_and_tell_only_the_agent() -> None:
    w = world()
    ref = opened(w)
    failed = AgentCommandsFailed("x", ref, ("#fila n9: no queue 'n9'",), "Resolvido!")
    job = w.job(mail_from(ANA), ref)
    effects._run(effects.AGENT_COMMANDS_FAILED, failed, job)
    assert w.tickets.thread[-1][1].visibility is Visibility.INTERNAL
    (reply,) = w.mail.letters
    assert reply.to[0][1] == ANA and reply.template == "agent_command_errors"
    assert w.tickets.kinds()[-1] == EventKind.AGENT_COMMANDS_FAILED


# --- rules on a customer's update --------------------------------------------------------


def rules_on_update(ref: TicketRef, name: str = "Urgente", **triage: Any) -> ThreadUpdate:
    """A customer's reply that rule `name` matched, setting `triage`'s fields."""
    fields = tuple(sorted(triage))
    match = RuleMatch("00.yaml", 1, name, "v1", ("subject contains 'urgente'",), fields)
    outcome = TriageOutcome(
        Triage(**triage), matches=(match,), set_by=tuple((f, name) for f in fields)
    )
    return ThreadUpdate("r", ref, AuthorRole.REQUESTER, "alfa", "Urgente!", rules=outcome)


def test_a_rule_on_an_update_changes_the_fields_it_names_with_an_event_each() -> None:
    w = world()
    ref = opened(w, queue="n1")
    update = rules_on_update(ref, priority=Priority.CRITICAL, queue="n2")
    customer_effects.apply_rules_to_update(update, w.job(mail_from(MARIA), ref))
    ticket = w.tickets.tickets[ref]
    assert (ticket.priority, ticket.queue) == (Priority.CRITICAL, "n2")
    changed = [(a, d["field"]) for _, k, a, d in w.tickets.events if k == EventKind.FIELD_CHANGED]
    assert changed == [("rule:Urgente", "priority"), ("rule:Urgente", "queue")]


def test_a_field_an_agent_set_is_never_overwritten_by_a_rule_and_the_skip_is_logged() -> None:
    w = world()
    ref = opened(w, queue="n1")
    effects._run(effects.AGENT_UPDATE, agent_update("", priority=Priority.MEDIUM),
                 w.job(mail_from(ANA), ref))  # fmt: skip
    update = rules_on_update(ref, priority=Priority.CRITICAL, queue="n2", tags=("urgente",))
    customer_effects.apply_rules_to_update(update, w.job(mail_from(MARIA), ref))
    ticket = w.tickets.tickets[ref]
    assert ticket.priority is Priority.MEDIUM  # the agent's decision stands
    assert ticket.queue == "n2" and ticket.tags == ("urgente",)  # what no agent set still moves
    [skip] = [(a, d) for _, k, a, d in w.tickets.events if k == EventKind.RULE_SKIPPED]
    assert skip == (
        "rule:Urgente",
        {"field": "priority", "rule": "Urgente", "wanted": 0, "kept": 2, "set_by": ANA},
    )
    by_rules = [d["field"] for _, k, a, d in w.tickets.events
                if k == EventKind.FIELD_CHANGED and a.startswith("rule:")]  # fmt: skip
    assert by_rules == ["queue", "tags"]


def test_an_escalation_protects_the_queue_and_the_assignee_the_agent_chose() -> None:
    w = world()
    ref = opened(w, queue="n1")
    effects._run(effects.AGENT_UPDATE, agent_update("", escalate=True), w.job(mail_from(ANA), ref))
    update = rules_on_update(ref, queue="n1")
    customer_effects.apply_rules_to_update(update, w.job(mail_from(MARIA), ref))
    assert w.tickets.tickets[ref].queue == "n2"
    assert w.tickets.kinds()[-1] == EventKind.RULE_SKIPPED


def test_what_a_rule_or_the_gateway_set_does_not_bind_the_next_rule() -> None:
    w = world()
    ref = opened(w, queue="n1")
    first = rules_on_update(ref, "Primeira", priority=Priority.HIGH)
    customer_effects.apply_rules_to_update(first, w.job(mail_from(MARIA), ref))
    for actor in SYSTEM_ACTORS:
        w.tickets.record_event(ref, EventKind.FIELD_CHANGED, actor, NOW, field="queue")
    second = rules_on_update(ref, "Segunda", priority=Priority.CRITICAL, queue="n2")
    customer_effects.apply_rules_to_update(second, w.job(mail_from(MARIA), ref))
    ticket = w.tickets.tickets[ref]
    assert (ticket.priority, ticket.queue) == (Priority.CRITICAL, "n2")
    assert EventKind.RULE_SKIPPED not in w.tickets.kinds()


def test_every_actor_the_gateway_writes_events_as_is_known_not_to_be_an_agent() -> None:
    for actor in (agent_mail.NOBODY, customer_effects.RULES, GATEWAY, SCHEDULER, "rule:x"):
        assert not is_agent_actor(actor), actor
    assert is_agent_actor(ANA)


# --- the rest ----------------------------------------------------------------------------


def test_rejection_only_when_the_decision_says_to_notify() -> None:
    w = world()
    customer_effects.send_rejection(RejectUnauthorized("x"), w.job(mail_from(CARLA)))
    assert w.mail.letters == []
    customer_effects.send_rejection(
        RejectUnauthorized("x", notify_sender=True), w.job(mail_from(CARLA))
    )
    (rejection,) = w.mail.letters
    assert rejection.kind is MailKind.REJECTION and rejection.ticket is None


def test_the_rejection_carries_the_organizations_own_note_and_no_ticket() -> None:
    w = world()
    note = "Peça acesso à secretaria: ramal 2001."
    decision = RejectUnauthorized("x", "alfa", notify_sender=True, organization_note=note)
    customer_effects.send_rejection(decision, w.job(mail_from(LUIZA)))
    (rejection,) = w.mail.letters
    assert rejection.context == Rejection(SUPPORT, note) and rejection.ticket is None


def test_a_bounce_is_recorded_on_its_ticket_only() -> None:
    w = world()
    ref = opened(w)
    job = w.job(mail_from("mailer-daemon@alfa.edu.br"))
    assert effects.carry_out(RecordBounce("dsn"), job) is None and w.tickets.events == []
    assert effects.carry_out(RecordBounce("dsn", ref), job) == ref
    assert w.tickets.kinds() == [EventKind.MAIL_BOUNCED]


def test_an_ignored_or_unsigned_mail_touches_no_ticket() -> None:
    w = world()
    assert effects.carry_out(IgnoreAutomated("ooo"), w.job(mail_from(MARIA))) is None
    assert effects.carry_out(AgentError("x", ("sign",)), w.job(mail_from(ANA))) is None
    assert w.tickets.events == [] and [lt.template for lt in w.mail.letters] == [
        "agent_command_errors"
    ]


def test_every_decision_kind_has_its_effects_listed_in_order() -> None:
    names = [e.__name__ for e in effects.CREATE_TICKET]
    assert names[0] == "open_ticket" and names[-1] == "notify_agents_of_new"
    assert names.index("start_clock") < names.index("acknowledge")
    update = [e.__name__ for e in effects.THREAD_UPDATE]
    assert update.index("store_inbound") < update.index("notify_agents_of_update")
    # The level the ticket leaves hears the request before the lifecycle moves it up.
    assert update.index("notify_agents_of_update") < update.index("escalate_on_request")


# --- a customer's request for escalation ---------------------------------------------------


def test_a_customer_update_asking_for_escalation_is_stored_told_and_handed_to_the_lifecycle(
) -> None:  # fmt: skip
    w = world()
    ref = opened(w, queue="n1")
    w.tickets.change_fields(ref, {"assignee": ANA}, NOW)
    text = "Sem resposta há dias. Quero escalar."
    decision = ThreadUpdate("r", ref, AuthorRole.REQUESTER, "alfa", text, escalate=True)
    effects._run(effects.THREAD_UPDATE, decision, w.job(mail_from(MARIA, text_body=text), ref))
    assert w.tickets.thread[-1][1].body == text  # threads as any update
    assert [lt.to[0][1] for lt in w.mail.letters] == [ANA]  # the level it leaves is told
    assert ("customer_escalation", (ref, MARIA, "Remetente", "mail", text)) in w.lifecycle.calls
    calls = [name for name, _ in w.lifecycle.calls]
    assert calls.index("customer_replied") < calls.index("customer_escalation")


def test_an_update_without_the_request_escalates_nothing() -> None:
    w = world()
    ref = opened(w, queue="n1")
    decision = ThreadUpdate("r", ref, AuthorRole.REQUESTER, "alfa", "Segue o print.")
    effects._run(effects.THREAD_UPDATE, decision, w.job(mail_from(MARIA), ref))
    assert "customer_escalation" not in [name for name, _ in w.lifecycle.calls]


# --- hand-offs and fresh copies (issue 10) ----------------------------------------------


def news_to(w: World) -> list[tuple[str, AgentNews]]:
    return [
        (lt.to[0][1], lt.context.event)
        for lt in w.mail.letters
        if isinstance(lt.context, AgentNotification)
    ]


def test_a_queue_change_hands_the_whole_ticket_to_the_new_queue_and_drops_the_assignee() -> None:
    w = world()
    ref = opened(w, queue="n1")
    w.tickets.change_fields(ref, {"assignee": ANA}, NOW)
    w.tickets.add_message(ref, NewMessage("<m0@x>", Direction.INBOUND, Visibility.PUBLIC, MARIA,
                                          (SUPPORT,), "s", "O sistema caiu."), NOW)  # fmt: skip
    job = w.job(mail_from(BRUNO), ref)
    effects._run(effects.AGENT_UPDATE, agent_update("", queue="n2"), job)
    assert w.tickets.tickets[ref].queue == "n2" and w.tickets.tickets[ref].assignee is None
    # Bruno moved it (and is in n2 himself): Ana, the dropped assignee, is told.
    assert news_to(w) == [(ANA, AgentNews.UNASSIGNED)]
    (letter,) = w.mail.letters
    assert isinstance(letter.context, AgentNotification)
    assert letter.context.conversation == []  # they had it; the news is that it left them
    assert EventKind.HANDED_OFF in w.tickets.kinds()


def test_the_new_queue_hears_of_a_hand_off_and_a_kept_assignee_stays() -> None:
    w = world()
    ref = opened(w, queue="n1")
    w.tickets.change_fields(ref, {"assignee": ANA}, NOW)
    w.tickets.add_message(ref, NewMessage("<m0@x>", Direction.INBOUND, Visibility.PUBLIC, MARIA,
                                          (SUPPORT,), "s", "O sistema caiu."), NOW)  # fmt: skip
    effects._run(effects.AGENT_UPDATE, agent_update("", queue="n2", keep_assignee=True),
                 w.job(mail_from(ANA), ref))  # fmt: skip
    assert w.tickets.tickets[ref].assignee == ANA
    assert news_to(w) == [(BRUNO, AgentNews.HANDED_OFF)]
    (letter,) = w.mail.letters
    assert isinstance(letter.context, AgentNotification)
    assert [line.text for line in letter.context.conversation] == ["O sistema caiu."]


def test_a_new_assignee_is_told_with_the_whole_ticket() -> None:
    w = world()
    ref = opened(w, queue="n1")
    effects._run(effects.AGENT_UPDATE, agent_update("", assignee=BRUNO),
                 w.job(mail_from(ANA), ref))  # fmt: skip
    assert news_to(w) == [(BRUNO, AgentNews.ASSIGNED)]


def test_every_agent_mail_names_both_signed_addresses_and_where_replies_go() -> None:
    w = world()
    ref = opened(w, queue="n1")
    agent_mail.notify_agents(w.job(mail_from(ANA), ref), AgentNews.NOTE, "Cliente VIP.")
    (note,) = w.mail.letters
    assert isinstance(note.context, AgentNotification) and note.context.replies_are_notes
    tokens = w.ports.tokens
    assert note.reply_to == tokens.reply_address(SUPPORT, ref, TokenPurpose.NOTE, BRUNO)
    assert note.context.answer_address == tokens.reply_address(
        SUPPORT, ref, TokenPurpose.AGENT, BRUNO
    )


def test_take_sends_the_ticket_afresh_to_the_agent_who_asked() -> None:
    w = world()
    ref = opened(w, queue="n1")
    effects._run(effects.AGENT_UPDATE, agent_update("", take=True), w.job(mail_from(ANA), ref))
    assert news_to(w) == [(ANA, AgentNews.REQUESTED)]


def test_an_unsigned_agent_mail_gets_a_fresh_notification_and_errors_only_if_it_said_something(
) -> None:  # fmt: skip
    w = world()
    ref = opened(w, queue="n1")
    effects.carry_out(AgentAsksForTicket("x", ref), w.job(mail_from(ANA), ref))
    assert [lt.template for lt in w.mail.letters] == ["agent_notification"]
    effects.carry_out(AgentAsksForTicket("x", ref, ("unsigned",)), w.job(mail_from(ANA), ref))
    assert [lt.template for lt in w.mail.letters][1:] == [
        "agent_command_errors", "agent_notification"
    ]  # fmt: skip
    assert w.tickets.kinds().count(EventKind.AGENT_ASKED_FOR_TICKET) == 2


def test_an_answer_that_changes_the_status_tells_the_customer_what_happens_next() -> None:
    w = world()
    ref = opened(w, queue="n1")
    effects._run(effects.AGENT_UPDATE, agent_update("Corrigido.", status=TicketStatus.RESOLVED),
                 w.job(mail_from(ANA), ref))  # fmt: skip
    (answer,) = w.mail.letters
    assert isinstance(answer.context, AgentAnswer)
    assert answer.context.status_line == "next: resolved"
    effects._run(effects.AGENT_UPDATE, agent_update("Mais uma coisa."), w.job(mail_from(ANA), ref))
    assert isinstance(w.mail.letters[-1].context, AgentAnswer)
    assert w.mail.letters[-1].context.status_line == ""


def test_the_gateways_own_causes_are_not_told_to_the_customer() -> None:
    words = Words("pt_BR", ZoneInfo("America/Sao_Paulo"))
    assert words.cause("agent command") == "" and words.cause("first agent answer") == ""
    assert words.cause("customer replied") == "recebemos a sua resposta"


def test_a_failed_command_reply_gives_the_agent_both_signed_addresses() -> None:
    w = world()
    ref = opened(w)
    failed = AgentCommandsFailed("x", ref, ("#fila n9: no queue 'n9'",), "Resolvido!")
    effects._run(effects.AGENT_COMMANDS_FAILED, failed, w.job(mail_from(ANA), ref))
    (reply,) = w.mail.letters
    assert isinstance(reply.context, CommandErrors) and reply.context.kept_as_note
    tokens = w.ports.tokens
    assert reply.context.answer_address == tokens.reply_address(
        SUPPORT, ref, TokenPurpose.AGENT, ANA
    )
    assert reply.context.note_address.endswith(".note@example.com")


def test_agents_see_the_customers_quoted_history_collapsed_below_the_new_text() -> None:
    w = world()
    ref = opened(w, queue="n1")
    body = (
        "Continua fora do ar.\n\n"
        "Em seg., 23 de nov. de 2026 às 10:15, Suporte <suporte@example.com> escreveu:\n"
        "> Reiniciamos o servidor.\n"
    )
    msg = mail_from(MARIA, body)
    reply = steps.message_reply(msg)  # what the pipeline's extract_new_text carries
    decision = ThreadUpdate(
        "r", ref, AuthorRole.REQUESTER, "alfa", reply.new, history=reply.history
    )
    customer_effects.notify_agents_of_update(decision, w.job(msg, ref))
    context = w.mail.letters[0].context
    assert isinstance(context, AgentNotification)
    assert context.text == "Continua fora do ar."
    assert context.history == body.rstrip("\n")  # the whole text: nothing of it is lost
    templates = Templates(brand=brand("", ""))
    for locale, summary in (("pt_BR", "histórico citado"), ("en", "quoted history")):
        rendered = templates.render("agent_notification", locale, context.as_mapping())
        details = rendered.html.split("<details", 1)[1].split("</details>", 1)[0]
        assert summary in details and "&gt; Reiniciamos o servidor." in details
        assert rendered.text.index("Continua fora do ar.") < rendered.text.index("> Reiniciamos")


def test_a_mail_with_nothing_quoted_carries_no_history_to_agents() -> None:
    w = world()
    ref = opened(w, queue="n1")
    decision = ThreadUpdate("r", ref, AuthorRole.REQUESTER, "alfa", "O sistema caiu.")
    customer_effects.notify_agents_of_update(decision, w.job(mail_from(MARIA), ref))
    context = w.mail.letters[0].context
    assert isinstance(context, AgentNotification) and context.history == ""
    rendered = Templates(brand=brand("", "")).render(
        "agent_notification", "pt_BR", context.as_mapping()
    )
    assert "<details" not in rendered.html and "histórico citado" not in rendered.text


def test_a_held_loop_is_kept_cools_its_source_and_tells_the_admins_once() -> None:
    w = world()
    reason = "mail from robo@alfa.edu.br over sender_mails (10 per 5m)"
    tripped = Tripped(Trip.SENDER_MAILS, Rate(10, timedelta(minutes=5)))
    loop = HoldLoop(reason, HoldSource.SENDER, "robo@alfa.edu.br", tripped)
    for _ in range(2):  # the robot's next mail trips the same cool-down
        effects.carry_out(loop, w.job(mail_from("robo@alfa.edu.br")))
    held = w.ports.held
    assert isinstance(held, FakeHeld)
    assert held.held == [(QuarantineCause.LOOP, reason)] * 2  # the receipt keeps English
    alerts = [letter for letter in w.mail.letters if letter.kind is MailKind.ADMIN_ALERT]
    assert len(alerts) == 1 and alerts[0].to == [("", "admin@example.com")]
    assert not [letter for letter in w.mail.letters if "robo@alfa.edu.br" in str(letter.to)]
    context = alerts[0].context
    assert isinstance(context, LoopAlert)
    assert (context.limit, context.count, context.window) == ("sender_mails", 10, "5 minutos")
