"""Agent commands read off a mail, purely: `#due` dates in both formats and the ticket's
zone, `#outcome` words, `#take`, and `#queue ID keep`; a bad value is an error line."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import Agent, Directory, Queue, TicketChanges
from gateway.domain.calendar import BusinessCalendar
from gateway.domain.commands import CommandTerms, read_commands
from gateway.domain.policy import ResolutionOutcome

SP = ZoneInfo("America/Sao_Paulo")
ANA = "ana@example.com"
DIRECTORY = Directory(
    queues=(Queue("n1", "Nível 1"), Queue("n2", "Nível 2")),
    agents=(Agent(ANA, "Ana", ("n1",)),),
)
# Mon–Thu 08:00–18:00 with lunch, Friday until 17:00; Christmas off.
CALENDAR = BusinessCalendar(
    zone=SP,
    hours={
        **{day: ((time(8), time(12)), (time(13), time(18))) for day in range(4)},
        4: ((time(8), time(17)),),
    },
    is_holiday=lambda day: day == date(2026, 12, 25),
)
NOW = datetime(2026, 12, 7, 10, tzinfo=SP)  # a Monday
TERMS = CommandTerms(CALENDAR, NOW)


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)  # type: ignore[misc]


def read(text: str, terms: CommandTerms = TERMS) -> tuple[TicketChanges, tuple[str, ...], str]:
    sheet = read_commands(text, DIRECTORY, ANA, terms)
    return sheet.changes, sheet.errors, sheet.text


# --- #due / #prazo --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "due"),
    [
        ("#prazo 10/12/2026 17:00", sp(2026, 12, 10, 17)),  # dd/mm/aaaa hh:mm, the ticket's zone
        ("#prazo 10/12/2026 17h", sp(2026, 12, 10, 17)),
        ("#prazo 9/12/2026 8h30", sp(2026, 12, 9, 8, 30)),
        ("#due 2026-12-10T17:00", sp(2026, 12, 10, 17)),  # ISO 8601, the ticket's zone
        ("#due 2026-12-10 17:00", sp(2026, 12, 10, 17)),
        ("#due 2026-12-10T20:00Z", sp(2026, 12, 10, 17)),  # an offset written is kept
        ("#due 2026-12-10T17:00:00-03:00", sp(2026, 12, 10, 17)),
        # A date alone is the end of that business day in the policy's hours ...
        ("#prazo 10/12/2026", sp(2026, 12, 10, 18)),
        ("#due 2026-12-11", sp(2026, 12, 11, 17)),  # Friday closes at 17:00
        # ... or 18:00 on a day nobody works.
        ("#prazo 12/12/2026", sp(2026, 12, 12, 18)),  # Saturday
        ("#prazo 25/12/2026", sp(2026, 12, 25, 18)),  # a holiday
    ],
)
def test_due_dates_in_both_formats_read_in_the_tickets_zone(line: str, due: datetime) -> None:
    changes, errors, text = read(f"{line}\n\nVamos corrigir até lá.")
    assert errors == ()
    assert changes.due_at == due
    assert text == "Vamos corrigir até lá."


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("#prazo amanhã", "is not a date"),
        ("#prazo 31/02/2026", "is not a date"),  # no such day
        ("#prazo 10/12/26", "is not a date"),  # a two-digit year is ambiguous
        ("#prazo 10/12/2026 25:00", "is not a date"),
        ("#prazo 12/10/2026 às 17", "is not a date"),
        ("#due 2026-13-01", "is not a date"),
        ("#due 2026-12-10T17", "is not a date"),
        ("#prazo", "is not a date"),
        ("#prazo 07/12/2026 09:00", "already past"),  # before the mail's instant
        ("#due 2025-12-10", "already past"),
    ],
)
def test_a_bad_due_date_is_an_error_and_changes_nothing(line: str, error: str) -> None:
    changes, errors, _ = read(f"{line}\n#prioridade 1\n\nTexto.")
    assert changes.due_at is None
    [message] = errors
    assert message.startswith(line) and error in message


def test_the_zone_is_the_calendars() -> None:
    tokyo = BusinessCalendar(zone=ZoneInfo("Asia/Tokyo"))
    changes, _, _ = read("#due 2026-12-10T17:00", CommandTerms(tokyo, NOW))
    assert changes.due_at == datetime(2026, 12, 10, 8, tzinfo=UTC)


# --- #outcome / #desfecho --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "outcome"),
    [
        ("corrigido", "fixed"),
        ("fixed", "fixed"),
        ("roadmap", "roadmap"),
        ("nao_reproduzido", "cannot_reproduce"),
        ("não_reproduzido", "cannot_reproduce"),
        ("Cannot-Reproduce", "cannot_reproduce"),
        ("terceiro", "third_party"),
        ("third_party", "third_party"),
    ],
)
def test_outcome_words_in_portuguese_and_english(word: str, outcome: str) -> None:
    for command in ("#desfecho", "#outcome"):
        changes, errors, _ = read(f"{command} {word}")
        assert (changes.outcome, errors) == (outcome, ())


def test_an_unknown_outcome_lists_the_words() -> None:
    changes, [error], _ = read("#desfecho resolvido_sozinho")
    assert changes.outcome is None
    assert "unknown outcome 'resolvido_sozinho'" in error and "corrigido" in error


def test_outcomes_come_from_the_policy() -> None:
    workaround = ResolutionOutcome("workaround", ("contorno",), {"pt_BR": "Desfecho: contorno."})
    terms = CommandTerms(CALENDAR, NOW, (workaround,))
    assert read("#desfecho contorno", terms)[0].outcome == "workaround"
    assert read("#desfecho roadmap", terms)[1] != ()
    [error] = read("#desfecho roadmap", CommandTerms(CALENDAR, NOW, ()))[1]
    assert "no outcomes are configured" in error


# --- #take, #queue … keep --------------------------------------------------------------------


def test_take_has_no_value() -> None:
    for line in ("#assumir", "#take"):
        changes, errors, _ = read(f"{line}\n\nPode deixar comigo.")
        assert changes.take and errors == ()
    changes, [error], _ = read("#take bruno@example.com")
    assert "takes no value" in error
    assert not read("#prioridade 2")[0].take


@pytest.mark.parametrize(
    ("line", "queue", "keep"),
    [
        ("#fila n2", "n2", False),
        ("#fila n2 manter", "n2", True),
        ("#queue N2 keep", "n2", True),
        ("#queue n2   KEEP", "n2", True),
    ],
)
def test_queue_may_keep_the_assignee(line: str, queue: str, keep: bool) -> None:
    changes, errors, _ = read(line)
    assert (changes.queue, changes.keep_assignee, errors) == (queue, keep, ())


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("#fila n2 talvez", "only 'keep' or 'manter'"),
        ("#fila n9 manter", "no queue 'n9'"),
        ("#fila", "no queue ''"),
    ],
)
def test_a_bad_queue_word_is_an_error(line: str, error: str) -> None:
    changes, [message], _ = read(line)
    assert changes.queue is None and not changes.keep_assignee and error in message


def test_commands_combine_in_one_mail() -> None:
    changes, errors, text = read(
        "#status resolvido\n#desfecho roadmap\n#prazo 10/12/2026 17:00\n#fila n2 manter\n\nOi"
    )
    assert errors == () and text == "Oi"
    assert (changes.outcome, changes.due_at, changes.queue) == (
        "roadmap", sp(2026, 12, 10, 17), "n2"
    )  # fmt: skip
    assert changes.keep_assignee and changes.status is not None
