"""The support policy file (`policy.yaml`): business hours, holidays, SLAs and timers.

Admins edit it beside the rules; it is validated whole with `file:line:col`
errors (rules/sourcefile.py) and hot-reloaded through `gateway.config.reloading.Watched`,
so a broken edit is refused and the previous policy stays. A missing file means
the defaults that mirror the seeds: Mon–Fri 08:00–18:00, Brazilian national
holidays, waiting_customer → reminder after 3 and resolved after 5 business
days (seed 002), resolved → closed after 5 more, a survey after close, and the
default resolution outcomes (`#outcome`: fixed, roadmap, cannot_reproduce,
third_party) with their customer paragraphs.

The loaded `Policy` is a frozen value of gateway/domain/policy.py.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_tables
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from gateway.config.reloading import Watched
from gateway.domain import Priority
from gateway.domain.calendar import MIDNIGHT, BusinessCalendar, national_holidays
from gateway.domain.customer_intent import DEFAULT_ESCALATION_PHRASES
from gateway.domain.policy import (
    DEFAULT_OUTCOMES,
    SEED_TARGETS,
    WEEKDAYS,
    Duration,
    Override,
    Policy,
    ResolutionOutcome,
    TargetOverrides,
)
from rules.sourcefile import Located, Problem, SourceFileError, load_yaml, validate

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*$")


def _duration(value: object) -> Duration:
    return Duration.parse(value)


Dur = Annotated[Duration, BeforeValidator(_duration)]


def _minutes(moment: time, *, closing: bool = False) -> int:
    """Minutes into the day; as a closing time MIDNIGHT (24:00) is the day's last."""
    return 24 * 60 if closing and moment == MIDNIGHT else moment.hour * 60 + moment.minute


def _span(item: object) -> tuple[time, time]:
    """One "08:00-18:00"; "24:00" closes at midnight exactly, the end of the day."""
    match = _HOURS.match(str(item))
    if not match:
        raise ValueError(f"'{item}' is not an opening span; write it like 08:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (h2, m2) == (24, 0):
        h2 = 0
    try:
        opens, closes = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"'{item}': {exc} (24:00 closes at midnight)") from exc
    if _minutes(closes, closing=True) <= _minutes(opens):
        raise ValueError(f"'{item}' closes before it opens")
    return opens, closes


def _parse_hours(value: object) -> tuple[tuple[time, time], ...]:
    """ "08:00-18:00", "08:00-12:00, 13:00-18:00", a list of those, or null (closed)."""
    if value is None or value == "closed" or value == []:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    spans = sorted(_span(item) for item in items)
    for (_, end), (start, _) in itertools.pairwise(spans):
        if _minutes(start) < _minutes(end, closing=True):
            raise ValueError(f"opening spans overlap in '{value}'")
    return tuple(spans)


Hours = Annotated[tuple[tuple[time, time], ...], BeforeValidator(_parse_hours)]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone '{value}' (use an IANA name)") from exc
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class HolidaysEntry(_Strict):
    country: str | None = "BR"
    subdivision: str | None = None
    extra: list[date] = []

    @model_validator(mode="after")
    def _known(self) -> HolidaysEntry:
        if self.country is None:
            return self
        try:
            holiday_tables.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError as exc:
            raise ValueError(f"the holidays package has no country '{self.country}'") from exc
        except Exception as exc:  # the package raises NotImplementedError or ValueError
            raise ValueError(str(exc).splitlines()[0]) from exc
        return self


class TargetEntry(_Strict):
    """A priority's targets as written: a key left out keeps the default (or the target an
    override refines), `null` switches that target off."""

    first_response: Dur | None = None
    next_response: Dur | None = None
    resolution: Dur | None = None

    def given(self) -> TargetOverrides:
        """Only the keys written in the file, so absence and `null` stay apart."""
        return TargetOverrides(**{name: getattr(self, name) for name in self.model_fields_set})


PriorityKey = Annotated[int, Field(ge=0, le=3)]


class OverrideEntry(_Strict):
    category: str | None = None
    organization: str | None = None
    targets: dict[PriorityKey, TargetEntry]

    @model_validator(mode="after")
    def _scoped(self) -> OverrideEntry:
        if self.category is None and self.organization is None:
            raise ValueError("an override needs a category, an organization or both")
        return self


class SlaEntry(_Strict):
    warn_before: Dur = Duration(time=timedelta(hours=1))
    targets: dict[PriorityKey, TargetEntry] = {}
    overrides: list[OverrideEntry] = []


def _phrase(value: str) -> str:
    phrase = " ".join(value.split())
    if len(phrase) < 3:
        raise ValueError(f"'{value}' is too short to be a phrase customers write")
    return phrase


class EscalationEntry(_Strict):
    every: Dur = Duration(time=timedelta(hours=4))
    levels: int = Field(3, ge=0, le=10)
    direction: list[Annotated[str, AfterValidator(lambda v: v.strip().lower())]] = []
    # [] turns the reading of mail off; the signed link in status mail still works.
    customer_phrases: list[Annotated[str, AfterValidator(_phrase)]] = list(
        DEFAULT_ESCALATION_PHRASES
    )
    customer_window: Dur = Duration(days=1)


class WaitingCustomerEntry(_Strict):
    reminder_after: Dur | None = Duration(days=3)
    resolve_after: Dur | None = Duration(days=5)


class ResolvedEntry(_Strict):
    close_after: Dur | None = Duration(days=5)


class TimersEntry(_Strict):
    waiting_customer: WaitingCustomerEntry = WaitingCustomerEntry()
    resolved: ResolvedEntry = ResolvedEntry()


class SurveyEntry(_Strict):
    enabled: bool = True


def _word(value: str) -> str:
    """What an agent writes after `#outcome`: one word, compared lowercased, - as _."""
    word = value.strip().lower().replace("-", "_")
    if not re.fullmatch(r"\w+", word):
        raise ValueError(f"'{value}' is not one word (letters, digits and _)")
    return word


Word = Annotated[str, AfterValidator(_word)]


class OutcomeEntry(_Strict):
    """One resolution outcome: its id (stored on the ticket), more words agents may write,
    and the customer's paragraph per locale (a default outcome's own when left out)."""

    id: Word
    words: list[Word] = []
    text: dict[Literal["pt_BR", "en"], Annotated[str, AfterValidator(str.strip)]] = {}


class PolicyFile(_Strict):
    timezone: Annotated[str, AfterValidator(_zone)] | None = None
    business_hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], Hours] | None = (
        None
    )
    holidays: HolidaysEntry = HolidaysEntry()
    sla: SlaEntry = SlaEntry()
    escalation: EscalationEntry = EscalationEntry()
    timers: TimersEntry = TimersEntry()
    reply_to_closed: Literal["new_ticket", "reopen"] = "new_ticket"
    survey: SurveyEntry = SurveyEntry()
    outcomes: list[OutcomeEntry] | None = None


def load_policy(path: Path, default_zone: ZoneInfo) -> Policy:
    """Load and check `policy.yaml`; a missing file is the seeds' policy."""
    if not path.exists():
        return Policy.seeds_default(default_zone)
    located = load_yaml(path)
    parsed = validate(PolicyFile, located, located.data if located.data is not None else {})
    problems: list[Problem] = []
    zone = ZoneInfo(parsed.timezone) if parsed.timezone else default_zone
    if parsed.business_hours is not None:
        hours = {
            WEEKDAYS.index(day): spans for day, spans in parsed.business_hours.items() if spans
        }
        if not hours:
            problems.append(
                located.problem(("business_hours",), "business_hours has no working day")
            )
    else:
        hours = {day: ((time(8), time(18)),) for day in range(5)}
    holidays = parsed.holidays
    is_holiday: Callable[[date], bool]
    if holidays.country:
        is_holiday = national_holidays(holidays.country, holidays.subdivision, holidays.extra)
    else:
        extra = frozenset(holidays.extra)
        is_holiday = extra.__contains__
    targets = dict(SEED_TARGETS)
    for priority, entry in parsed.sla.targets.items():
        targets[Priority(priority)] = targets[Priority(priority)].overridden(entry.given())
    outcomes = _outcomes(parsed.outcomes, located, problems)
    if problems:
        raise SourceFileError(problems)
    timers = parsed.timers
    return Policy(
        calendar=BusinessCalendar(zone=zone, hours=hours, is_holiday=is_holiday),
        targets=targets,
        overrides=tuple(
            Override(
                o.category,
                o.organization,
                {Priority(p): t.given() for p, t in o.targets.items()},
            )
            for o in parsed.sla.overrides
        ),
        warn_before=parsed.sla.warn_before,
        escalate_every=parsed.escalation.every,
        escalation_levels=parsed.escalation.levels,
        direction=tuple(parsed.escalation.direction),
        customer_escalation_phrases=tuple(parsed.escalation.customer_phrases),
        customer_escalation_window=parsed.escalation.customer_window,
        reminder_after=timers.waiting_customer.reminder_after,
        resolve_after=timers.waiting_customer.resolve_after,
        close_after=timers.resolved.close_after,
        reply_to_closed=parsed.reply_to_closed,
        survey_enabled=parsed.survey.enabled,
        outcomes=outcomes,
    )


def _outcomes(
    entries: list[OutcomeEntry] | None, located: Located, problems: list[Problem]
) -> tuple[ResolutionOutcome, ...]:
    """The `outcomes:` list over the defaults: a default id keeps its words and paragraphs
    where the entry gives none; a new id needs a paragraph; no word may name two."""
    if entries is None:
        return DEFAULT_OUTCOMES
    defaults = {o.id: o for o in DEFAULT_OUTCOMES}
    owner: dict[str, str] = {}
    out: list[ResolutionOutcome] = []
    for index, entry in enumerate(entries):
        base = defaults.get(entry.id)
        texts: dict[str, str] = dict(base.texts) if base else {}
        texts.update((locale, text) for locale, text in entry.text.items() if text)
        words = tuple(entry.words) if entry.words else (base.words if base else ())
        if any(o.id == entry.id for o in out):
            problems.append(located.problem(
                ("outcomes", index, "id"), f"outcome '{entry.id}' is listed twice"
            ))  # fmt: skip
        elif not texts:
            problems.append(located.problem(
                ("outcomes", index, "id"),
                f"outcome '{entry.id}' needs the customer's paragraph: text: {{pt_BR: …, en: …}}",
            ))  # fmt: skip
        for word in dict.fromkeys((entry.id, *words)):
            if word in owner and owner[word] != entry.id:
                problems.append(located.problem(
                    ("outcomes", index),
                    f"the word '{word}' already names outcome '{owner[word]}'",
                ))  # fmt: skip
            owner.setdefault(word, entry.id)
        out.append(ResolutionOutcome(entry.id, words, texts))
    return tuple(out)


def watch_policy(
    path: Path,
    default_zone: ZoneInfo,
    on_error: Callable[[str, SourceFileError], None] | None = None,
) -> Watched[Policy]:
    """The policy file, reloaded when it changes; a broken edit keeps the previous policy."""
    return Watched("policy.yaml", lambda: [path], lambda: load_policy(path, default_zone), on_error)
