"""Links in customer mail: `serve`'s HTTP endpoint opened in headless Chromium.

Surveys answered by one-click links, a resolved ticket approved (or not) and a ticket
escalated from its status mail. The ticket moves by time travel
(tests/support/timetravel.py); `serve` sends the mail to the SMTP sink; the test follows
the links in it the way a customer's browser would (Debian's `chromium`, installed by
scripts/test.sh) and checks what was recorded and that tokens cannot be forged or
pointed at another ticket. A confirmation page's button is pressed by having Chromium
submit the very form the page rendered.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import TicketStatus
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.sink import SmtpSink, SunkMail
from tests.support.timetravel import analyst, open_ticket, run_once
from tests.support.waiting import free_port, wait_for

pytestmark = pytest.mark.e2e

SP = ZoneInfo("America/Sao_Paulo")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def http_port(gateway_config: GatewayConfig) -> int:
    port = free_port()
    with gateway_config.path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[http]\nhost = "127.0.0.1"\nport = {port}\n')
        handle.write(f'public_url = "http://127.0.0.1:{port}"\n')
    return port


@pytest.fixture
def served(gateway_config: GatewayConfig, http_port: int) -> Iterator[ServeProcess]:
    process = ServeProcess(gateway_config).start()
    try:
        wait_for(lambda: _get(f"http://127.0.0.1:{http_port}/healthz")[0] == 200, 30, "/healthz")
        yield process
    finally:
        process.stop()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def chromium_dom(url: str, profile: Path, *extra: str) -> str:
    """The page as headless Chromium rendered it (--dump-dom)."""
    assert CHROMIUM, "install Debian's chromium (scripts/test.sh does)"
    result = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            f"--user-data-dir={profile}", *extra, "--dump-dom", url,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


def close_with_survey(config: GatewayConfig, sink: SmtpSink, subject: str) -> tuple[str, SunkMail]:
    day = datetime(2025, 6, 2, 9, tzinfo=SP)
    ref = open_ticket(config, day, subject)
    analyst(config, ref, day.replace(hour=10), status=TicketStatus.RESOLVED, cause="corrigido")
    assert run_once(config, datetime(2025, 6, 9, 10, tzinfo=SP)) == {"auto_closed": 1}

    def survey_mail() -> SunkMail | None:
        found = [m for m in sink.to("maria@alfa.edu.br") if f"{ref}" in m.header("Subject")]
        return next((m for m in found if "Pesquisa" in m.header("Subject")), None)

    return str(ref), wait_for(survey_mail, 30, f"the survey mail of {ref}")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_one_click_links_record_the_answer(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, tmp_path: Path
) -> None:
    ref, survey = close_with_survey(gateway_config, sink, "Relatório não abre")
    links = re.findall(r"http://127\.0\.0\.1:\d+/survey/\S+", survey.text)
    rating_4 = next(link for link in links if link.endswith("?rating=4"))
    met_no = next(link for link in links if link.endswith("?met=no"))
    assert rating_4 in survey.html.replace("&amp;", "&")

    dom = chromium_dom(rating_4, tmp_path / "profile")
    assert "Obrigado! Sua resposta foi registrada." in dom
    assert 'data-rating="4"' in dom and f"Chamado {ref}" in dom
    dom = chromium_dom(met_no, tmp_path / "profile")
    assert 'data-rating="4" data-met="no"' in dom

    report = gateway_config.cli_json("report", "surveys")
    ana = next(line for line in report if line["group"] == "queue" and line["key"] == "n1")
    assert (ana["answered"], ana["average_rating"], ana["met_expectation_pct"]) == (1, 4.0, 0.0)
    events = gateway_config.cli_json("tickets", "show", ref)["events"]
    answered = [e["data"] for e in events if e["kind"] == "survey_answered"]
    assert [(a["channel"], a["rating"], a["met_expectation"]) for a in answered] == [
        ("link", 4, None),
        ("link", None, False),
    ]


def test_links_cannot_be_forged_or_moved_to_another_ticket(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    ref_a, survey_a = close_with_survey(gateway_config, sink, "Primeiro")
    ref_b, survey_b = close_with_survey(gateway_config, sink, "Segundo")
    link_a = re.search(r"(http://\S+/survey/)(\d+)\.(\w+)\?rating=5", survey_a.text)
    link_b = re.search(r"(http://\S+/survey/)(\d+)\.(\w+)\?rating=5", survey_b.text)
    assert link_a and link_b
    base, id_a, sig_a = link_a.groups()
    _, id_b, sig_b = link_b.groups()
    forged = [
        f"{base}{id_a}.{'a' * len(sig_a)}?rating=1",  # a guessed signature
        f"{base}{id_b}.{sig_a}?rating=1",  # A's signature on B's survey
        f"{base}{id_a}?rating=1",  # no signature
        f"{base}{id_a}.{sig_b}?rating=1",
    ]
    for url in forged:
        code, page = _get(url)
        assert code == 404, url
        assert ref_a not in page and ref_b not in page and "Primeiro" not in page
    code, page = _get(f"{base}{id_b}.{sig_b}?rating=5")
    assert code == 200 and 'data-rating="5"' in page and ref_b in page
    report = {
        (line["group"], line["key"]): line for line in gateway_config.cli_json("report", "surveys")
    }
    assert report[("month", "2025-06")]["answered"] == 1
    assert report[("month", "2025-06")]["average_rating"] == 5.0


def test_metrics_count_tickets_outbox_and_received_mail(
    served: ServeProcess, http_port: int, sink: SmtpSink
) -> None:
    mail = (
        "From: Maria Souza <maria@alfa.edu.br>\r\nTo: suporte@example.com\r\n"
        "Subject: Métricas\r\nMessage-ID: <metrics-1@alfa.edu.br>\r\n\r\nOi.\r\n"
    ).encode()
    assert served.send(mail, "maria@alfa.edu.br", "suporte@example.com")[0] == 250
    assert served.send(mail, "maria@alfa.edu.br", "suporte@example.com")[0] == 250
    sink.wait_for_count(1, address="maria@alfa.edu.br")
    status, text = _get(f"http://127.0.0.1:{http_port}/metrics")
    assert status == 200
    assert 'ticketgate_tickets{status="new"} 1' in text
    assert 'ticketgate_received_total{outcome="created"} 1' in text
    assert "# TYPE ticketgate_outbox gauge" in text
    # A duplicate is answered from the ledger and records nothing new.
    assert 'outcome="duplicate"' not in text


# --- approving a resolved ticket, and escalating, from the status mail ---------------------


def press(dom: str, form_id: str, origin: str, profile: Path) -> str:
    """Press the button of the form `form_id` the page rendered: Chromium submits that form
    (method, action and fields as rendered) and returns the page it lands on."""
    form = re.search(rf'<form method="post" action="([^"]+)" id="{form_id}">(.*?)</form>', dom)
    assert form, f"no form {form_id} in {dom[:2000]}"
    fields = "".join(re.findall(r'<input type="hidden" name="\w+" value="\w+">', form.group(2)))
    page = (
        f'<form method="post" action="{origin}{form.group(1)}">{fields}</form>'
        "<script>document.forms[0].submit()</script>"
    )
    return chromium_dom("data:text/html," + quote(page), profile, "--virtual-time-budget=5000")


def recently(minutes: int) -> datetime:
    """Minutes ago by the wall clock, which `serve` sweeps by: no timer is due yet."""
    return datetime.now(SP) - timedelta(minutes=minutes)


def mail_with(sink: SmtpSink, subject: str) -> SunkMail | None:
    return next((m for m in sink.to("maria@alfa.edu.br") if subject in m.header("Subject")), None)


def status_mail(sink: SmtpSink, ref: str, words: str) -> SunkMail:
    return wait_for(lambda: mail_with(sink, f"{ref}: {words}"), 30, f"the '{words}' mail of {ref}")


def result(dom: str) -> str | None:
    found = re.search(r'id="result" data-result="(\w+)"', dom)
    return found.group(1) if found else None


def events(config: GatewayConfig, ref: str, kind: str) -> list[dict[str, object]]:
    shown = config.cli_json("tickets", "show", ref)
    return [e["data"] for e in shown["events"] if e["kind"] == kind]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_approval_link_shows_a_page_on_get_and_records_once_on_post(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, tmp_path: Path,
    http_port: int,
) -> None:  # fmt: skip
    config, profile = gateway_config, tmp_path / "profile"
    ticket = open_ticket(config, recently(minutes=10), "Boletos em branco")
    ref = str(ticket)
    analyst(config, ticket, recently(minutes=5), status=TicketStatus.RESOLVED)
    resolved = status_mail(sink, ref, "resolvido")
    approve = re.search(r"http://127\.0\.0\.1:\d+/resolution/\S+\?answer=approved", resolved.text)
    not_solved = re.search(r"http://\S+/resolution/\S+\?answer=not_solved", resolved.text)
    assert approve and not_solved and approve.group(0) in resolved.html

    # GET: a confirmation page, nothing recorded (mail scanners fetch links too).
    dom = chromium_dom(approve.group(0), profile)
    assert 'id="confirm-approved"' in dom and "O problema foi resolvido?" in dom
    assert result(dom) is None and 'id="confirm-not_solved"' not in dom
    assert 'id="confirm-not_solved"' in chromium_dom(not_solved.group(0), profile)
    assert config.cli_json("tickets", "show", ref)["status"] == "resolved"
    assert events(config, ref, "resolution_answered") == []

    # POST: the button closes the ticket; the close mail and the survey follow.
    origin = f"http://127.0.0.1:{http_port}"
    landed = press(dom, "confirm-approved", origin, profile)
    assert result(landed) == "approved" and ref in landed
    assert config.cli_json("tickets", "show", ref)["status"] == "closed"
    survey = wait_for(lambda: mail_with(sink, f"Pesquisa de satisfação do chamado {ref}"), 30)
    closed = mail_with(sink, f"Chamado {ref} fechado")
    assert closed and "solução aprovada por você" in closed.text and "/survey/" in survey.text

    # A second press (or an old mail) records nothing more.
    assert result(press(dom, "confirm-approved", origin, profile)) == "not_awaiting"
    assert events(config, ref, "resolution_answered") == [
        {"verdict": "approved", "channel": "link"}
    ]
    forged = approve.group(0).replace("/resolution/", "/escalation/")  # another purpose
    assert _get(forged)[0] == 404 and ref not in _get(forged)[1]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_escalation_link_confirms_then_escalates_once_within_a_day(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, tmp_path: Path,
    http_port: int,
) -> None:  # fmt: skip
    config, profile = gateway_config, tmp_path / "profile"
    ticket = open_ticket(config, recently(minutes=10), "Relatório de notas")
    ref = str(ticket)
    analyst(config, ticket, recently(minutes=5), status=TicketStatus.WAITING_CUSTOMER)
    waiting = status_mail(sink, ref, "aguardando o seu retorno")
    link = re.search(r"http://127\.0\.0\.1:\d+/escalation/\S+", waiting.text)
    assert link and 'responda "quero escalar"' in waiting.text

    dom = chromium_dom(link.group(0), profile)
    assert 'id="confirm-escalation"' in dom and result(dom) is None
    assert config.cli_json("tickets", "show", ref)["queue"] == "n1"

    origin = f"http://127.0.0.1:{http_port}"
    landed = press(dom, "confirm-escalation", origin, profile)
    assert result(landed) == "escalated" and "Suporte Nível 2" in landed
    shown = config.cli_json("tickets", "show", ref)
    assert (shown["queue"], shown["status"]) == ("n2", "open")  # waiting on us again
    told = wait_for(lambda: sink.to("bruno@example.com"), 30, "n2's notification")
    assert told[0].header("Subject") == f"[#{ref}] Escalado pelo cliente: Relatório de notas"

    again = press(dom, "confirm-escalation", origin, profile)
    assert result(again) == "too_soon"
    assert config.cli_json("tickets", "show", ref)["queue"] == "n2"
    assert len(events(config, ref, "customer_escalated")) == 1
    [refused] = events(config, ref, "customer_escalation_refused")
    assert refused["channel"] == "link"
    status_mail(sink, ref, "escalonamento já solicitado")
