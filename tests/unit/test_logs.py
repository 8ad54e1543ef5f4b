"""Log lines: a `serve` worker's lines say which worker wrote them, in text and JSON."""

from __future__ import annotations

import io
import json
import logging

from gateway.runtime.logs import log_handler


def one_line(handler: logging.Handler, stream: io.StringIO) -> str:
    logger = logging.getLogger("tests.logs")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("outbox %s sent", 7, extra={"outbox_id": 7})
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().strip()


def test_a_workers_text_lines_carry_its_number() -> None:
    stream = io.StringIO()
    line = one_line(log_handler("text", worker=2, stream=stream), stream)
    assert "WARNING [worker 2] tests.logs: outbox 7 sent" in line


def test_a_workers_json_lines_carry_its_number_as_a_field() -> None:
    stream = io.StringIO()
    data = json.loads(one_line(log_handler("json", worker=3, stream=stream), stream))
    assert (data["worker"], data["outbox_id"], data["message"]) == (3, "7", "outbox 7 sent")


def test_a_lone_serves_lines_name_no_worker() -> None:
    stream = io.StringIO()
    assert "worker" not in one_line(log_handler("text", stream=stream), stream)
    stream = io.StringIO()
    assert "worker" not in json.loads(one_line(log_handler("json", stream=stream), stream))
