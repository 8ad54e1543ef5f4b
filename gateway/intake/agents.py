"""The agent workspace by mail (issue 3): what happens inside a message's
transaction when a ticket concerns agents.

Agents are notified of new tickets and customer updates (the assignee only,
once there is one), with the facts of the ticket and a signed reply address.
An agent's reply is carried out here: its `#` commands change the ticket,
its text is relayed to the requester and followers from the support address
(never from the agent's own mailbox), or kept internal as a note that only
other agents receive. Recipients that may not see the ticket are dropped and
the drop is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.domain import (
    AttachmentPart,
    Decision,
    Direction,
    Directory,
    MailKind,
    ParsedMessage,
    TicketChanges,
    TicketRecord,
    TicketRef,
    TicketStatus,
    TokenPurpose,
    Visibility,
)
from gateway.domain.commands import REPLY_ABOVE
from gateway.domain.signing import ReplyTokens
from gateway.mail.letters import SUPPORT_NAMES, Letter, Mailer
from inbound.addressing import parse_support_recipient
from storage.repository import NewMessage, TicketRepository


@dataclass(frozen=True)
class AgentEvent:
    """Why agents are being told about a ticket."""

    kind: str  # "new", "update", "note" or "escalated"
    author: str
    author_name: str
    text: str
    attachments: Sequence[AttachmentPart] = ()


class AgentDesk:
    def __init__(self, mailer: Mailer, tokens: ReplyTokens) -> None:
        self.mailer = mailer
        self.tokens = tokens

    # --- telling agents ------------------------------------------------------------

    def notify_agents(
        self,
        session: Session,
        directory: Directory,
        ref: TicketRef,
        event: AgentEvent,
        support: str,
    ) -> None:
        """Mail the assignee, or the queue's agents, about a ticket; never the author."""
        tickets = TicketRepository(session)
        ticket = tickets.get(ref)
        assert ticket is not None
        if ticket.assignee:
            recipients = [ticket.assignee]
        else:
            recipients = [a.email for a in directory.agents if ticket.queue in a.queues]
        recipients = [r for r in dict.fromkeys(recipients) if r.lower() != event.author.lower()]
        if not recipients:
            tickets.record_event(
                ref, "no_agent_to_notify", "ticketgate", self.mailer.clock.now(), queue=ticket.queue
            )
            return
        # One mail per agent: each carries reply and note addresses bound to that agent.
        for recipient in recipients:
            purpose = TokenPurpose.NOTE if event.kind == "note" else TokenPurpose.AGENT
            self.mailer.queue(
                session,
                support,
                Letter(
                    kind=MailKind.AGENT_NOTIFICATION,
                    template="agent_notification",
                    context=self._facts(directory, ticket, event, support, recipient),
                    to=[(_agent_name(directory, recipient), recipient)],
                    ticket=ref,
                    # Replying to a note stays a note (RT's comment address).
                    reply_to=self.tokens.reply_address(support, ref, purpose, recipient),
                    # One stable root per ticket, so every agent's client threads them together.
                    in_reply_to=_agent_thread_root(ref, support),
                    automatic="auto-generated",
                    attachments=event.attachments,
                ),
            )

    def _facts(
        self,
        directory: Directory,
        ticket: TicketRecord,
        event: AgentEvent,
        support: str,
        agent: str,
    ) -> dict[str, object]:
        org = directory.organization(ticket.organization)
        m = self.mailer
        return {
            "event": event.kind,
            "author": event.author_name or event.author,
            "text": event.text,
            "marker": REPLY_ABOVE[0] if m.locale == "pt_BR" else REPLY_ABOVE[1],
            "note_address": self.tokens.reply_address(
                support, ticket.ref, TokenPurpose.NOTE, agent
            ),
            "ticket": {
                "ref": str(ticket.ref),
                "subject": ticket.subject,
                "requester": ticket.requester,
                "requester_name": ticket.requester_name,
                "organization": org.name if org else (ticket.organization or "—"),
                "priority": int(ticket.priority),
                "priority_label": m.priority_label(int(ticket.priority)),
                "category": m.category_label(ticket.category),
                "environment": ticket.environment,
                "queue": ticket.queue or "—",
                "assignee": ticket.assignee or "—",
                "status": ticket.status.value,
                "first_response_due": m.local_time(ticket.first_response_due),
                "resolution_due": m.local_time(ticket.resolution_due),
            },
        }

    # --- customers' CC ---------------------------------------------------------------

    def follow_cc(
        self,
        session: Session,
        directory: Directory,
        ref: TicketRef,
        msg: ParsedMessage,
        support_addresses: Sequence[str],
    ) -> None:
        """Contacts of the ticket's organization CC'd by a customer become followers."""
        tickets = TicketRepository(session)
        ticket = tickets.get(ref)
        assert ticket is not None and msg.sender is not None
        others = [
            a.address
            for a in (*msg.to, *msg.cc)
            if a.address != msg.sender.address
            and a.address != ticket.requester
            and not _is_support(a.address, support_addresses)
        ]
        allowed, dropped = _split_allowed(directory, ticket, others)
        now = self.mailer.clock.now()
        new = [a for a in allowed if a not in ticket.followers]
        if new:
            tickets.change_fields(ref, {"followers": new}, now)
            tickets.record_event(ref, "followers_added", msg.sender.address, now, added=new)
        if dropped:
            tickets.record_event(
                ref,
                "recipients_dropped",
                msg.sender.address,
                now,
                addresses=dropped,
                reason="not allowed on this ticket",
            )

    # --- agents' replies -------------------------------------------------------------

    def agent_reply(
        self,
        session: Session,
        directory: Directory,
        msg: ParsedMessage,
        decision: Decision,
        support: str,
        support_addresses: Sequence[str],
    ) -> None:
        """Carry out an agent's mail on a ticket: commands, then a public answer or a note."""
        assert decision.ticket is not None and decision.commands is not None
        assert msg.sender is not None
        ref, sheet, agent = decision.ticket, decision.commands, msg.sender.address
        tickets = TicketRepository(session)
        now = self.mailer.clock.now()
        ticket = tickets.get(ref)
        assert ticket is not None
        errors = list(sheet.errors) + _escalation_errors(directory, ticket, sheet.changes)
        if errors:
            self._keep_as_note(tickets, ref, msg, decision.new_text or "", now)
            self.command_errors(session, msg, errors, ref, support)
            return
        self.apply_changes(tickets, directory, ticket, sheet.changes, agent, now)
        text = sheet.text
        if sheet.changes.escalate:
            # The next level hears of it with the agent's words (sent to the customer or not).
            escalated = AgentEvent("escalated", agent, _agent_name(directory, agent), text)
            self.notify_agents(session, directory, ref, escalated, support)
        if sheet.is_note:
            if text:
                self._keep_as_note(tickets, ref, msg, text, now)
                self.notify_agents(
                    session,
                    directory,
                    ref,
                    AgentEvent("note", agent, _agent_name(directory, agent), text, msg.attachments),
                    support,
                )
            return
        if not text:
            return  # commands only: nothing for the customer
        self._relay_to_customer(
            session, directory, tickets, ref, msg, text, support, support_addresses, now
        )

    def apply_changes(
        self,
        tickets: TicketRepository,
        directory: Directory,
        ticket: TicketRecord,
        changes: TicketChanges,
        actor: str,
        now: datetime,
    ) -> None:
        ref = ticket.ref
        wanted: dict[str, object] = {}
        for name in ("priority", "queue", "category", "environment"):
            value = getattr(changes, name)
            if value is not None:
                wanted[name] = value
        if changes.assignee:
            wanted["assignee"] = changes.assignee
        if changes.tags:
            wanted["tags"] = list(changes.tags)
        if changes.escalate:
            current = directory.queue(str(wanted.get("queue") or ticket.queue))
            assert current is not None and current.escalates_to
            wanted["queue"] = current.escalates_to
            wanted["assignee"] = None
        for name, (old, new) in tickets.change_fields(ref, wanted, now).items():
            tickets.record_event(ref, "field_changed", actor, now, field=name, old=old, new=new)
        if changes.escalate:
            tickets.record_event(ref, "escalated", actor, now, queue=wanted["queue"])
        if changes.status is not None and changes.status is not ticket.status:
            old = tickets.set_status(ref, changes.status, now)
            tickets.record_event(
                ref,
                "status_changed",
                actor,
                now,
                old=old.value,
                new=changes.status.value,
                cause="agent command",
            )

    def _keep_as_note(
        self,
        tickets: TicketRepository,
        ref: TicketRef,
        msg: ParsedMessage,
        text: str,
        now: datetime,
    ) -> None:
        assert msg.sender is not None
        tickets.add_message(
            ref,
            NewMessage(
                message_id=msg.stored_id,
                direction=Direction.INBOUND,
                visibility=Visibility.INTERNAL,
                sender=msg.sender.address,
                recipients=tuple(a.address for a in (*msg.to, *msg.cc)),
                subject=msg.subject,
                body=text,
                raw_sha256=msg.raw_sha256,
                attachments=tuple(p for p in msg.attachments if p.filename),
            ),
            now,
        )

    def _relay_to_customer(
        self,
        session: Session,
        directory: Directory,
        tickets: TicketRepository,
        ref: TicketRef,
        msg: ParsedMessage,
        text: str,
        support: str,
        support_addresses: Sequence[str],
        now: datetime,
    ) -> None:
        """The agent's answer goes out from the support address, signed with the agent's name."""
        assert msg.sender is not None
        agent = msg.sender.address
        ticket = tickets.get(ref)
        assert ticket is not None
        extra = [
            a.address
            for a in (*msg.to, *msg.cc)
            if not _is_support(a.address, support_addresses)
            and directory.agent(a.address) is None
            and a.address not in (ticket.requester, *ticket.followers)
        ]
        allowed, dropped = _split_allowed(directory, ticket, extra)
        if allowed:
            tickets.change_fields(ref, {"followers": allowed}, now)
            tickets.record_event(ref, "followers_added", agent, now, added=allowed)
        if dropped:
            tickets.record_event(
                ref,
                "recipients_dropped",
                agent,
                now,
                addresses=dropped,
                reason="not allowed on this ticket",
            )
        # Checked again on the way out: whatever put a follower there, a customer's
        # copy never goes to another organization or to an agent's own mailbox.
        followers, _ = _split_allowed(directory, ticket, [*ticket.followers, *allowed])
        followers = [f for f in followers if f != ticket.requester]
        agent_name = _agent_name(directory, agent)
        self.mailer.queue(
            session,
            support,
            Letter(
                kind=MailKind.AGENT_REPLY,
                template="agent_reply",
                context={
                    "text": text,
                    "agent_name": agent_name,
                    "ticket": {"ref": str(ref), "subject": ticket.subject},
                },
                to=[(ticket.requester_name, ticket.requester)],
                cc=[("", f) for f in dict.fromkeys(followers)],
                ticket=ref,
                reply_to=self.tokens.reply_address(support, ref),
                in_reply_to=tickets.last_customer_message_id(ref),
                references=tickets.public_message_ids(ref),
                automatic=None,
                from_name=f"{agent_name} ({SUPPORT_NAMES[self.mailer.locale]})",
                attachments=[p for p in msg.attachments if p.filename and not p.inline],
                public_author=agent,
            ),
        )
        if tickets.mark_first_response(ref, now):
            tickets.record_event(ref, "first_response", agent, now)
        if ticket.status is TicketStatus.NEW:
            tickets.set_status(ref, TicketStatus.OPEN, now)
            tickets.record_event(
                ref, "status_changed", agent, now, old="new", new="open", cause="first agent answer"
            )

    def command_errors(
        self,
        session: Session,
        msg: ParsedMessage,
        errors: Sequence[str],
        ref: TicketRef | None,
        support: str,
    ) -> None:
        """A short reply to the agent only: what failed, and that nothing reached the customer."""
        assert msg.sender is not None
        if ref is not None:
            TicketRepository(session).record_event(
                ref,
                "agent_commands_failed",
                msg.sender.address,
                self.mailer.clock.now(),
                errors=list(errors),
            )
        self.mailer.queue(
            session,
            support,
            Letter(
                kind=MailKind.AGENT_NOTIFICATION,
                template="agent_command_errors",
                context={"errors": list(errors), "ref": str(ref) if ref else ""},
                to=[(msg.sender.name, msg.sender.address)],
                ticket=ref,
                in_reply_to=msg.message_id,
                references=msg.references,
                automatic="auto-replied",
            ),
        )


def _escalation_errors(
    directory: Directory, ticket: TicketRecord, changes: TicketChanges
) -> list[str]:
    if not changes.escalate:
        return []
    queue_id = changes.queue or ticket.queue
    queue = directory.queue(queue_id or "")
    if queue is None or not queue.escalates_to:
        return [f"#escalate: queue '{queue_id}' has no next level (escalates_to in directory.yaml)"]
    return []


def _split_allowed(
    directory: Directory, ticket: TicketRecord, addresses: Sequence[str]
) -> tuple[list[str], list[str]]:
    return split_followers(directory, ticket.organization, addresses)


def split_followers(
    directory: Directory, organization: str | None, addresses: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Contacts of the ticket's organization may follow it; nobody else sees its content."""
    allowed, dropped = [], []
    for address in dict.fromkeys(a.lower() for a in addresses):
        found = directory.contact(address)
        if found and organization and found[0].id == organization:
            allowed.append(address)
        else:
            dropped.append(address)
    return allowed, dropped


def _is_support(address: str, support_addresses: Sequence[str]) -> bool:
    return parse_support_recipient(address, support_addresses) is not None


def _agent_name(directory: Directory, email: str) -> str:
    agent = directory.agent(email)
    return agent.name if agent else email


def _agent_thread_root(ref: TicketRef, support: str) -> str:
    return f"<{str(ref).lower()}.agents@{support.rpartition('@')[2]}>"
