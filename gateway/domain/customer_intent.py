"""What a customer's reply asks of its ticket: approve the solution, say it is not solved,
or ask for escalation.

Pure readers of the reply's new text (inbound/reply_text.py has already cut the quoted
history and the mobile signature). Seed 002: a resolved ticket waits for the customer's
"approval or refusal", and an approval closes it at once; seed 001: a customer may take a
ticket to the next level (attendant → area lead → direction). The lifecycle reads the
verdict (gateway/lifecycle/replies.py); the pipeline reads the escalation request
(gateway/intake/steps.py) with the phrases of `policy.yaml`.

Both readers lean the same way when unsure: a reply that is not clearly an approval
reopens the ticket as any reply does (an agent re-resolves it in a minute; a closed
ticket with an unanswered question is a customer lost), and a request that is negated or
hedged in its own clause ("não precisa escalar") escalates nothing (the agents still read
it). Phrases our own mail cites in quotation marks never count, so a client that quotes
without ">" cannot make our instructions the customer's words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from enum import StrEnum

# Seed 001's path up, in the words customers use; policy.yaml may replace them.
DEFAULT_ESCALATION_PHRASES = (
    "quero escalar",
    "escalar o chamado",
    "escalar este chamado",
    "escalonar o chamado",
    "solicito o escalonamento",
    "pedido de escalonamento",
    "falar com o supervisor",
    "falar com a supervisão",
    "falar com o gerente",
    "falar com a liderança",
    "please escalate",
    "escalate this",
    "escalate the ticket",
    "i want to escalate",
    "speak to a manager",
    "talk to a supervisor",
)

# A short message; a longer one is a message to read, not a one-word approval.
MAX_APPROVAL_WORDS = 60


class Verdict(StrEnum):
    """A customer's answer to a resolved ticket."""

    APPROVED = "approved"
    NOT_SOLVED = "not_solved"
    NONE = "none"  # neither: a reply like any other


# Not a bare "no" (Portuguese "no sistema") nor "sem" ("estou sem resposta e quero escalar").
_NEGATION = re.compile(
    r"\b(?:nao|nunca|nem|jamais|not|never|cannot|no need|no longer|\w+n't"
    r"|dont|doesnt|didnt|isnt|cant|wont)\b"
)
_CLAUSE_END = re.compile(r"[.;:!?\n,]")
_QUOTED = re.compile(r"\"[^\"\n]{1,80}\"|“[^”\n]{1,80}”|«[^»\n]{1,80}»")
_CONTRAST = re.compile(r"\b(?:mas|porem|contudo|entretanto|so que|but|however|although|except)\b")
_WORD = re.compile(r"[a-z0-9']+")


def _pattern(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


_APPROVAL = _pattern(
    r"aprovad[oa]s?",
    r"aprovo",
    r"(?:pode|podem|podemos|favor|por favor) (?:ser )?(?:encerra|fecha|finaliza)(?:r|d[oa])",
    r"(?:encerrar|fechar|finalizar) (?:o )?(?:chamado|ticket|atendimento)",
    r"resolvid[oa]s?",
    r"resolveu",
    r"solucionad[oa]",
    r"funcionou",
    r"(?:agora|ja) (?:esta |ta )?funciona(?:ndo)?",
    r"(?:esta|ta|estao) funcionando",
    r"funciona(?:ndo)? (?:agora|normalmente|perfeitamente|certinho|bem)",
    r"deu certo",
    r"tudo certo",
    r"approved?",
    r"(?:can|may) close",
    r"(?:please|feel free to|go ahead and|ok to) close",
    r"close (?:it|the ticket|this ticket|this)",
    r"(?:it |that |everything )?works?(?: now| again| fine| perfectly| great)",
    r"it works",
    r"working (?:now|again|fine|perfectly)",
    r"worked",
    r"solved|resolved|fixed",
    r"all good",
)
# Not solved, in words that carry their own negation: read as they stand.
_NOT_SOLVED = _pattern(
    r"ainda nao",
    r"nao (?:esta |ta )?funciona",
    r"not (?:yet|working|solved|resolved|fixed|approved)",
    r"(?:does|did|do|is|was|are|has|have)(?:n't| not) (?:work|help|fix|solve|resolve)",
    r"still (?:not|no|broken|fail\w*|happening|getting|having|the same|crashing|down)",
    r"still (?:an? (?:error|issue|problem)|doesn't|isn't|can't|won't)",
)
# Not solved, unless negated in its clause ("não precisa reabrir" is no refusal).
_TROUBLE = _pattern(
    r"ainda (?:esta com|esta dando|da|dando|com|falha|trava|apresenta|ocorre|acontece|continua)",
    r"continua(?:m)? (?:com|dando|a dar|apresentando|acontecendo|ocorrendo|falhando|travando)",
    r"continua(?:m)? (?:o mesmo|a mesma|igual|sem funcionar|nao)",
    r"persist\w*",
    r"mesm[oa] (?:erro|problema|falha)",
    r"voltou a (?:falhar|dar erro|acontecer|ocorrer|travar)",
    r"reabr\w*",
    r"reprov\w*",
    r"reopen\w*",
    r"same (?:error|problem|issue)",
)


def fold(text: str) -> str:
    """Lower case, no accents, one apostrophe and single spaces: "Não" reads as "nao"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"[’‘´`]", "'", plain)
    return re.sub(r"[ \t\r\f\v]+", " ", plain)


def _prepare(text: str) -> str:
    """The reply's own words: no quoted (">") lines, no phrases cited in quotation marks."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return _QUOTED.sub(" ", fold("\n".join(lines)))


def _negated(text: str, start: int, end: int) -> bool:
    """A negation earlier in the same clause ("não está resolvido", "don't close it"), or a
    clause that ends in one ("resolvido não")."""
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    after = _CLAUSE_END.search(text, end)
    rest = _WORD.findall(text[end : after.start() if after else len(text)])
    return _NEGATION.search(text, clause_start, start) is not None or rest == ["nao"]


def read_verdict(text: str) -> Verdict:
    """Approved ("Aprovado, pode encerrar", "works now, thanks"), not solved ("ainda não
    funciona", "not solved", an approval word negated), or neither.

    An approval counts only in a short reply with no question and no "but": anything
    more is a message for the agents, and the ticket reopens as for any reply.
    """
    words = _prepare(text)
    if _NOT_SOLVED.search(words):
        return Verdict.NOT_SOLVED
    if any(not _negated(words, m.start(), m.end()) for m in _TROUBLE.finditer(words)):
        return Verdict.NOT_SOLVED
    approvals = list(_APPROVAL.finditer(words))
    if not approvals:
        return Verdict.NONE
    if any(_negated(words, m.start(), m.end()) for m in approvals):
        return Verdict.NOT_SOLVED
    unclear = "?" in words or _CONTRAST.search(words) is not None
    if unclear or len(_WORD.findall(words)) > MAX_APPROVAL_WORDS:
        return Verdict.NONE
    return Verdict.APPROVED


def asks_to_escalate(text: str, phrases: Sequence[str]) -> bool:
    """Whether the reply asks, in one of `phrases`, to take the ticket to the next level;
    a phrase negated in its clause ("não quero escalar ainda") does not count."""
    words = _prepare(text)
    for phrase in phrases:
        wanted = r"\s+".join(re.escape(word) for word in fold(phrase).split())
        if not wanted:
            continue
        for match in re.finditer(rf"(?<![a-z0-9]){wanted}(?![a-z0-9])", words):
            if not _negated(words, match.start(), match.end()):
                return True
    return False
