"""The support policy as a value: business durations, SLA targets, status timers.

Loaded from `policy.yaml` by gateway/config/policy_file.py; read by the pure
lifecycle functions (gateway/lifecycle/sla.py). A frozen value with no
validation library in it, so the lifecycle can be reasoned about and tested
on its own. The defaults mirror the seeds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.domain.calendar import BusinessCalendar, national_holidays
from gateway.domain.customer_intent import DEFAULT_ESCALATION_PHRASES
from gateway.domain.tickets import Priority

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")


@dataclass(frozen=True)
class Duration:
    """A business duration: whole business days, then business hours and minutes."""

    days: int = 0
    time: timedelta = timedelta(0)

    @classmethod
    def parse(cls, value: object) -> Duration:
        if isinstance(value, Duration):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(time=timedelta(hours=value))
        text = str(value)
        match = _DURATION.match(text)
        if not isinstance(value, str) or not match or not any(match.groups()):
            raise ValueError(
                f"'{value}' is not a duration; write business time like 12h, 30m, 1h30m or 5d"
            )
        days, hours, minutes = (int(g) if g else 0 for g in match.groups())
        return cls(days=days, time=timedelta(hours=hours, minutes=minutes))

    def after(self, calendar: BusinessCalendar, start: datetime) -> datetime:
        return calendar.add_span(start, self.days, self.time)

    def __str__(self) -> str:
        parts = [f"{self.days}d"] if self.days else []
        hours, rest = divmod(int(self.time.total_seconds()), 3600)
        if hours:
            parts.append(f"{hours}h")
        if rest // 60:
            parts.append(f"{rest // 60}m")
        return "".join(parts) or "0h"


@dataclass(frozen=True)
class TargetOverrides:
    """An override's targets for one priority; None keeps the target it overrides."""

    first_response: Duration | None = None
    next_response: Duration | None = None
    resolution: Duration | None = None


@dataclass(frozen=True)
class Targets:
    first_response: Duration
    next_response: Duration
    resolution: Duration


H = Duration
SEED_TARGETS: Mapping[Priority, Targets] = {
    # Seed 001: a first look within 1 h; seed 004: a first answer within 12 h;
    # seed 003: an answer within 3 business days.
    Priority.CRITICAL: Targets(H(time=timedelta(hours=1)), H(time=timedelta(hours=2)), H(days=1)),
    Priority.HIGH: Targets(H(time=timedelta(hours=4)), H(time=timedelta(hours=4)), H(days=2)),
    Priority.MEDIUM: Targets(H(time=timedelta(hours=8)), H(time=timedelta(hours=8)), H(days=3)),
    Priority.NORMAL: Targets(H(time=timedelta(hours=12)), H(time=timedelta(hours=12)), H(days=3)),
}


@dataclass(frozen=True)
class Override:
    category: str | None
    organization: str | None
    targets: Mapping[Priority, TargetOverrides]

    def applies(self, category: str, organization: str | None) -> bool:
        return (self.category is None or self.category == category) and (
            self.organization is None or self.organization == organization
        )


@dataclass(frozen=True)
class ResolutionOutcome:
    """How a ticket ended (`#outcome`), with the paragraph the customer reads about it.

    `words` are what agents may write besides the id (Portuguese and English);
    `texts` holds one paragraph per locale for the resolution and closing mail.
    """

    id: str
    words: tuple[str, ...]
    texts: Mapping[str, str]

    def text(self, locale: str) -> str:
        """The paragraph in `locale`; any paragraph there is when that one is missing."""
        return self.texts.get(locale) or next(iter(self.texts.values()), "")


DEFAULT_OUTCOMES = (
    ResolutionOutcome(
        "fixed", ("corrigido", "fixed"),
        {
            "pt_BR": "Desfecho: o problema foi corrigido e a correção já está disponível.",
            "en": "Outcome: the problem was fixed and the fix is already available.",
        },
    ),
    ResolutionOutcome(
        "roadmap", ("roadmap",),
        {
            "pt_BR": "Desfecho: o seu pedido entrou no roadmap do produto. A equipe de produto "
            "vai avaliá-lo para as próximas versões.",
            "en": "Outcome: your request is now on the product roadmap. The product team will "
            "consider it for upcoming releases.",
        },
    ),
    ResolutionOutcome(
        "cannot_reproduce", ("nao_reproduzido", "não_reproduzido", "cannot_reproduce"),
        {
            "pt_BR": "Desfecho: não conseguimos reproduzir o problema no nosso ambiente. Se ele "
            "voltar a acontecer, responda a este e-mail com a data, o horário e, se possível, "
            "um print da tela, e retomamos a análise.",
            "en": "Outcome: we could not reproduce the problem in our environment. If it "
            "happens again, reply to this email with the date, the time and, if you can, a "
            "screenshot, and we will look into it again.",
        },
    ),
    ResolutionOutcome(
        "third_party", ("terceiro", "terceiros", "third_party"),
        {
            "pt_BR": "Desfecho: a causa está em um serviço de terceiros, fora do nosso sistema. "
            "Encaminhamos o caso ao fornecedor responsável, de quem depende a solução.",
            "en": "Outcome: the cause lies in a third-party service outside our system. We "
            "passed the case on to the provider responsible, on whom the fix depends.",
        },
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Policy:
    """Business calendar, SLA targets and status timers, as one immutable value."""

    calendar: BusinessCalendar
    targets: Mapping[Priority, Targets] = field(default_factory=lambda: dict(SEED_TARGETS))
    overrides: tuple[Override, ...] = ()
    warn_before: Duration = Duration(time=timedelta(hours=1))
    escalate_every: Duration = Duration(time=timedelta(hours=4))
    escalation_levels: int = 3
    direction: tuple[str, ...] = ()
    # A customer's own request to escalate: the phrases read in their mail, and at most one
    # step up per ticket in this much business time (seed 001: one level at a time).
    customer_escalation_phrases: tuple[str, ...] = DEFAULT_ESCALATION_PHRASES
    customer_escalation_window: Duration = Duration(days=1)
    reminder_after: Duration | None = Duration(days=3)
    resolve_after: Duration | None = Duration(days=5)
    close_after: Duration | None = Duration(days=5)
    reply_to_closed: str = "new_ticket"
    survey_enabled: bool = True
    outcomes: tuple[ResolutionOutcome, ...] = DEFAULT_OUTCOMES

    def outcome_text(self, outcome_id: str | None, locale: str) -> str:
        """The customer's paragraph for a ticket's outcome ("" for none, or one no longer
        in the policy)."""
        found = next((o for o in self.outcomes if o.id == outcome_id), None)
        return found.text(locale) if found else ""

    def targets_for(self, priority: Priority, category: str, organization: str | None) -> Targets:
        """The priority's targets; overrides matching category/organization win, most specific
        (both named) first, then in file order."""
        base = self.targets[priority]
        chosen = [o for o in self.overrides if o.applies(category, organization)]
        chosen.sort(key=lambda o: -((o.category is not None) + (o.organization is not None)))
        for override in reversed(chosen):  # the most specific is applied last
            entry = override.targets.get(priority)
            if entry is None:
                continue
            base = Targets(
                entry.first_response or base.first_response,
                entry.next_response or base.next_response,
                entry.resolution or base.resolution,
            )
        return base

    @classmethod
    def seeds_default(cls, zone: ZoneInfo) -> Policy:
        return cls(calendar=BusinessCalendar(zone=zone, is_holiday=national_holidays("BR")))


