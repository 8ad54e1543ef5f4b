"""Links in customer mail: `serve`'s pages opened and clicked in headless Chromium.

The survey answered on its page, a resolved ticket approved (or not) and a ticket
escalated, each from the links of the mail `serve` sent to the SMTP sink: the test
opens the link the way a customer's browser would (Debian's `chromium`, driven over the
DevTools protocol by tests/support/browser.py), reads the page, clicks the button and
checks the ticket and the mail that follows. Every link is first fetched the way a mail
scanner would (a plain GET): that records nothing. Forged, expired, someone else's and
other-ticket links get a 404 that names nothing.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import TicketRef, TicketStatus
from gateway.domain.signing import Signer
from gateway.lifecycle.surveys import SurveyLinks
from gateway.lifecycle.ticket_links import LinkPurpose, TicketLinks
from tests.support.browser import Browser
from tests.support.gateway_process import SECRET, GatewayConfig, ServeProcess
from tests.support.sink import SmtpSink, SunkMail
from tests.support.timetravel import analyst, open_ticket, run_once
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

SP = ZoneInfo("America/Sao_Paulo")
MARIA = "maria@alfa.edu.br"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/(?:ticket|resolution|escalation|survey)/[^\s<>\"]+")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def post(url: str, fields: dict[str, str]) -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def prefetch(mail: SunkMail) -> list[str]:
    """Fetch every link in a mail as a scanner or a link preview would; all answer 200."""
    links = sorted(set(LINK.findall(mail.text)))
    assert links, mail.text
    for link in links:
        assert get(link)[0] == 200, link
    return links


def csrf(dom: str) -> str:
    found = re.search(r'name="csrf" value="(\w+)"', dom)
    assert found, dom[:2000]
    return found.group(1)


def result(dom: str) -> str | None:
    found = re.search(r'id="result" data-result="(\w+)"', dom)
    return found.group(1) if found else None


def events(config: GatewayConfig, ref: str, kind: str) -> list[dict[str, object]]:
    shown = config.cli_json("tickets", "show", ref)
    return [e["data"] for e in shown["events"] if e["kind"] == kind]


def recently(**ago: int) -> datetime:
    """Some time ago by the wall clock, which `serve` runs and checks links by."""
    return datetime.now(SP) - timedelta(**ago)


def mail_with(sink: SmtpSink, subject: str) -> SunkMail | None:
    return next((m for m in sink.to(MARIA) if subject in m.header("Subject")), None)


def status_mail(sink: SmtpSink, ref: str, words: str) -> SunkMail:
    return wait_for(lambda: mail_with(sink, f"{ref}: {words}"), 30, f"the '{words}' mail of {ref}")


def close_with_survey(config: GatewayConfig, sink: SmtpSink, subject: str) -> tuple[str, SunkMail]:
    """A ticket resolved twelve days ago and closed now by the scheduler (this run, or
    `serve`'s own sweep if it came first): its survey mail."""
    ticket = open_ticket(config, recently(days=12), subject)
    analyst(config, ticket, recently(days=12, minutes=-30), status=TicketStatus.RESOLVED)
    run_once(config, recently(minutes=1))
    ref = str(ticket)
    survey = wait_for(lambda: mail_with(sink, f"Pesquisa de satisfação do chamado {ref}"), 30)
    return ref, survey


# --- the survey ---------------------------------------------------------------------------


def test_survey_link_preselects_the_choice_and_only_the_button_records_once(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, browser: Browser
) -> None:
    config = gateway_config
    ref, survey = close_with_survey(config, sink, "Relatório não abre")
    links = prefetch(survey)  # a scanner fetched every link: nothing is answered
    assert events(config, ref, "survey_answered") == []
    rating_4 = next(link for link in links if link.endswith("?rating=4"))
    assert rating_4 in survey.html.replace("&amp;", "&")

    dom = browser.open(rating_4)
    assert f"Chamado {ref}: Relatório não abre" in dom and 'id="recorded"' not in dom
    assert browser.evaluate("document.querySelector('#rating-4').checked") is True
    assert browser.evaluate("document.querySelector('#met-no').checked") is False
    browser.check("#met-no")
    browser.fill("#comment", "Demorou, mas resolveu.")
    landed = browser.click("#send")
    assert "Obrigado! Sua resposta foi registrada." in landed
    assert 'data-rating="4" data-met="no"' in landed and "Demorou, mas resolveu." in landed

    # Final once submitted: another POST (an old tab, a second press) shows what is recorded.
    again = post(rating_4.split("?")[0], {"csrf": csrf(dom), "rating": "1", "met": "yes"})
    assert again[0] == 200 and 'data-rating="4" data-met="no"' in again[1]
    assert "já foi respondida" in again[1]
    assert 'data-rating="4"' in browser.open(rating_4)  # and so does the link
    answered = events(config, ref, "survey_answered")
    assert [(a["channel"], a["rating"], a["met_expectation"]) for a in answered] == [
        ("link", 4, False)
    ]
    report = config.cli_json("report", "surveys")
    n1 = next(line for line in report if line["group"] == "queue" and line["key"] == "n1")
    assert (n1["answered"], n1["average_rating"], n1["met_expectation_pct"]) == (1, 4.0, 0.0)


def test_forged_expired_moved_or_someone_elses_links_get_a_404_that_names_nothing(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, http_port: int
) -> None:
    ref_a, survey_a = close_with_survey(gateway_config, sink, "Primeiro")
    ref_b, survey_b = close_with_survey(gateway_config, sink, "Segundo")
    link = re.compile(r"(http://\S+/survey/)(\d+)\.(\d+)\.(\w+)\?rating=5")
    found_a, found_b = link.search(survey_a.text), link.search(survey_b.text)
    assert found_a and found_b
    base, id_a, day_a, sig_a = found_a.groups()
    _, id_b, day_b, sig_b = found_b.groups()
    signer = Signer(SECRET.encode())
    surveys = SurveyLinks(signer, "")
    ticket_links = TicketLinks(signer, "")
    past = int(day_a) - 61  # signed right, but its day is gone
    ref = TicketRef.parse(ref_a)
    assert ref is not None
    origin = f"http://127.0.0.1:{http_port}"
    forged = [
        f"{base}{id_a}.{day_a}.{'a' * len(sig_a)}",  # a guessed signature
        f"{base}{id_b}.{day_a}.{sig_a}",  # A's signature on B's survey
        f"{base}{id_a}.{day_b}.{sig_b}",
        f"{base}{id_a}.{int(day_a) + 30}.{sig_a}",  # a later day on the same signature
        f"{base}{id_a}",  # no signature
        base + surveys.token(int(id_a), ref, MARIA, past),  # expired
        base + surveys.token(int(id_a), ref, "joao@alfa.edu.br", int(day_a)),  # not Maria's
        origin + ticket_links.path(LinkPurpose.TICKET, ref, MARIA, past),
        origin + ticket_links.path(LinkPurpose.TICKET, ref, "joao@alfa.edu.br", int(day_a)),
        origin + ticket_links.path(LinkPurpose.ESCALATION, ref, MARIA, past),
        f"{origin}/ticket/{id_b}.{day_a}.{sig_a}",
        f"{origin}/ticket/../survey/{id_a}.{day_a}.{sig_a}",
        f"{origin}/nowhere",
    ]
    for url in forged:
        code, page = get(url + "?rating=1")
        assert code == 404, url
        assert "Link inválido ou expirado" in page, url
        for secret in (ref_a, ref_b, "Primeiro", "Segundo", "Maria"):
            assert secret not in page, (url, secret)
    code, page = get(f"{base}{id_b}.{day_b}.{sig_b}?rating=5")
    assert code == 200 and ref_b in page and ref_a not in page
    assert events(gateway_config, ref_a, "survey_answered") == []


def test_metrics_readiness_and_health(
    served: ServeProcess, http_port: int, sink: SmtpSink
) -> None:
    mail = (
        "From: Maria Souza <maria@alfa.edu.br>\r\nTo: suporte@example.com\r\n"
        "Subject: Métricas\r\nMessage-ID: <metrics-1@alfa.edu.br>\r\n\r\nOi.\r\n"
    ).encode()
    assert served.send(mail, MARIA, "suporte@example.com")[0] == 250
    assert served.send(mail, MARIA, "suporte@example.com")[0] == 250
    sink.wait_for_count(1, address=MARIA)
    origin = f"http://127.0.0.1:{http_port}"
    status, text = get(f"{origin}/metrics")
    assert status == 200
    assert 'ticketgate_tickets{status="new"} 1' in text
    assert 'ticketgate_received_total{outcome="created"} 1' in text
    assert "# TYPE ticketgate_outbox gauge" in text
    # A duplicate is answered from the ledger and records nothing new.
    assert 'outcome="duplicate"' not in text
    assert get(f"{origin}/readyz") == (200, "ready\n")
    assert get(f"{origin}/healthz") == (200, "ok\n")
