"""The support policy as a value: business durations, SLA targets, status timers.

Loaded from `policy.yaml` by gateway/config/policy_file.py; read by the pure
lifecycle functions (gateway/lifecycle/sla.py). A frozen value with no
validation library in it, so the lifecycle can be reasoned about and tested
on its own. The defaults mirror the seeds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from zoneinfo import ZoneInfo

from gateway.domain.calendar import BusinessCalendar, national_holidays
from gateway.domain.customer_intent import DEFAULT_ESCALATION_PHRASES
from gateway.domain.tickets import Priority

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# "5d", "12h", "1h30m", "5 dias úteis" (business time); "10dc", "12hc", "10 dias corridos",
# "12h corridas", "10 calendar days", "12 calendar hours" (calendar time, 24×7).
_PART = re.compile(
    r"(\d+)\s*(d|dias?|days?|h|horas?|hours?|m|min|minutos?|minutes?)(c?)(?![a-zà-ú])"
)
_CALENDAR_WORDS = re.compile(r"(?<![a-zà-ú])(?:corridos|corridas|calendar)(?![a-zà-ú])")
_BUSINESS_WORDS = re.compile(r"(?<![a-zà-ú])(?:úteis|uteis|business)(?![a-zà-ú])")
_DURATION_HELP = (
    "write business time like 12h, 30m, 1h30m or 5d, or calendar time (24×7) like "
    "12hc, 10dc, '12h corridas', '10 dias corridos' or '10 calendar days'"
)


class TimeBasis(StrEnum):
    """What a duration counts: the team's business hours, or every hour of the clock."""

    BUSINESS = "business"
    CALENDAR = "calendar"


def _parse_parts(text: str) -> tuple[dict[str, int], TimeBasis]:
    """The amount per unit (d, h, m) and the basis of a duration's text; ValueError if it
    is not one. A basis is named by words (corridos, calendar, úteis) or a `c` per unit."""
    lowered = text.strip().lower()
    calendar_word = bool(_CALENDAR_WORDS.search(lowered))
    business_word = bool(_BUSINESS_WORDS.search(lowered))
    rest = _BUSINESS_WORDS.sub(" ", _CALENDAR_WORDS.sub(" ", lowered))
    parts = _PART.findall(rest)
    if not parts or _PART.sub(" ", rest).strip() or (calendar_word and business_word):
        raise ValueError
    amounts: dict[str, int] = {}
    for number, unit, _ in parts:
        if unit[0] in amounts:
            raise ValueError
        amounts[unit[0]] = int(number)
    compact = {bool(flag) for _, _, flag in parts}
    if len(compact) > 1 or (business_word and True in compact):
        raise ValueError
    calendar = calendar_word or True in compact
    return amounts, TimeBasis.CALENDAR if calendar else TimeBasis.BUSINESS


@dataclass(frozen=True)
class Duration:
    """A policy duration: whole days, then hours and minutes, counted in business time
    (the team's hours, holidays skipped) or in calendar time (24×7, seed 004's first
    answer; seed 003's "pendente 10 dias")."""

    days: int = 0
    time: timedelta = timedelta(0)
    basis: TimeBasis = TimeBasis.BUSINESS

    @classmethod
    def parse(cls, value: object) -> Duration:
        if isinstance(value, Duration):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(time=timedelta(hours=value))
        try:
            if not isinstance(value, str):
                raise ValueError
            amounts, basis = _parse_parts(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a duration; {_DURATION_HELP}") from None
        time = timedelta(hours=amounts.get("h", 0), minutes=amounts.get("m", 0))
        return cls(days=amounts.get("d", 0), time=time, basis=basis)

    @property
    def calendar_time(self) -> bool:
        return self.basis is TimeBasis.CALENDAR

    def after(self, calendar: BusinessCalendar, start: datetime) -> datetime:
        """The instant this long after `start`. Calendar days keep the wall-clock time of
        day in the team's zone (across a DST change); hours are real elapsed time."""
        if not self.calendar_time:
            return calendar.add_span(start, self.days, self.time)
        local = start.astimezone(calendar.zone)
        moved = local + timedelta(days=self.days) if self.days else local
        return (moved.astimezone(UTC) + self.time).astimezone(calendar.zone)

    def before(self, calendar: BusinessCalendar, end: datetime) -> datetime:
        """The instant this long before `end` (a warning ahead of a due time); business
        durations count their hours, as warnings always have."""
        if not self.calendar_time:
            return calendar.subtract(end, self.time)
        local = end.astimezone(calendar.zone)
        moved = local - timedelta(days=self.days) if self.days else local
        return (moved.astimezone(UTC) - self.time).astimezone(calendar.zone)

    @property
    def nonzero(self) -> bool:
        return bool(self.days or self.time)

    def elapsed(self, calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
        """Time from `start` to `end` in this duration's basis (a pause, measured in the
        same clock as the target it delays)."""
        if not self.calendar_time:
            return calendar.between(start, end)
        return max(end - start, timedelta(0))

    def __str__(self) -> str:
        suffix = "c" if self.calendar_time else ""
        parts = [f"{self.days}d{suffix}"] if self.days else []
        hours, rest = divmod(int(self.time.total_seconds()), 3600)
        if hours:
            parts.append(f"{hours}h{suffix}")
        if rest // 60:
            parts.append(f"{rest // 60}m{suffix}")
        return "".join(parts) or f"0h{suffix}"


class Keep(Enum):
    """An override's "not given here": the target it overrides stays (None switches off)."""

    KEEP = "keep"


KEEP = Keep.KEEP
Target = Duration | None  # None: the target is off (`null` in policy.yaml)


@dataclass(frozen=True)
class TargetOverrides:
    """An override's targets for one priority: KEEP keeps the target it overrides, None
    switches it off."""

    first_response: Target | Keep = KEEP
    next_response: Target | Keep = KEEP
    resolution: Target | Keep = KEEP


@dataclass(frozen=True)
class Targets:
    """A priority's SLA targets; None means no such target (no due time, no timers)."""

    first_response: Target
    next_response: Target
    resolution: Target

    def overridden(self, entry: TargetOverrides) -> Targets:
        """These targets with what `entry` names replaced (or switched off)."""
        given = {
            name: value
            for name in ("first_response", "next_response", "resolution")
            if (value := getattr(entry, name)) is not KEEP
        }
        return replace(self, **given)


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
            base = base.overridden(entry)
        return base

    @classmethod
    def seeds_default(cls, zone: ZoneInfo) -> Policy:
        return cls(calendar=BusinessCalendar(zone=zone, is_holiday=national_holidays("BR")))
