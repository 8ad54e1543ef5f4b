"""Satisfaction surveys after close (seed 002): links, reply parsing, answers, report.

The survey mail is queued by gateway/lifecycle/customer_mail.py when a ticket
closes. Answers come two ways: a reply threaded by intake (parsed tolerantly
here: "1: 5, 2: sim, ótimo atendimento") and one-click links served by
gateway/runtime/survey_page.py. A link carries the survey id, an expiry day
and an HMAC over `survey:<id>:<ticket ref>:<person>:<day>` (RFC 2104, with
the gateway's secret), so it names one survey of one ticket for one person:
it can be neither forged nor pointed at another ticket's survey, and a link
from an earlier survey of a reopened ticket cannot change the newer one's
answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain import TicketRef
from gateway.domain.signing import Signer
from gateway.lifecycle.ticket_links import DEFAULT_LINK_DAYS, LinkClaim, LinkCodec, LinkPurpose
from gateway.mail.contexts import AboutTicket, SurveyInvitation


@dataclass(frozen=True)
class SurveyAnswer:
    """What one reply or click answered; None means "not answered here"."""

    rating: int | None = None
    met_expectation: bool | None = None
    comment: str = ""

    @property
    def empty(self) -> bool:
        return self.rating is None and self.met_expectation is None


class SurveyLinks:
    """Signs and verifies survey tokens `<survey id>.<expiry day>.<signature>` with the
    gateway's signer (gateway/lifecycle/ticket_links.py), for the person it is mailed to."""

    def __init__(
        self, secret: bytes | Signer, public_url: str, days: int = DEFAULT_LINK_DAYS
    ) -> None:
        signer = secret if isinstance(secret, Signer) else Signer(secret)
        self.codec = LinkCodec(signer, days)
        self.public_url = public_url.rstrip("/")

    def token(self, survey_id: int, ref: TicketRef, person: str, expires: int) -> str:
        return self.codec.token(LinkPurpose.SURVEY, survey_id, ref, person, expires)

    @staticmethod
    def claim(token: str) -> LinkClaim | None:
        """The survey a token claims (not yet verified: look the survey up, then `verify`)."""
        return LinkClaim.parse(token)

    def verify(
        self, claim: LinkClaim, survey_id: int, ref: TicketRef, person: str, now: datetime
    ) -> bool:
        return claim.id == survey_id and self.codec.verify(
            LinkPurpose.SURVEY, claim, ref, person, now
        )

    def path(self, survey_id: int, ref: TicketRef, person: str, expires: int) -> str:
        return f"/survey/{self.token(survey_id, ref, person, expires)}"

    def page(self, survey_id: int, ref: TicketRef, person: str, now: datetime) -> str:
        expires = self.codec.expiry(now)
        return self.public_url + self.path(survey_id, ref, person, expires)

    def invitation(
        self, survey_id: int, ref: TicketRef, about: AboutTicket, person: str, now: datetime
    ) -> SurveyInvitation:
        """The survey mail's context: links to the page with each rating and yes/no chosen
        (the page asks for a press of its button before it records)."""
        page = self.page(survey_id, ref, person, now)
        return SurveyInvitation(
            about,
            survey_url=page,
            rating_links=[(n, f"{page}?rating={n}") for n in range(1, 6)],
            met_links={"yes": f"{page}?met=yes", "no": f"{page}?met=no"},
        )


# --- reading a reply --------------------------------------------------------------------

_YES = {"sim", "s", "yes", "y", "atendeu", "met", "claro", "com certeza"}
_NO = {"nao", "n", "no", "not", "nope"}
_RATING_WORDS = {
    "um": 1, "dois": 2, "tres": 3, "quatro": 4, "cinco": 5,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
}  # fmt: skip
_NUMBERED = re.compile(
    r"(?:^|[\s,;(])(?:pergunta\s*|question\s*|q\s*)?([12])\s*(?:[:=)\-.>]|\s-)\s*"
    r"([^\s,;.!]+(?:\s+(?:estrelas?|stars?))?)",
    re.IGNORECASE,
)
_RATING_HINT = re.compile(
    r"(?:nota|rating|avalia\w*|rate|score)\s*[:=]?\s*([1-5])\b|\b([1-5])\s*(?:/\s*5|estrelas?|stars?)\b",
    re.IGNORECASE,
)
_SEPARATORS = " \t\r\n,;:.-–—!"


def _fold(text: str) -> str:
    """Lower case without accents: "Não" and "nao" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _yes_no(word: str) -> bool | None:
    word = _fold(word).strip(_SEPARATORS)
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


def _rating(word: str) -> int | None:
    word = _fold(word).strip(_SEPARATORS)
    match = re.match(r"([1-5])(?:\s*(?:/\s*5|estrelas?|stars?))?$", word)
    if match:
        return int(match.group(1))
    return _RATING_WORDS.get(word)


def parse_reply(text: str) -> SurveyAnswer:
    """Find the two answers in a free-form reply, in pt-BR or English.

    Reads numbered answers ("1: 5, 2: sim", "1) 4 2) não", "1 - cinco; 2 - yes"),
    hints ("nota 5", "5/5", "4 estrelas") and, in a short reply, a lone 1–5 and a
    lone yes/no word. What is left once the answers are taken out is the comment.
    """
    folded_lines = [line for line in text.strip().splitlines() if line.strip()]
    body = "\n".join(folded_lines)
    rating: int | None = None
    met: bool | None = None
    spans: list[tuple[int, int]] = []
    for match in _NUMBERED.finditer(body):
        question, value = match.group(1), match.group(2)
        if question == "1" and rating is None and (found := _rating(value)) is not None:
            rating = found
            spans.append(match.span())
        elif question == "2" and met is None and (answer := _yes_no(value)) is not None:
            met = answer
            spans.append(match.span())
    if rating is None and (hint := _RATING_HINT.search(body)):
        rating = int(hint.group(1) or hint.group(2))
        spans.append(hint.span())
    rest = _without(body, spans)
    words = re.findall(r"[\wÀ-ÿ/]+", rest)
    if len(words) <= 12:  # a short reply: lone answers count, a long one is a message
        if rating is None:
            for i, word in enumerate(words):
                if (found := _rating(word)) is not None and word.strip().isdigit():
                    rating = found
                    rest = _drop_word(rest, words[i])
                    break
        if met is None:
            for word in words[:4]:
                if (answer := _yes_no(word)) is not None and len(word) > 1:
                    met = answer
                    rest = _drop_word(rest, word)
                    break
    comment = rest.strip(_SEPARATORS) if rating is not None or met is not None else ""
    return SurveyAnswer(rating, met, re.sub(r"\s+", " ", comment))


def _without(text: str, spans: Iterable[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(text[last:start])
        last = max(last, end)
    out.append(text[last:])
    return " ".join(out)


def _drop_word(text: str, word: str) -> str:
    return re.sub(rf"(?<![\w]){re.escape(word)}(?![\w])", " ", text, count=1)


# --- the report -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    group: str  # "agent", "queue" or "month"
    key: str
    sent: int
    answered: int
    average_rating: float | None
    met_expectation_pct: float | None


def summarize(rows: Iterable[Mapping[str, Any]]) -> list[ReportLine]:
    """Per agent, per queue and per month: sent, answered, average 1–5, % "yes"."""
    buckets: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        buckets[("agent", row["agent"] or "-")].append(row)
        buckets[("queue", row["queue"] or "-")].append(row)
        buckets[("month", row["month"])].append(row)
    lines = []
    for (group, key), items in sorted(buckets.items()):
        ratings = [r["rating"] for r in items if r["rating"] is not None]
        mets = [r["met_expectation"] for r in items if r["met_expectation"] is not None]
        lines.append(
            ReportLine(
                group=group,
                key=key,
                sent=len(items),
                answered=sum(1 for r in items if r["answered"]),
                average_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
                met_expectation_pct=round(100 * sum(mets) / len(mets), 1) if mets else None,
            )
        )
    order = {"agent": 0, "queue": 1, "month": 2}
    return sorted(lines, key=lambda line: (order[line.group], line.key))
