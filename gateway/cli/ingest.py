"""`ticketgate ingest`: files, Maildirs, mbox or stdin through the same pipeline as SMTP.

Also the MTA's pipe transport: a failure to store, or a config it cannot use
(which would keep `serve` from starting), exits 75 (EX_TEMPFAIL) so the MTA
keeps the mail and retries instead of bouncing it; what was already committed
is a duplicate on the retry, never a second ticket.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from gateway.cli.sources import MessageSource, open_sources
from gateway.domain import Envelope
from gateway.intake.use_case import MAX_BATCH, Receipt

# sysexits.h: Postfix pipe(8) and other MTAs keep the mail queued and retry on this code.
EX_TEMPFAIL = 75
log = logging.getLogger(__name__)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message.")
@click.option("--recipient", multiple=True, help="Envelope recipient (as an MTA pipe passes).")
@click.option("--sender", default=None, help="Envelope sender (as an MTA pipe passes).")
@click.pass_obj
def ingest(
    obj: Any,
    paths: tuple[Path, ...],
    as_json: bool,
    recipient: tuple[str, ...],
    sender: str | None,
) -> None:
    """Run .eml files, Maildirs or mbox files (or - for stdin) through the pipeline."""
    try:
        gateway = obj.gateway()
    except SQLAlchemyError as exc:  # the store is down: keep the mail queued
        _give_back(f"the store cannot be opened ({_first_line(exc)})")
    except OSError as exc:  # the data folder or the secret file is out of the user's reach
        _give_back(f"a file it needs cannot be used ({_first_line(exc)})")
    except click.ClickException as exc:  # as `serve` would not start: held, never bounced
        _give_back(f"the configuration cannot be used: {exc.message}")
    envelope = Envelope(mail_from=sender, rcpt_tos=recipient) if recipient or sender else None
    sources = open_sources(paths or (Path("-"),))
    total = sum(source.count for source in sources)
    counts: dict[str, int] = {}
    with tqdm(total=total, unit="msg", desc="ingest", disable=None, file=sys.stderr) as bar:

        def report(source: MessageSource, receipt: Receipt) -> None:
            counts[receipt.outcome.value] = counts.get(receipt.outcome.value, 0) + 1
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "message_id": receipt.message_id,
                            "outcome": receipt.outcome.value,
                            "ticket": str(receipt.ticket) if receipt.ticket else None,
                        }
                    )
                )
            else:
                bar.write(
                    f"{source.label}: {receipt.outcome.value}"
                    + (f" {receipt.ticket}" if receipt.ticket else "")
                )
            bar.update(1)

        for batch in batches(each_message(sources)):
            results = gateway.intake.receive_group([raw for _, raw in batch], envelope, "ingest")
            failed: tuple[MessageSource, Exception] | None = None
            for (source, _), result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    failed = failed or (source, result)
                else:
                    report(source, result)
            if failed is not None:  # the rest of its batch is in all the same
                log.error("%s: could not be stored", failed[0].label, exc_info=failed[1])
                gateway.close()
                _give_back(f"{failed[0].label}: not stored ({_first_line(failed[1])})")
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    click.echo(f"ingested {sum(counts.values())} message(s): {summary or 'none'}", err=True)
    gateway.close()


BATCH_BYTES = 16 * 1024 * 1024  # raw bytes held at once, whatever the batch's count


def batches(
    items: Iterator[tuple[MessageSource, bytes]], size: int = MAX_BATCH
) -> Iterator[list[tuple[MessageSource, bytes]]]:
    """`ingest`'s transactions: at most `size` messages, about BATCH_BYTES of them."""
    batch: list[tuple[MessageSource, bytes]] = []
    held = 0
    for item in items:
        batch.append(item)
        held += len(item[1])
        if len(batch) == size or held >= BATCH_BYTES:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def each_message(sources: list[MessageSource]) -> Iterator[tuple[MessageSource, bytes]]:
    for source in sources:
        for raw in source.messages():
            yield source, raw


def _give_back(what: str) -> NoReturn:
    click.echo(
        f"{what}; run ingest again once that is fixed (mail already in is not doubled). "
        f"Exit {EX_TEMPFAIL}: an MTA pipe keeps the mail and retries.",
        err=True,
    )
    sys.exit(EX_TEMPFAIL)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
