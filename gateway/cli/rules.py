"""`ticketgate rules check|test`: admins validate and dry-run their rules files.

Nothing here writes: `check` loads the rules folder against the directory and
the templates; `test` triages one message (or replays stored ones) with the
rules as they are on disk now and shows which rules matched, in order, why,
and what would be set — before the admin's edit reaches a real customer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from gateway.config.labels_file import load_labels
from gateway.config.policy_file import load_policy
from gateway.config.settings import Settings, load_directory
from gateway.domain import Directory, Outcome, TicketRef, TriageOutcome
from gateway.domain.calendar import BusinessCalendar
from gateway.domain.clock import SystemClock
from gateway.intake.steps import message_new_text, triage_input
from gateway.mail.labels import BUILTIN_LABELS
from gateway.runtime.app import checked_templates, make_templates
from inbound.mime import UnparseableMessage, parse_message
from rules.engine import Rule, RuleSet
from rules.loader import Vocabulary, load_rules, rule_files
from rules.sourcefile import Problem, SourceFileError
from storage.blobs import BlobStore
from storage.db import Database
from storage.repository import ReceiptLedger, TicketRepository

T = TypeVar("T")


@dataclass(frozen=True)
class Loaded:
    settings: Settings
    directory: Directory
    rules: RuleSet


def _load(settings: Settings) -> Loaded:
    try:
        directory = load_directory(settings.directory_path)
    except SourceFileError as exc:
        raise click.ClickException(f"{exc}\nFix the file(s) above first.") from exc
    try:
        templates = checked_templates(settings)
        names = templates.rule_templates(settings.gateway.locale)
        rules = load_rules(settings.rules_path, Vocabulary.of(directory, names))
    except SourceFileError as exc:
        click.echo("\n".join(str(p) for p in exc.problems), err=True)
        click.echo(f"{len(exc.problems)} problem(s): the rules were not loaded.", err=True)
        raise SystemExit(1) from exc
    return Loaded(settings, directory, rules)


@click.group()
def rules() -> None:
    """Validate and dry-run the triage rules."""


@rules.command("check")
@click.pass_context
def rules_check(ctx: click.Context) -> None:
    """Validate everything the gateway loads: config, directory, rules (and the templates
    they name), labels.yaml and policy.yaml; print `file:line:column: message` and exit 1
    on errors."""
    settings = ctx.obj.settings()  # a broken ticketgate.toml stops here, file:line:column
    problems, summary = check_files(settings)
    if problems:
        click.echo("\n".join(str(p) for p in problems), err=True)
        click.echo(f"{len(problems)} problem(s): the gateway would refuse these.", err=True)
        raise SystemExit(1)
    click.echo("\n".join(summary))


def check_files(settings: Settings) -> tuple[list[Problem], list[str]]:
    """Every file the gateway loads beside its config, checked as `serve` would load it: the
    problems (file:line:column) and a line per file that is valid. Shared by `rules check`
    and `doctor`."""
    problems: list[Problem] = []
    summary: list[str] = [f"{settings.source}: valid"]
    directory = _checked(problems, lambda: load_directory(settings.directory_path))
    if directory is None:
        summary.append(f"{settings.rules_path}: not checked until the directory loads")
    else:
        summary.append(f"{settings.directory_path}: valid")
        # The admin's templates (overrides and own ones) are checked too, and their names
        # are what `reply_with` may use even when one of them is broken.
        if _checked(problems, lambda: checked_templates(settings)) is not None:
            summary.append(f"{settings.templates_path}: valid")
        names = make_templates(settings).rule_templates(settings.gateway.locale)
        loaded = _checked(
            problems, lambda: load_rules(settings.rules_path, Vocabulary.of(directory, names))
        )
        if loaded is not None:
            files = rule_files(settings.rules_path)
            summary.append(
                f"{len(loaded.rules)} rule(s) in {len(files)} file(s) under "
                f"{settings.rules_path} are valid, with the templates they name "
                f"(version {loaded.version})"
            )
    # Queue ids are checked against the directory's, when it loads.
    queue_ids = [q.id for q in directory.queues] if directory is not None else None
    labels = settings.labels_path
    if _checked(problems, lambda: load_labels(labels, BUILTIN_LABELS, queue_ids)) is not None:
        summary.append(f"labels ({labels if labels.exists() else 'the built-in ones'}): valid")
    zone = ZoneInfo(settings.gateway.timezone)
    if _checked(problems, lambda: load_policy(settings.policy_path, zone)) is not None:
        where = settings.policy_path if settings.policy_path.exists() else "the seeds' defaults"
        summary.append(f"policy ({where}): valid")
    return problems, summary


def _checked(problems: list[Problem], load: Callable[[], T]) -> T | None:
    """What `load` returns, or None with its file:line:column problems added: every file
    is checked even when an earlier one is broken."""
    try:
        return load()
    except SourceFileError as exc:
        problems.extend(exc.problems)
        return None


@rules.command("test")
@click.argument("message", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--as",
    "treat_as",
    type=click.Choice(["auto", "new", "update"]),
    default="auto",
    help="Triage as a new ticket or an update (auto: an update if it names a ticket).",
)
@click.option("--at", "at", default=None, help="Pretend the mail arrives at this ISO 8601 time.")
@click.option("--replay", type=int, default=None, help="Re-triage the last N stored messages.")
@click.pass_context
def rules_test(
    ctx: click.Context,
    message: Path | None,
    as_json: bool,
    treat_as: str,
    at: str | None,
    replay: int | None,
) -> None:
    """Show which rules match MESSAGE.eml and the triage they give, changing nothing."""
    loaded = _load(ctx.obj.settings())
    zone = ZoneInfo(loaded.settings.gateway.timezone)
    try:  # the same business calendar serve uses: the policy file's
        calendar = load_policy(loaded.settings.policy_path, zone).calendar
    except SourceFileError as exc:
        raise click.ClickException(f"{exc}\nFix the file(s) above first.") from exc
    when = datetime.fromisoformat(at) if at else SystemClock().now()
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    if replay is not None:
        _replay(loaded, calendar, when, replay, as_json)
        return
    if message is None:
        raise click.UsageError("give a MESSAGE.eml, or --replay N")
    try:
        msg = parse_message(message.read_bytes())
    except UnparseableMessage as exc:
        raise click.ClickException(f"{message}: {exc}") from exc
    if msg.sender is None:
        raise click.ClickException(f"{message}: no From address; the gateway would quarantine it")
    is_new = (
        treat_as == "new"
        if treat_as != "auto"
        else not (TicketRef.find_in_subject(msg.subject) or msg.thread_ids)
    )
    text = message_new_text(msg)
    subject = triage_input(
        msg,
        text,
        loaded.directory,
        is_new=is_new,
        local_time=when.astimezone(zone),
        in_business_hours=calendar.is_open(when),
    )
    outcome = loaded.rules.evaluate(subject)
    held_back = loaded.rules.held_back(subject)
    if as_json:
        data = _outcome_json(outcome)
        data.update(rules_version=loaded.rules.version, treated_as="new" if is_new else "update")
        data["not_run"] = [_rule_json(rule) for rule in held_back]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{message}: treated as {'a new ticket' if is_new else 'an update'}, "
        f"rules version {loaded.rules.version}"
    )
    if not outcome.matches:
        click.echo("no rule matched; the defaults apply")
    for n, match in enumerate(outcome.matches, start=1):
        click.echo(f"{n}. {match.file}:{match.line}: {match.name}")
        for why in match.why:
            click.echo(f"     because {why}")
        if match.sets:
            click.echo(f"     sets {', '.join(match.sets)}")
    for rule in held_back:
        click.echo(
            f"not run: {rule.file}:{rule.line}: {rule.name} matches, "
            f"but runs on: {', '.join(_occasions(rule))}"
        )
    click.echo(_summary(outcome))


def _occasions(rule: Rule) -> list[str]:
    return sorted(o.value for o in rule.runs_on)


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {"file": rule.file, "line": rule.line, "name": rule.name, "on": _occasions(rule)}


def _outcome_json(outcome: TriageOutcome) -> dict[str, Any]:
    t = outcome.triage
    return {
        "matches": [
            {
                "file": m.file,
                "line": m.line,
                "name": m.name,
                "version": m.version,
                "why": list(m.why),
                "sets": list(m.sets),
            }
            for m in outcome.matches
        ],
        "triage": {
            "category": t.category,
            "priority": int(t.priority),
            "queue": t.queue,
            "environment": t.environment,
            "tags": list(t.tags),
        },
        "assignee": outcome.assignee,
        "followers": list(outcome.followers),
        "reply_with": outcome.reply_with,
        "reject": outcome.reject_with,
        "ignore": outcome.ignore,
    }


def _summary(outcome: TriageOutcome) -> str:
    t = outcome.triage
    parts = [
        f"category={t.category}",
        f"priority={int(t.priority)}",
        f"queue={t.queue}",
        f"environment={t.environment}",
        f"tags={','.join(t.tags) or '-'}",
    ]
    if outcome.assignee:
        parts.append(f"assignee={outcome.assignee}")
    if outcome.followers:
        parts.append(f"followers={','.join(outcome.followers)}")
    if outcome.reply_with:
        parts.append(f"reply_with={outcome.reply_with}")
    if outcome.reject_with:
        parts.append(f"reject={outcome.reject_with}")
    if outcome.ignore:
        parts.append("ignore")
    return "result: " + " ".join(parts)


def _replay(
    loaded: Loaded, calendar: BusinessCalendar, when: datetime, count: int, as_json: bool
) -> None:
    """Re-triage stored mail with the rules on disk; report what would differ."""
    db = Database.open(loaded.settings.storage_url, run_migrations=False)
    blobs = BlobStore(loaded.settings.data_dir / "blobs")
    changes: list[dict[str, Any]] = []
    with db.transaction() as session:
        ledger = ReceiptLedger(session)
        tickets = TicketRepository(session)
        for receipt in ledger.recent(count):
            if receipt.outcome not in (Outcome.CREATED, Outcome.THREADED) or not receipt.ticket:
                continue
            msg = parse_message(blobs.get(receipt.raw_sha256))
            if msg.sender is None:
                continue
            is_new = receipt.outcome is Outcome.CREATED
            outcome = loaded.rules.evaluate(
                triage_input(
                    msg,
                    message_new_text(msg),
                    loaded.directory,
                    is_new=is_new,
                    local_time=receipt.received_at.astimezone(calendar.zone),
                    in_business_hours=calendar.is_open(receipt.received_at),
                )
            )
            before = tickets.initial_triage(receipt.ticket) if is_new else {}
            after = _outcome_json(outcome)["triage"]
            diff = {
                k: {"was": before.get(k), "would_be": v}
                for k, v in after.items()
                if is_new and before.get(k) != v
            }
            changes.append(
                {
                    "message_id": receipt.message_id,
                    "ticket": str(receipt.ticket),
                    "outcome": receipt.outcome.value,
                    "treated_as": "new" if is_new else "update",
                    "changes": diff,
                    "rules": [m.name for m in outcome.matches],
                }
            )
    db.close()
    if as_json:
        click.echo(json.dumps(changes, ensure_ascii=False, indent=2))
        return
    changed = [c for c in changes if c["changes"]]
    for c in changes:
        if c["changes"]:
            detail = "; ".join(f"{k} {v['was']} → {v['would_be']}" for k, v in c["changes"].items())
            click.echo(
                f"{c['ticket']} {c['message_id']}: {detail}  (rules: {', '.join(c['rules'])})"
            )
    click.echo(f"replayed {len(changes)} message(s): {len(changed)} would be triaged differently")
