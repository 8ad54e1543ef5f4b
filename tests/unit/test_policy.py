"""policy.yaml: defaults from the seeds, every section, and file:line:col errors."""

from __future__ import annotations

import os
import time as wall
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config.policy_file import load_policy, watch_policy
from gateway.domain import Priority
from gateway.domain.policy import Duration, TimeBasis
from rules.sourcefile import SourceFileError

SP = ZoneInfo("America/Sao_Paulo")

FULL = """\
timezone: America/New_York
business_hours:
  mon: "09:00-12:00, 13:00-17:00"
  tue: "09:00-17:00"
  wed: "09:00-17:00"
  thu: "09:00-17:00"
  fri: "09:00-15:00"
holidays:
  country: US
  subdivision: NY
  extra: [2026-12-24]
sla:
  warn_before: 30m
  targets:
    0: {first_response: 30m, resolution: 8h}
    3: {first_response: 2d}
  overrides:
    - organization: alfa
      targets:
        3: {first_response: 4h}
    - organization: alfa
      category: question
      targets:
        3: {first_response: 1h}
escalation:
  every: 2h
  levels: 2
  direction: [Diretoria@Example.com]
  customer_phrases: ["quero  falar com o gerente", please escalate]
  customer_window: 4h
timers:
  waiting_customer: {reminder_after: 2d, resolve_after: 10d}
  resolved: {close_after: 3d}
reply_to_closed: reopen
survey: {enabled: false}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_is_the_seeds_policy(tmp_path: Path) -> None:
    policy = load_policy(tmp_path / "policy.yaml", SP)
    assert policy.calendar.zone is SP
    assert policy.calendar.is_holiday(date(2025, 9, 7))
    assert policy.reminder_after == Duration(days=3)
    assert policy.resolve_after == Duration(days=5)  # seed 002
    assert policy.close_after == Duration(days=5)
    assert policy.reply_to_closed == "new_ticket" and policy.survey_enabled
    assert "quero escalar" in policy.customer_escalation_phrases
    assert "please escalate" in policy.customer_escalation_phrases
    assert policy.customer_escalation_window == Duration(days=1)  # one business day
    normal = policy.targets_for(Priority.NORMAL, "question", None)
    assert normal.first_response == Duration(time=timedelta(hours=12))  # seed 004
    assert normal.resolution == Duration(days=3)  # seed 003


def test_every_section(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, FULL), SP)
    cal = policy.calendar
    assert cal.zone.key == "America/New_York"
    assert cal.hours[0] == ((time(9), time(12)), (time(13), time(17)))
    assert 5 not in cal.hours
    assert cal.is_holiday(date(2026, 12, 24)) and cal.is_holiday(date(2026, 7, 4))
    assert policy.warn_before == Duration(time=timedelta(minutes=30))
    assert policy.targets_for(Priority.CRITICAL, "problem", None).first_response == Duration(
        time=timedelta(minutes=30)
    )
    assert policy.targets_for(Priority.NORMAL, "problem", None).first_response == Duration(days=2)
    assert policy.targets_for(Priority.NORMAL, "problem", "alfa").first_response == Duration(
        time=timedelta(hours=4)
    )
    # The override naming both organization and category is the most specific.
    assert policy.targets_for(Priority.NORMAL, "question", "alfa").first_response == Duration(
        time=timedelta(hours=1)
    )
    assert policy.escalate_every == Duration(time=timedelta(hours=2))
    assert policy.escalation_levels == 2 and policy.direction == ("diretoria@example.com",)
    assert policy.customer_escalation_phrases == ("quero falar com o gerente", "please escalate")
    assert policy.customer_escalation_window == Duration(time=timedelta(hours=4))
    assert policy.reminder_after == Duration(days=2) and policy.resolve_after == Duration(days=10)
    assert policy.close_after == Duration(days=3)
    assert policy.reply_to_closed == "reopen" and not policy.survey_enabled


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("timezone: Mars/Olympus\n", 1, 1, "unknown time zone"),
        ("business_hours:\n  mon: 8-18\n", 2, 3, "not an opening span"),
        ("business_hours:\n  fri: '18:00-08:00'\n", 2, 3, "closes before it opens"),
        ("business_hours:\n  funday: '08:00-18:00'\n", 2, 3, "business_hours.funday"),
        ("sla:\n  targets:\n    3: {first_response: 12 semanas}\n", 3, 8, "not a duration"),
        ("sla:\n  targets:\n    7: {first_response: 1h}\n", 3, 5, "less than or equal to 3"),
        ("sla:\n  overrides:\n    - targets: {3: {first_response: 1h}}\n", 3, 7, "an override"),
        ("holidays: {country: XX}\n", 1, 11, "no country 'XX'"),
        ("timers:\n  waiting_customer:\n    remind_after: 2d\n", 3, 5, "unknown key"),
        ("reply_to_closed: ignore\n", 1, 1, "reply_to_closed"),
        ("escalation:\n  customer_phrases: [ok]\n", 2, 3, "too short"),
        ("escalation:\n  customer_window: logo\n", 2, 3, "not a duration"),
        ("business_hours:\n  sat: closed\n", 1, 1, "no working day"),
        ("sla: [\n", 2, 1, "YAML syntax error"),
        ("outcomes:\n  - {id: workaround, words: [contorno]}\n", 2, 11, "needs the customer's"),
        (
            "outcomes:\n  - {id: fixed}\n  - {id: ok, words: [Corrigido], text: {en: x}}\n",
            3,
            5,
            "the word 'corrigido' already names outcome 'fixed'",
        ),
        ("outcomes:\n  - {id: roadmap}\n  - {id: roadmap}\n", 3, 11, "listed twice"),
        ("outcomes:\n  - {id: duas palavras, text: {en: x}}\n", 2, 5, "not one word"),
        ("outcomes:\n  - {id: x, text: {es: x}}\n", 2, 20, "Input should be 'pt_BR' or 'en'"),
    ],
)
def test_mistakes_point_at_the_line(
    tmp_path: Path, text: str, line: int, col: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourceFileError) as caught:
        load_policy(path, SP)
    problem = caught.value.problems[0]
    assert message in problem.message, str(caught.value)
    assert (problem.path, problem.line) == (path, line), str(caught.value)
    assert str(problem).startswith(f"{path}:{line}:")


OUTCOMES = """\
outcomes:
  - id: fixed
    text: {en: "Outcome: fixed in version 4.2."}
  - id: workaround
    words: [contorno, Work-Around]
    text:
      pt_BR: "Desfecho: há um contorno enquanto a correção não sai."
      en: "Outcome: there is a workaround until the fix ships."
"""


def test_outcomes_default_to_the_four_of_the_issue(tmp_path: Path) -> None:
    policy = load_policy(tmp_path / "policy.yaml", SP)
    ids = [o.id for o in policy.outcomes]
    assert ids == ["fixed", "roadmap", "cannot_reproduce", "third_party"]
    words = {w for o in policy.outcomes for w in o.words}
    assert {"corrigido", "nao_reproduzido", "terceiro"} <= words


def test_outcomes_replace_the_list_and_keep_default_texts_where_left_out(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, OUTCOMES), SP)
    fixed, workaround = policy.outcomes
    assert fixed.words == ("corrigido", "fixed")  # a default id keeps its words ...
    assert policy.outcome_text("fixed", "en") == "Outcome: fixed in version 4.2."
    assert policy.outcome_text("fixed", "pt_BR").startswith("Desfecho: o problema foi corrigido")
    assert workaround.words == ("contorno", "work_around")
    assert policy.outcome_text("workaround", "pt_BR").startswith("Desfecho: há um contorno")
    assert policy.outcome_text("roadmap", "en") == ""  # no longer offered
    assert load_policy(write(tmp_path, "outcomes: []\n"), SP).outcomes == ()


def test_hot_reload_keeps_the_last_good_policy(tmp_path: Path) -> None:
    path = write(tmp_path, "timers:\n  resolved: {close_after: 2d}\n")
    refused: list[str] = []
    watched = watch_policy(path, SP, lambda name, exc: refused.append(str(exc)))
    assert watched().close_after == Duration(days=2)
    path.write_text("timers:\n  resolved: {close_after: 7d}\n", encoding="utf-8")
    settle(path)
    assert watched().close_after == Duration(days=7)
    path.write_text("timers:\n  resolved: {close_after: soon}\n", encoding="utf-8")
    settle(path)
    assert watched().close_after == Duration(days=7)
    assert refused and f"{path}:2:" in refused[0]


def settle(path: Path) -> None:
    """Date the file back so the watcher sees a settled edit (editors save in steps)."""
    past = wall.time() - 5 - len(path.read_text())
    os.utime(path, (past, past))


def test_duration_texts() -> None:
    assert Duration.parse("1h30m") == Duration(time=timedelta(hours=1, minutes=30))
    assert Duration.parse("5d") == Duration(days=5)
    assert Duration.parse(4) == Duration(time=timedelta(hours=4))
    assert str(Duration(days=2, time=timedelta(hours=3))) == "2d3h"
    with pytest.raises(ValueError):
        Duration.parse("")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 dias corridos", Duration(days=10, basis=TimeBasis.CALENDAR)),
        ("12h corridas", Duration(time=timedelta(hours=12), basis=TimeBasis.CALENDAR)),
        ("12 horas corridas", Duration(time=timedelta(hours=12), basis=TimeBasis.CALENDAR)),
        ("10 calendar days", Duration(days=10, basis=TimeBasis.CALENDAR)),
        ("12 calendar hours", Duration(time=timedelta(hours=12), basis=TimeBasis.CALENDAR)),
        ("10dc", Duration(days=10, basis=TimeBasis.CALENDAR)),
        ("12hc", Duration(time=timedelta(hours=12), basis=TimeBasis.CALENDAR)),
        ("1hc30mc", Duration(time=timedelta(hours=1, minutes=30), basis=TimeBasis.CALENDAR)),
        ("5 dias úteis", Duration(days=5)),
        ("3 business days", Duration(days=3)),
        ("12 horas", Duration(time=timedelta(hours=12))),
    ],
)
def test_calendar_and_business_duration_forms(text: str, expected: Duration) -> None:
    assert Duration.parse(text) == expected
    assert Duration.parse(str(expected)) == expected  # the compact form reads back


@pytest.mark.parametrize(
    "text", ["10 dias úteis corridos", "10dc5h", "5d 5d", "10 semanas", "corridos", "12hcc"]
)
def test_duration_mistakes(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        Duration.parse(text)


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("sla:\n  targets:\n    3:\n      resolution: 10 dias corridos e meio\n", 4, 7,
         "'10 dias corridos e meio' is not a duration"),
        ("timers:\n  resolved: {close_after: 10dc5h}\n", 2, 14, "'10dc5h' is not a duration"),
        ("business_hours:\n  mon: '08:00-24:30'\n", 2, 3, "24:00 closes at midnight"),
        ("business_hours:\n  mon: '20:00-24:00, 23:00-23:30'\n", 2, 3, "overlap"),
    ],
)  # fmt: skip
def test_new_duration_mistakes_point_at_the_line(
    tmp_path: Path, text: str, line: int, col: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourceFileError) as caught:
        load_policy(path, SP)
    [problem] = caught.value.problems
    assert (problem.path, problem.line, problem.column) == (path, line, col), problem
    assert message in problem.message


def test_null_switches_a_target_or_timer_off_and_absence_keeps_the_default(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, """\
sla:
  targets:
    3: {first_response: 12hc, next_response: null}
  overrides:
    - {category: question, targets: {3: {resolution: null}}}
timers:
  waiting_customer: {reminder_after: null, resolve_after: 10 dias corridos}
""")  # fmt: skip
    policy = load_policy(path, SP)
    normal = policy.targets_for(Priority.NORMAL, "problem", None)
    assert normal.first_response == Duration(time=timedelta(hours=12), basis=TimeBasis.CALENDAR)
    assert normal.next_response is None
    assert normal.resolution == Duration(days=3)  # left out: the seeds' default
    question = policy.targets_for(Priority.NORMAL, "question", None)
    assert question.resolution is None and question.first_response == normal.first_response
    assert policy.reminder_after is None
    assert policy.resolve_after == Duration(days=10, basis=TimeBasis.CALENDAR)
    assert policy.close_after == Duration(days=5)


def test_24_00_closes_at_midnight(tmp_path: Path) -> None:
    path = write(tmp_path, "business_hours: {mon: '00:00-24:00', tue: '18:00-24:00'}\n")
    policy = load_policy(path, SP)
    assert policy.calendar.hours[0] == ((time(0), time(0)),)
    assert policy.calendar.window(date(2026, 12, 7)) == (
        datetime(2026, 12, 7, tzinfo=SP).astimezone(UTC),
        datetime(2026, 12, 8, tzinfo=SP).astimezone(UTC),
    )
