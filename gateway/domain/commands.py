"""Agent commands: `#lines` at the top of an agent's mail that change the ticket.

Agents work from their mail client, so the first lines of a reply may be
commands (`#status waiting_customer`, `#assign me`, `#note` …). This pure
module reads them off the new text, checks each against the directory, and
returns what to change plus the text left for the customer. A mistake is
never ignored: it comes back as an error line for the agent. English and
Brazilian Portuguese words are both accepted (see README).
"""

from __future__ import annotations

import re

from gateway.domain import (
    CATEGORIES,
    CommandSheet,
    Directory,
    Priority,
    TicketChanges,
    TicketStatus,
)

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


def read_commands(text: str, directory: Directory, sender: str) -> CommandSheet:
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
            errors.append(f"{line}: unknown command '#{word}'")
            continue
        if name == "note":
            is_note = True
        elif name == "escalate":
            changes["escalate"] = True
        elif name == "tag":
            if re.fullmatch(r"[\w\-.:]+", argument):
                tags.append(argument)
            else:
                errors.append(f"{line}: a tag is one word (letters, digits, - _ . :)")
        elif name == "requester":
            found = directory.contact(argument)
            if found is None:
                errors.append(f"{line}: {argument or '(empty)'} is not a contact in the directory")
            elif not found[1].can_open_tickets:
                errors.append(f"{line}: {argument} is not authorized to open tickets")
            else:
                requester = found[1].email.lower()
        else:
            value, error = _value(name, argument, directory, sender)
            if error:
                errors.append(f"{line}: {error}")
            else:
                changes["assignee" if name == "assign" else name] = value
    rest = "\n".join(lines[index:]).strip()
    return CommandSheet(
        changes=TicketChanges(tags=tuple(tags), **changes),  # type: ignore[arg-type]
        errors=tuple(errors),
        text=rest,
        is_note=is_note,
        requester=requester,
        lines=tuple(seen),
    )


def _value(name: str, argument: str, directory: Directory, sender: str) -> tuple[object, str]:
    word = argument.lower()
    if name == "status":
        if word in STATUS_WORDS:
            return STATUS_WORDS[word], ""
        return None, f"unknown status '{argument}' (use {', '.join(s.value for s in TicketStatus)})"
    if name == "priority":
        if word in ("0", "1", "2", "3"):
            return Priority(int(word)), ""
        return None, f"priority must be 0, 1, 2 or 3, not '{argument}'"
    if name == "queue":
        if directory.queue(word):
            return word, ""
        return None, f"no queue '{argument}' (queues: {', '.join(q.id for q in directory.queues)})"
    if name == "category":
        if word in CATEGORIES:
            return word, ""
        return None, f"unknown category '{argument}' (use {', '.join(CATEGORIES)})"
    if name == "environment":
        if word in ENVIRONMENT_WORDS:
            return ENVIRONMENT_WORDS[word], ""
        return None, f"unknown environment '{argument}' (use production or staging)"
    if name == "assign":
        email = sender if word in ("me", "eu", "mim") else word
        if directory.agent(email):
            return email.lower(), ""
        return None, f"{argument or '(empty)'} is not an agent in the directory"
    return None, f"'#{name}' takes no value here"
