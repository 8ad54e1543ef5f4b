"""Agent commands: `#lines` at the top of an agent's mail that change the ticket.

Agents work from their mail client, so the first lines of a reply may be
commands (`#status waiting_customer`, `#assign me`, `#note` …). This pure
module reads them off the new text, checks each against the directory and
the `CommandTerms` of the moment (calendar, instant, outcomes), and returns
what to change plus the text left for the customer. A mistake is never
ignored: it comes back as an error line for the agent. English and Brazilian
Portuguese words are both accepted (see README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from gateway.domain.calendar import BusinessCalendar
from gateway.domain.decision import CommandSheet
from gateway.domain.directory import Directory, Permission
from gateway.domain.faults import Fault
from gateway.domain.policy import DEFAULT_OUTCOMES, ResolutionOutcome
from gateway.domain.tickets import CATEGORIES, Priority, TicketChanges, TicketStatus

# Lines from one of these markers down are the quoted notification, whatever the client.
REPLY_ABOVE = ("##- Responda acima desta linha -##", "##- Reply above this line -##")

COMMAND_WORDS = {
    "status": "status", "estado": "status", "situacao": "status", "situação": "status",
    "priority": "priority", "prioridade": "priority",
    "queue": "queue", "fila": "queue",
    "category": "category", "categoria": "category",
    "environment": "environment", "ambiente": "environment",
    "assign": "assign", "atribuir": "assign",
    "tag": "tag", "etiqueta": "tag",
    "escalate": "escalate", "escalar": "escalate",
    "note": "note", "nota": "note", "interno": "note",
    "requester": "requester", "solicitante": "requester",
    "due": "due", "prazo": "due",
    "outcome": "outcome", "desfecho": "outcome",
    "take": "take", "assumir": "take",
}  # fmt: skip
STATUS_WORDS = {
    **{s.value: s for s in TicketStatus},
    "aberto": TicketStatus.OPEN,
    "aguardando_cliente": TicketStatus.WAITING_CUSTOMER,
    "aguardando_terceiro": TicketStatus.WAITING_THIRD_PARTY,
    "resolvido": TicketStatus.RESOLVED,
    "fechado": TicketStatus.CLOSED,
}
ENVIRONMENT_WORDS = {
    "production": "production",
    "producao": "production",
    "produção": "production",
    "staging": "staging",
    "homologacao": "staging",
    "homologação": "staging",
}
KEEP_WORDS = ("keep", "manter")  # `#queue n2 keep`: the assignee stays
# `#due`: 10/12/2026, 10/12/2026 17:00 (or 17h, 17h30); 2026-12-10, 2026-12-10T17:00[-03:00].
_DAY_MONTH_YEAR = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})"  # dd/mm/aaaa
    r"(?:\s+(\d{1,2})(?::(\d{2})|h(\d{2})?))?",  # then 17:00, 17h or 17h30
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"  # 2026-12-10T17:00[:00]
    r"(?:Z|[+-]\d{2}:?\d{2})?"  # an offset, else the ticket's zone
)
CLOSED_DAY_END = time(18, 0)  # a bare date on a day nobody works (weekend, holiday)
_COMMAND_LINE = re.compile(r"^#([a-zçãõéáíóú_]+)\b\s*(.*)$", re.IGNORECASE)


def cut_at_reply_marker(text: str) -> str:
    """Drop everything from the "reply above this line" marker down."""
    lowered = text.lower()
    cut = min((i for m in REPLY_ABOVE if (i := lowered.find(m.lower())) != -1), default=-1)
    if cut == -1:
        return text
    head = text[:cut]
    # The marker line itself may carry a quote prefix or an attribution before it.
    return head[: head.rfind("\n") + 1] if "\n" in head else ""


@dataclass(frozen=True)
class CommandTerms:
    """What reading commands needs besides the directory, handed in so reading stays pure:
    the ticket's business calendar (its zone; a bare `#due` date ends with that business
    day), the mail's instant (a deadline already past is a mistake) and the policy's
    outcomes (the words `#outcome` accepts)."""

    calendar: BusinessCalendar
    now: datetime
    outcomes: tuple[ResolutionOutcome, ...] = DEFAULT_OUTCOMES


def read_commands(
    text: str, directory: Directory, sender: str, terms: CommandTerms
) -> CommandSheet:
    """Commands are the `#` lines before any other text; blank lines may separate them."""
    lines = text.splitlines()
    changes: dict[str, object] = {}
    tags: list[str] = []
    errors: list[str] = []
    seen: list[str] = []
    is_note = False
    requester: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if not line:
            index += 1
            continue
        match = _COMMAND_LINE.match(line)
        if not match:
            break
        seen.append(line)
        index += 1
        word, argument = match.group(1).lower(), match.group(2).strip()
        name = COMMAND_WORDS.get(word)
        if name is None:
            errors.append(
                Fault("unknown_command", f"unknown command '#{word}'", word=word).at(line)
            )
            continue
        if name == "note":
            is_note = True
        elif name == "escalate":
            changes["escalate"] = True
        elif name == "take":
            if argument:  # `#take ana@…` is surely meant as `#assign`
                english = f"'#{word}' takes no value (to give it away: #assign)"
                errors.append(Fault("take_no_value", english, word=word).at(line))
            changes["take"] = True
        elif name == "tag":
            if re.fullmatch(r"[\w\-.:]+", argument):
                tags.append(argument)
            else:
                english = "a tag is one word (letters, digits, - _ . :)"
                errors.append(Fault("bad_tag", english, value=argument).at(line))
        elif name == "requester":
            # A listed contact, or anyone at a domain its organization opened (seed 004).
            org = directory.organization_of(argument) if "@" in argument else None
            if org is None:
                english = f"{argument or '(empty)'} is not a contact in the directory"
                errors.append(Fault("not_a_contact", english, value=argument).at(line))
            elif not directory.may(argument, org.id, Permission.OPEN):
                english = f"{argument} is not authorized to open tickets"
                errors.append(Fault("not_authorized", english, value=argument).at(line))
            else:
                requester = argument.lower()
        else:
            values, error = _values(name, argument, directory, sender, terms)
            if error:
                errors.append(error.at(line) if isinstance(error, Fault) else f"{line}: {error}")
            else:
                changes.update(values)
    rest = "\n".join(lines[index:]).strip()
    return CommandSheet(
        changes=TicketChanges(tags=tuple(tags), **changes),  # type: ignore[arg-type]
        errors=tuple(errors),
        text=rest,
        is_note=is_note,
        requester=requester,
        lines=tuple(seen),
    )


def _values(
    name: str, argument: str, directory: Directory, sender: str, terms: CommandTerms
) -> tuple[dict[str, object], str]:
    """The `TicketChanges` fields one command sets, or the error to tell the agent."""
    if name == "queue":
        return _queue(argument, directory)
    if name == "due":
        due, error = read_due(argument, terms.calendar, terms.now)
        return ({"due_at": due} if due else {}), error
    if name == "outcome":
        outcome, error = read_outcome(argument, terms.outcomes)
        return ({"outcome": outcome} if outcome else {}), error
    value, error = _value(name, argument, directory, sender)
    return ({} if error else {"assignee" if name == "assign" else name: value}), error


def _queue(argument: str, directory: Directory) -> tuple[dict[str, object], str]:
    """`#queue n2`, or `#queue n2 keep` to move the ticket without unassigning it."""
    queue_id, _, rest = argument.lower().partition(" ")
    rest = rest.strip()
    if rest and rest not in KEEP_WORDS:
        english = f"after the queue only '{KEEP_WORDS[0]}' or '{KEEP_WORDS[1]}' may follow"
        return {}, Fault("queue_keep", english, value=rest)
    if directory.queue(queue_id) is None:
        known = ", ".join(q.id for q in directory.queues)
        return {}, Fault("no_queue", f"no queue '{queue_id}' (queues: {known})",
                         value=queue_id, known=known)  # fmt: skip
    return {"queue": queue_id, "keep_assignee": bool(rest)}, ""


def read_due(
    argument: str, calendar: BusinessCalendar, now: datetime
) -> tuple[datetime | None, str]:
    """`#due`: dd/mm/aaaa [hh:mm] or ISO 8601, in the calendar's zone unless an offset is
    written; a date alone means the end of that business day. Past dates are refused."""
    due = _parse_due(argument.strip(), calendar)
    if due is None:
        english = (
            f"'{argument}' is not a date (write dd/mm/aaaa, dd/mm/aaaa hh:mm, "
            "aaaa-mm-dd or aaaa-mm-ddThh:mm)"
        )
        return None, Fault("not_a_date", english, value=argument)
    if due <= now:
        english = f"'{argument}' is already past; the agreed date must be still to come"
        return None, Fault("past_date", english, value=argument)
    return due, ""


def _parse_due(text: str, calendar: BusinessCalendar) -> datetime | None:
    zone = calendar.zone
    try:
        if found := _DAY_MONTH_YEAR.fullmatch(text):
            day, month, year, hour, minute, h_minute = found.groups()
            on = date(int(year), int(month), int(day))
            if hour is None:
                return end_of_business_day(on, calendar)
            at = time(int(hour), int(minute or h_minute or 0))
            return datetime.combine(on, at, tzinfo=zone)
        if _ISO_DATE.fullmatch(text):
            return end_of_business_day(date.fromisoformat(text), calendar)
        if _ISO_DATETIME.fullmatch(text):
            value = datetime.fromisoformat(text)
            return value if value.tzinfo else value.replace(tzinfo=zone)
    except ValueError:  # 31/02/2026, 25:00 …
        return None
    return None


def end_of_business_day(day: date, calendar: BusinessCalendar) -> datetime:
    """What a date alone promises: that day's last closing time in the policy's business
    hours, or 18:00 on a day nobody works (a weekend, a holiday)."""
    window = calendar.window(day)
    if window is None:
        return datetime.combine(day, CLOSED_DAY_END, tzinfo=calendar.zone)
    return window[1].astimezone(calendar.zone)


def read_outcome(argument: str, outcomes: tuple[ResolutionOutcome, ...]) -> tuple[str | None, str]:
    """`#outcome`: an outcome's id or one of its words (any case, - or _), as its id."""
    wanted = argument.strip().lower().replace("-", "_")
    for outcome in outcomes:
        if wanted in (outcome.id.lower(), *(w.lower() for w in outcome.words)):
            return outcome.id, ""
    if not outcomes:
        return None, Fault("no_outcomes", "no outcomes are configured (outcomes: in policy.yaml)")
    known = ", ".join(w for o in outcomes for w in dict.fromkeys((*o.words, o.id)))
    english = f"unknown outcome '{argument}' (use {known})"
    return None, Fault("unknown_outcome", english, value=argument, known=known)


def _value(name: str, argument: str, directory: Directory, sender: str) -> tuple[object, str]:
    word = argument.lower()
    if name == "status":
        if word in STATUS_WORDS:
            return STATUS_WORDS[word], ""
        english = f"unknown status '{argument}' (use {', '.join(s.value for s in TicketStatus)})"
        return None, Fault("unknown_status", english, value=argument)
    if name == "priority":
        if word in ("0", "1", "2", "3"):
            return Priority(int(word)), ""
        english = f"priority must be 0, 1, 2 or 3, not '{argument}'"
        return None, Fault("bad_priority", english, value=argument)
    if name == "category":
        if word in CATEGORIES:
            return word, ""
        english = f"unknown category '{argument}' (use {', '.join(CATEGORIES)})"
        return None, Fault("unknown_category", english, value=argument)
    if name == "environment":
        if word in ENVIRONMENT_WORDS:
            return ENVIRONMENT_WORDS[word], ""
        english = f"unknown environment '{argument}' (use production or staging)"
        return None, Fault("unknown_environment", english, value=argument)
    if name == "assign":
        email = sender if word in ("me", "eu", "mim") else word
        if directory.agent(email):
            return email.lower(), ""
        english = f"{argument or '(empty)'} is not an agent in the directory"
        return None, Fault("not_an_agent", english, value=argument)
    return None, Fault("no_value_here", f"'#{name}' takes no value here", word=name)
