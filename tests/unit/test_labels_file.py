"""labels.yaml (issue 11): the admin's names laid over the built-in table, read by
`Words`; customers and agents read their own status words; every mistake is a
`file:line:column` problem; a broken edit is refused on reload and the old table stays."""

from __future__ import annotations

import os
import time as wall
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config.labels_file import load_labels, watch_labels
from gateway.domain import Directory, Priority, Queue, TicketRecord, TicketRef, TicketStatus
from gateway.domain.labels import LabelKind
from gateway.mail.contexts import TicketFacts
from gateway.mail.labels import BUILTIN_LABELS, Words
from rules.sourcefile import SourceFileError

SP = ZoneInfo("America/Sao_Paulo")
QUEUES = ("n1", "n2")
LABELS = """\
pt_BR:
  status:
    waiting_customer: "aguardando sua resposta"
  agent_status: {waiting_customer: "cliente precisa responder"}
  priority: {0: urgente}
  category: {question: "pergunta"}
  environment: {staging: teste}
  queue: {n1: "Atendimento"}
en:
  status: {open: "being worked on"}
"""
AT = datetime(2026, 12, 7, 12, tzinfo=UTC)
TICKET = TicketRecord(
    ref=TicketRef(42), subject="Boletos", status=TicketStatus.WAITING_CUSTOMER,
    priority=Priority.NORMAL, category="question", environment="staging", queue="n1",
    requester="maria@alfa.edu.br", requester_name="Maria", organization="alfa",
    assignee="ana@example.com", tags=(), followers=(), created_at=AT, updated_at=AT,
    first_response_due=None, resolution_due=AT, next_response_due=None, status_since=AT,
    first_responded_at=AT, awaiting_since=None, paused_at=None, paused=timedelta(0),
    linked_from=None, due_at=None, outcome=None,
)  # fmt: skip
DIRECTORY = Directory(queues=(Queue("n1", "Suporte Nível 1"),), agents=(), organizations=())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labels.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SourceFileError) as caught:
        load_labels(path, BUILTIN_LABELS, QUEUES)
    return [str(p) for p in caught.value.problems]


def test_the_admins_labels_are_laid_over_the_built_in_ones(tmp_path: Path) -> None:
    table = load_labels(write(tmp_path, LABELS), BUILTIN_LABELS, QUEUES)
    pt, en = Words("pt_BR", SP, table), Words("en", SP, table)
    assert pt.status("waiting_customer") == "aguardando sua resposta"
    assert pt.agent_status("waiting_customer") == "cliente precisa responder"
    assert pt.priority(Priority.CRITICAL) == "urgente"
    assert pt.category("question") == "pergunta"
    assert pt.environment("staging") == "teste"
    queues = Directory(queues=(Queue("n1", "Suporte Nível 1"), Queue("n2", "Suporte Nível 2")))
    assert pt.queue_in(queues, "n1") == "Atendimento"
    # What the file leaves out keeps its built-in label, or directory.yaml's name.
    assert pt.status("resolved") == "resolvido"
    assert pt.priority(Priority.NORMAL) == "normal"
    assert pt.queue_in(queues, "n2") == "Suporte Nível 2"
    assert en.status("open") == "being worked on"
    assert en.status("waiting_customer") == "waiting for your answer"


def test_a_missing_file_is_the_built_in_table(tmp_path: Path) -> None:
    assert load_labels(tmp_path / "labels.yaml", BUILTIN_LABELS, QUEUES) == BUILTIN_LABELS
    assert load_labels(write(tmp_path, ""), BUILTIN_LABELS, QUEUES) == BUILTIN_LABELS


def test_agents_and_customers_read_their_own_status_words() -> None:
    pt, en = Words("pt_BR", SP), Words("en", SP)
    assert pt.status("waiting_customer") == "aguardando o seu retorno"
    assert pt.agent_status("waiting_customer") == "aguardando cliente"
    assert en.agent_status("waiting_customer") == "waiting on customer"
    assert BUILTIN_LABELS.ids("pt_BR", LabelKind.AGENT_STATUS) == BUILTIN_LABELS.ids(
        "pt_BR", LabelKind.STATUS
    )


def test_the_agents_facts_use_agent_words_labels_and_name_a_switched_off_target() -> None:
    facts = TicketFacts.of(TICKET, DIRECTORY, Words("pt_BR", SP))
    assert facts.status == "aguardando cliente"
    assert facts.first_response_due == "sem prazo"  # `first_response: null` in policy.yaml
    assert facts.resolution_due == "07/12/2026 09:00 (BRT)"
    assert facts.queue == "Suporte Nível 1" and facts.queue_id == "n1"
    assert TicketFacts.of(TICKET, DIRECTORY, Words("en", SP)).first_response_due == "no target"
    no_queue = TicketFacts.of(replace(TICKET, queue=None), DIRECTORY, Words("pt_BR", SP))
    assert no_queue.queue == "—"


def test_the_agents_facts_read_the_admins_table(tmp_path: Path) -> None:
    table = load_labels(write(tmp_path, LABELS), BUILTIN_LABELS, QUEUES)
    facts = TicketFacts.of(TICKET, DIRECTORY, Words("pt_BR", SP, table))
    assert facts.status == "cliente precisa responder"
    assert facts.queue == "Atendimento"
    assert facts.category == "pergunta" and facts.environment == "teste"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pt-BR:\n  status: {open: x}\n", ":1:1: unknown locale 'pt-BR' (use pt_BR or en)"),
        ("pt_BR:\n  statuses: {open: x}\n", ":2:3: unknown kind 'statuses' (use queue, status,"),
        ("pt_BR:\n  status:\n    waiting: x\n", ":3:5: unknown status 'waiting' (known: closed,"),
        ("en:\n  priority: {4: urgent}\n", ":2:14: unknown priority '4' (known: 0, 1, 2, 3)"),
        ("en:\n  queue: {n9: Other}\n", ":2:11: unknown queue 'n9' (known: n1, n2)"),
        (
            "pt_BR:\n  status:\n    open: [em, andamento]\n",
            ":3:5: the label of status 'open' must be text in quotes, not list",
        ),
        (
            "pt_BR:\n  status:\n    open:\n",
            ":3:5: the label of status 'open' must be text in quotes, not nothing",
        ),
        ("pt_BR:\n  category: {question: '  '}\n", ":2:14: the label of category 'question' is"),
        ("pt_BR: [status]\n", ":1:1: pt_BR must be a mapping (key: value lines), not list"),
        ("pt_BR:\n  status: {open: x\n", ":3:1: YAML syntax error"),
    ],
)
def test_each_mistake_is_reported_at_its_line_and_column(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    [problem] = problems(path)
    assert problem.startswith(f"{path}{expected}"), problem


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "pt_BR:\n  status: {nuevo: x}\n  agent_status: {open: 3}\nfr: {}\n")
    assert [p.split(": ", 1)[0] for p in problems(path)] == [
        f"{path}:2:12",
        f"{path}:3:18",
        f"{path}:4:1",
    ]


def test_queue_ids_are_not_checked_without_a_directory(tmp_path: Path) -> None:
    table = load_labels(write(tmp_path, "pt_BR: {queue: {n9: Outra}}\n"), BUILTIN_LABELS)
    assert Words("pt_BR", SP, table).queue_in(Directory(), "n9") == "Outra"


def settle(path: Path) -> None:
    """Date the file back so the watcher sees a settled edit (editors save in steps)."""
    past = wall.time() - 5 - len(path.read_text())
    os.utime(path, (past, past))


def test_a_broken_edit_is_refused_and_the_previous_table_stays(tmp_path: Path) -> None:
    path = write(tmp_path, LABELS)
    settle(path)
    directory_path = tmp_path / "directory.yaml"
    refused: list[str] = []
    watched = watch_labels(
        path,
        BUILTIN_LABELS,
        directory_path,
        lambda: DIRECTORY,
        lambda name, exc: refused.append(f"{name}: {exc}"),
    )
    assert Words("pt_BR", SP, watched()).status("waiting_customer") == "aguardando sua resposta"
    path.write_text("pt_BR:\n  status: {waiting_customer: 'falta você'}\n", encoding="utf-8")
    settle(path)
    assert Words("pt_BR", SP, watched()).status("waiting_customer") == "falta você"
    path.write_text("pt_BR:\n  status: {waiting_customer: [x]}\n", encoding="utf-8")
    settle(path)
    assert Words("pt_BR", SP, watched()).status("waiting_customer") == "falta você"
    assert refused == [
        f"labels.yaml: {path}:2:12: the label of status 'waiting_customer' must be text in "
        "quotes, not list"
    ]


def test_a_broken_file_at_start_up_stops_start_up(tmp_path: Path) -> None:
    path = write(tmp_path, "pt_BR: {status: {nope: x}}\n")
    with pytest.raises(SourceFileError, match=r"labels.yaml:1:18: unknown status 'nope'"):
        watch_labels(path, BUILTIN_LABELS, tmp_path / "directory.yaml", lambda: DIRECTORY)


def test_what_happens_next_names_the_status_in_the_admins_words(tmp_path: Path) -> None:
    deadline = datetime(2026, 12, 14, 12, tzinfo=UTC)
    builtin = Words("pt_BR", SP)
    assert builtin.next_step("open", None, None) == "em atendimento."
    assert builtin.next_step("waiting_third_party", None, None) == (
        "aguardando terceiros; avisaremos assim que houver novidade."
    )
    table = load_labels(write(tmp_path, LABELS), BUILTIN_LABELS, QUEUES)
    told = Words("pt_BR", SP, table).next_step("waiting_customer", deadline, None)
    assert told.startswith("aguardando sua resposta; sem resposta até 14/12/2026 09:00 (BRT)")
    assert Words("en", SP, table).next_step("open", None, None) == "being worked on."
