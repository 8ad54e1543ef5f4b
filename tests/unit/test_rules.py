"""The triage rules: every operator and action, combinators, order, stop, and the
`file:line:column: message (hint)` answer to every kind of mistake."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import (
    Agent,
    Contact,
    Directory,
    Organization,
    Priority,
    Queue,
    TriageInput,
    TriageOutcome,
)
from rules.engine import Occasion, RuleSet
from rules.loader import Vocabulary, load_rules
from rules.patterns import compile_pattern
from rules.sourcefile import SourceFileError

ZONE = ZoneInfo("America/Sao_Paulo")
MARIA = Contact("maria@alfa.edu.br", "Maria Souza", can_open_tickets=True)
DIRECTORY = Directory(
    queues=(Queue("n1", "N1"), Queue("n2", "N2"), Queue("produto", "Produto")),
    agents=(Agent("ana@example.com", "Ana", ("n1",)),),
    organizations=(Organization("alfa", "Escola Alfa", ("alfa.edu.br",), (MARIA,)),),
)
VOCABULARY = Vocabulary.of(
    DIRECTORY, {"reply_with": {"acknowledgement"}, "reject": {"rejection"}}
)
MAIL = TriageInput(
    sender="maria@alfa.edu.br",
    sender_name="Maria Souza",
    organization="alfa",
    contact=MARIA,
    is_agent=False,
    recipients=("suporte@example.com",),
    subject="Erro ao emitir boletos",
    body="O sistema mostra erro 500 quando emito boletos em produção.",
    headers=(("X-Priority", "1 (Highest)"), ("X-Mailer", "Microsoft Outlook 16.0")),
    attachments=(("tela.png", "image/png"), ("log.txt", "text/plain")),
    is_new=True,
    local_time=datetime(2026, 11, 23, 10, 30, tzinfo=ZONE),  # a Monday
    in_business_hours=True,
)


def ruleset(tmp_path: Path, *files: str) -> RuleSet:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    for n, text in enumerate(files):
        (folder / f"{n:02d}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_rules(folder, VOCABULARY)


def outcome(
    tmp_path: Path, when: str, then: str = "priority: 1", **changes: object
) -> TriageOutcome:
    rules = ruleset(tmp_path, f"- name: r\n  when: {when}\n  then: {{{then}}}\n")
    return rules.evaluate(replace(MAIL, **changes))  # type: ignore[arg-type]


def matched(tmp_path: Path, when: str, **changes: object) -> bool:
    return bool(outcome(tmp_path, when, **changes).matches)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("{sender: MARIA@alfa.edu.br}", True),  # equality ignores case
        ("{sender: [x@y.z, maria@alfa.edu.br]}", True),  # a list is any-of
        ("{sender_domain: {ends_with: edu.br}}", True),
        ("{sender_name: {starts_with: maria}}", True),
        ("{organization: alfa}", True),
        ("{organization: beta}", False),
        ("{recipient: suporte@example.com}", True),
        ("{subject: {contains: BOLETOS}}", True),
        ("{subject: {contains: [nota, fatura]}}", False),
        ("{body: {regex: 'erro \\d{3}'}}", True),
        ("{body: {regex: '^erro'}}", False),
        ("{header: {X-Priority: {starts_with: '1'}}}", True),
        ("{header: {List-Id: {present: true}}}", False),
        ("{header: {List-Id: {present: false}}}", True),
        ("{contact: {can_open_tickets: true}}", True),
        ("{contact: {name: {contains: souza}}}", True),
        ("{contact: {known: true}}", True),
        ("{attachment: true}", True),
        ("{attachment: {type: {starts_with: image/}}}", True),
        ("{attachment: {name: {ends_with: .pdf}}}", False),
        ("{is_new: true}", True),
        ("{is_new: false}", False),
        ("{business_hours: true}", True),
        ("{from_agent: true}", False),
        ("{time: {between: '08:00-12:00', weekdays: [mon, tue]}}", True),
        ("{time: {between: '18:00-08:00'}}", False),  # a window across midnight
        ("{time: {between: '08:00-12:00', weekdays: [sat, sun]}}", False),
        ("{any: [{subject: {contains: nota}}, {body: {contains: boletos}}]}", True),
        ("{all: [{subject: {contains: erro}}, {body: {contains: fatura}}]}", False),
        ("{not: {subject: {contains: urgente}}}", True),
        ("{subject: {contains: erro}, organization: beta}", False),  # keys are all-of
        ("{}", True),  # no condition: always
    ],
)
def test_each_condition(tmp_path: Path, when: str, expected: bool) -> None:
    assert matched(tmp_path, when) is expected


def test_a_night_window_matches_late_at_night(tmp_path: Path) -> None:
    late = datetime(2026, 11, 23, 22, 15, tzinfo=ZONE)
    assert matched(tmp_path, "{time: {between: '18:00-08:00'}}", local_time=late)


def test_every_action_and_the_audit_of_who_set_what(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        - name: classify
          when: {subject: {contains: erro}}
          then:
            category: problem
            priority: 2
            queue: n2
            environment: staging
            tags: [boletos]
            assignee: ana@example.com
            followers: [maria@alfa.edu.br]
            reply_with: acknowledgement
        - name: escalate
          when: {body: {contains: produção}}
          then: {priority: 0, tags: [incidente], environment: production}
        """,
    )
    result = rules.evaluate(MAIL)
    assert result.triage.category == "problem"
    assert result.triage.priority is Priority.CRITICAL  # the later rule wins
    assert result.triage.queue == "n2"
    assert result.triage.environment == "production"
    assert result.triage.tags == ("boletos", "incidente")  # tags accumulate
    assert result.assignee == "ana@example.com"
    assert result.followers == ("maria@alfa.edu.br",)
    assert result.reply_with == "acknowledgement"
    assert [m.name for m in result.matches] == ["classify", "escalate"]
    assert dict(result.set_by)["priority"] == "escalate"
    assert dict(result.set_by)["queue"] == "classify"
    assert result.matches[0].file == "00.yaml" and result.matches[0].line == 2
    assert "subject contains 'erro'" in result.matches[0].why[0]


def test_stop_ends_evaluation_and_files_run_in_name_order(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        "- {name: first, when: {}, then: {priority: 2}, stop: true}\n",
        "- {name: never, when: {}, then: {priority: 0}}\n",
    )
    result = rules.evaluate(MAIL)
    assert [m.name for m in result.matches] == ["first"]
    assert result.triage.priority is Priority.MEDIUM


def test_reject_and_ignore_actions(tmp_path: Path) -> None:
    assert outcome(tmp_path, "{}", "reject: rejection").reject_with == "rejection"
    assert outcome(tmp_path, "{}", "ignore: true").ignore


def test_defaults_when_nothing_matches(tmp_path: Path) -> None:
    result = outcome(tmp_path, "{organization: beta}")
    assert result.matches == ()
    assert result.triage.queue == "n1"  # the front desk: first queue in the directory
    assert result.triage.priority is Priority.NORMAL
    assert result.triage.category == "question"
    assert result.triage.environment == "production"


def test_documents_and_single_rule_documents(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        "name: one\nwhen: {}\nthen: {tags: [a]}\n---\n- {name: two, when: {}, then: {tags: [b]}}\n",
    )
    assert [r.name for r in rules.rules] == ["one", "two"]


def test_disabled_rules_are_skipped(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, "- {name: paused, enabled: false, when: {}, then: {priority: 0}}\n")
    assert rules.rules == ()


def test_the_rule_set_version_changes_with_any_edit(tmp_path: Path) -> None:
    first = ruleset(tmp_path, "- {name: a, when: {}, then: {priority: 1}}\n")
    second = ruleset(tmp_path, "- {name: a, when: {}, then: {priority: 2}}\n")
    assert first.version != second.version
    assert first.rules[0].version != second.rules[0].version


@pytest.mark.parametrize(
    ("text", "line", "column", "needle"),
    [
        (
            "- name: a\n  when: {subjetc: x}\n  then: {priority: 1}\n",
            2,
            10,
            "did you mean 'subject'",
        ),
        ("- name: a\n  when: {}\n  then: {priority: 7}\n", 3, 10, "priority must be 0, 1, 2 or 3"),
        ("- name: a\n  when: {}\n  then: {queue: n9}\n", 3, 10, "unknown queue in directory.yaml"),
        ("- name: a\n  when: {}\n  then: {assignee: bob@x.com}\n", 3, 10, "unknown agent"),
        ("- name: a\n  when: {}\n  then: {reply_with: nope}\n", 3, 10, "unknown template"),
        ("- name: a\n  when: {}\n  then: {category: bug}\n", 3, 10, "unknown category 'bug'"),
        ("- name: a\n  when: {}\n  then: {followers: [x@y.z]}\n", 3, 22, "not a contact"),
        ("- name: a\n  when: {}\n  then: {followers: [ana@example.com]}\n", 3, 22, "not a contact"),
        ("- name: a\n  when: {}\n  then: {reject: acknowledgement}\n", 3, 10, "unknown template"),
        ("- name: a\n  when: {body: {regex: '(a+)+$'}}\n  then: {}\n", 2, 17, "backtrack"),
        ("- name: a\n  when: {body: {regex: '[a-'}}\n  then: {}\n", 2, 17, "invalid regex"),
        ("- name: a\n  when: {body: {like: x}}\n  then: {}\n", 2, 17, "unknown operator 'like'"),
        (
            "- name: a\n  when: {}\n  then: {priority: 1}\n  stpo: true\n",
            4,
            3,
            "did you mean 'stop'",
        ),
        ("- name: a\n  when: {}\n", 1, 3, "has no 'then'"),
        ("- when: {}\n  then: {}\n", 1, 3, "needs a name"),
        ("- name: a\n  when: {time: {between: '25:00-08:00'}}\n  then: {}\n", 2, 17, "time window"),
        ("- name: a\n  when: {is_new: sim}\n  then: {}\n", 2, 10, "expected true or false"),
        ("- name: a\n  when: {subject: x\n  then: {}\n", 3, 7, "YAML syntax error"),
        ("- name: a\n  on: [nuevo]\n  when: {}\n  then: {}\n", 2, 8, "got 'nuevo'"),
        ("- name: a\n  on: [new, updates]\n  then: {}\n", 2, 13, "did you mean 'update'"),
        ("- name: a\n  on: always\n  then: {}\n", 2, 3, "'on' takes new or update"),
        ("- name: a\n  on: [new, 1]\n  then: {}\n", 2, 13, "one of: new, update"),
        ("- name: a\n  on: []\n  then: {}\n", 2, 3, "'on' needs new, update or both"),
        ("- name: a\n  on:\n  then: {}\n", 2, 3, "'on' needs new, update or both"),
        ("- name: a\n  On: [new]\n  then: {}\n", 2, 3, "did you mean 'on'"),
        (
            "- name: a\n  when: {}\n  then: {}\n- name: a\n  when: {}\n  then: {}\n",
            4,
            1,
            "already used",
        ),
    ],
)
def test_mistakes_point_at_file_line_and_column(
    tmp_path: Path, text: str, line: int, column: int, needle: str
) -> None:
    with pytest.raises(SourceFileError) as exc:
        ruleset(tmp_path, text)
    found = [p for p in exc.value.problems if needle in p.message]
    assert found, [str(p) for p in exc.value.problems]
    problem = found[0]
    assert problem.path == tmp_path / "rules" / "00.yaml"
    assert (problem.line, problem.column) == (line, column), str(problem)


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError) as exc:
        ruleset(
            tmp_path,
            "- {name: a, when: {subjetc: x}, then: {priority: 9}}\n",
            "- {name: b, when: {}, then: {queue: nowhere}}\n",
        )
    text = str(exc.value)
    assert "00.yaml:1:" in text and "01.yaml:1:" in text
    assert len(exc.value.problems) == 3


def test_a_regex_runs_on_bounded_text(tmp_path: Path) -> None:
    huge = "x" * 1_000_000 + " erro 500"
    assert not matched(tmp_path, "{body: {regex: 'erro \\d+'}}", body=huge)


def test_a_runaway_regex_is_cut_off_by_the_time_limit_and_counts_as_no_match(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The loader refuses this shape; the engine's time limit is the second guard.
    pattern = compile_pattern(r"(\w+\s?)+$")
    assert pattern.find("word " * 2000 + "!") is None
    assert "ran out of time" in caplog.text
    assert compile_pattern(r"erro \d+").find("deu erro 500 hoje") == "erro 500"


# --- `on:`: which mail a rule runs on ----------------------------------------------------

UPDATE = replace(MAIL, is_new=False)


def test_on_is_read_as_the_word_and_defaults_to_new_mail_only(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        - {name: default, when: {}, then: {tags: [a]}}
        - {name: replies, on: [update], when: {}, then: {tags: [b]}}
        - {name: both, on: [new, update], when: {}, then: {tags: [c]}}
        - {name: one word, on: update, when: {}, then: {tags: [d]}}
        """,
    )
    assert [sorted(r.runs_on) for r in rules.rules] == [
        [Occasion.NEW],
        [Occasion.UPDATE],
        [Occasion.NEW, Occasion.UPDATE],
        [Occasion.UPDATE],
    ]


def test_new_mail_runs_only_new_rules_and_an_update_only_update_rules(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        - {name: triage, when: {}, then: {priority: 1, tags: [novo]}}
        - {name: replies, on: [update], when: {}, then: {priority: 0, tags: [resposta]}}
        - {name: always, on: [new, update], when: {}, then: {tags: [sempre]}}
        """,
    )
    new = rules.evaluate(MAIL)
    assert [m.name for m in new.matches] == ["triage", "always"]
    assert new.triage.priority is Priority.HIGH and new.triage.tags == ("novo", "sempre")
    update = rules.evaluate(UPDATE)
    assert [m.name for m in update.matches] == ["replies", "always"]
    assert update.triage.priority is Priority.CRITICAL
    assert dict(update.set_by) == {"priority": "replies", "tags": "always"}


def test_a_rule_that_does_not_run_cannot_stop_the_others(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        - {name: first, when: {}, then: {priority: 2}, stop: true}
        - {name: replies, on: [update], when: {}, then: {queue: n2}}
        """,
    )
    assert [m.name for m in rules.evaluate(UPDATE).matches] == ["replies"]


@pytest.mark.parametrize("action", ["reject: rejection", "ignore: true"])
def test_reject_and_ignore_respect_on_too(tmp_path: Path, action: str) -> None:
    rules = ruleset(tmp_path, f"- {{name: r, when: {{}}, then: {{{action}}}}}\n")
    assert not rules.evaluate(UPDATE).reject_with and not rules.evaluate(UPDATE).ignore
    found = rules.evaluate(MAIL)
    assert found.reject_with == "rejection" or found.ignore
    on_update = ruleset(tmp_path, f"- {{name: r, on: [update], when: {{}}, then: {{{action}}}}}\n")
    assert not on_update.evaluate(MAIL).matches and on_update.evaluate(UPDATE).matches


def test_held_back_names_the_rules_that_match_but_do_not_run(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        - {name: triage, when: {subject: {contains: erro}}, then: {priority: 1}}
        - {name: other, when: {subject: {contains: nota}}, then: {priority: 2}}
        - {name: replies, on: [update], when: {}, then: {queue: n2}}
        """,
    )
    assert [r.name for r in rules.held_back(UPDATE)] == ["triage"]
    assert [r.name for r in rules.held_back(MAIL)] == ["replies"]


def test_on_is_part_of_the_rule_version(tmp_path: Path) -> None:
    first = ruleset(tmp_path, "- {name: a, when: {}, then: {priority: 1}}\n")
    second = ruleset(tmp_path, "- {name: a, on: [new, update], when: {}, then: {priority: 1}}\n")
    assert first.rules[0].version != second.rules[0].version
