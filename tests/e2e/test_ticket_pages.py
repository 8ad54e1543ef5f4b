"""The ticket's status page and its actions, clicked in headless Chromium through `serve`.

Every customer mail carries the status page's signed link: the page shows the public
conversation only, the status in words, the agreed date and outcome, and buttons for what
the customer may do now. Approve, not solved (with what still happens) and escalate each
open a page whose GET records nothing and whose button POSTs once; the ticket and the mail
that follows are checked, as is a second press. The last test writes a screenshot of
every page (pt_BR, desktop 1280 px and phone 390 px wide) to var/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.domain import TicketRef, TicketStatus
from gateway.domain.decision import TokenPurpose
from gateway.domain.signing import ReplyTokens
from tests.e2e.test_surveys import (
    LINK,
    close_with_survey,
    csrf,
    events,
    get,
    mail_with,
    post,
    prefetch,
    recently,
    result,
    status_mail,
)
from tests.support.agents import AGENT_AUTH
from tests.support.browser import Browser
from tests.support.gateway_process import SECRET, GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink, SunkMail
from tests.support.timetravel import analyst, open_ticket, receive
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def link(mail: SunkMail, kind: str, ending: str = "") -> str:
    found = [u for u in LINK.findall(mail.text) if f"/{kind}/" in u and u.endswith(ending)]
    assert found, f"no /{kind}/ link in {mail.text}"
    return found[0]


def shown(config: GatewayConfig, ref: str) -> dict[str, object]:
    ticket: dict[str, object] = config.cli_json("tickets", "show", ref)
    return ticket


def ack_of(sink: SmtpSink, ref: str) -> SunkMail:
    return wait_for(lambda: mail_with(sink, f"[#{ref}]"), 30, f"the acknowledgement of {ref}")


def internal_note(config: GatewayConfig, ref: str, text: str) -> None:
    """Ana writes an internal note to the ticket's signed note address, as from her inbox."""
    number = TicketRef.parse(ref)
    assert number is not None
    note = ReplyTokens(SECRET.encode()).reply_address(
        "suporte@example.com", number, TokenPurpose.NOTE, "ana@example.com"
    )
    raw = simple_mail(
        "Ana Ribeiro <ana@example.com>", f"[#{ref}] nota", text, to=note, extra=AGENT_AUTH
    )
    receive(config, recently(minutes=3), raw)


def shown_messages(config: GatewayConfig, ref: str) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = config.cli_json("tickets", "show", ref)["messages"]
    return messages


def test_the_status_page_shows_the_public_conversation_and_what_the_customer_may_do(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, browser: Browser
) -> None:
    config = gateway_config
    ticket = open_ticket(config, recently(minutes=20), "Boletos em branco")
    ref = str(ticket)
    page = link(ack_of(sink, ref), "ticket")
    internal_note(config, ref, "Segredo interno: cliente da Beta paga menos.")
    assert any(m["visibility"] == "internal" for m in shown_messages(config, ref))

    dom = browser.open(page)
    assert f"Chamado {ref}: Boletos em branco" in dom and 'data-status="new"' in dom
    assert "Os boletos não saem." in dom  # what Maria wrote
    assert "Segredo interno" not in dom and "Beta" not in dom  # never an internal note
    assert 'id="action-escalation"' in dom and 'id="action-approved"' not in dom
    # The pages' own stylesheet is applied under the strict CSP (its nonce matches).
    header = browser.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
    assert header == "rgb(18, 58, 107)"

    analyst(config, ticket, recently(minutes=5), status=TicketStatus.RESOLVED)
    resolved = status_mail(sink, ref, "resolvido")
    dom = browser.open(link(resolved, "ticket"))
    assert 'data-status="resolved"' in dom and "resolvido" in dom
    assert 'id="action-approved"' in dom and 'id="action-not_solved"' in dom


def test_approve_from_the_status_page_records_once_and_closes_with_the_survey(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, browser: Browser
) -> None:
    config = gateway_config
    ticket = open_ticket(config, recently(minutes=10), "Boletos em branco")
    ref = str(ticket)
    analyst(config, ticket, recently(minutes=5), status=TicketStatus.RESOLVED)
    resolved = status_mail(sink, ref, "resolvido")
    prefetch(resolved)  # a scanner fetched the status page, approve, not solved, escalate
    assert shown(config, ref)["status"] == "resolved"
    assert events(config, ref, "resolution_answered") == []

    browser.open(link(resolved, "ticket"))
    dom = browser.click("#action-approved")
    assert 'id="confirm-approved"' in dom and "O problema foi resolvido?" in dom
    assert result(dom) is None and 'id="confirm-not_solved"' not in dom
    landed = browser.press_enter_on("#confirm-approved button")  # by keyboard
    assert result(landed) == "approved" and ref in landed
    assert shown(config, ref)["status"] == "closed"
    survey = wait_for(lambda: mail_with(sink, f"Pesquisa de satisfação do chamado {ref}"), 30)
    closed = mail_with(sink, f"Chamado {ref} fechado")
    assert closed and "solução aprovada por você" in closed.text and "/survey/" in survey.text

    action = link(resolved, "resolution", "?answer=approved").split("?")[0]
    again = post(action, {"csrf": csrf(dom), "answer": "approved"})  # a second press
    assert again[0] == 200 and result(again[1]) == "not_awaiting"
    assert post(action, {"csrf": "forged", "answer": "approved"})[0] == 403
    assert events(config, ref, "resolution_answered") == [
        {"verdict": "approved", "channel": "link"}
    ]
    dom = browser.open(link(survey, "ticket"))  # closed: the survey is what is left to do
    assert 'data-status="closed"' in dom and 'id="action-survey"' in dom
    assert 'id="action-escalation"' not in dom


def test_not_solved_with_a_text_reopens_and_the_text_joins_the_conversation(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, browser: Browser
) -> None:
    config = gateway_config
    ticket = open_ticket(config, recently(minutes=10), "Relatório lento")
    ref = str(ticket)
    analyst(config, ticket, recently(minutes=5), status=TicketStatus.RESOLVED)
    resolved = status_mail(sink, ref, "resolvido")
    dom = browser.open(link(resolved, "resolution", "?answer=not_solved"))
    assert 'id="confirm-not_solved"' in dom and 'for="text-not_solved"' in dom
    browser.fill("#text-not_solved", "Ainda demora 5 minutos para abrir.")
    landed = browser.click("#confirm-not_solved button")
    assert result(landed) == "not_solved"
    assert shown(config, ref)["status"] == "open"
    assert any(
        m["body"] == "Ainda demora 5 minutos para abrir." and m["direction"] == "inbound"
        for m in shown_messages(config, ref)
    )
    reopened = status_mail(sink, ref, "em atendimento")
    assert "não foi resolvido" in reopened.text
    page = browser.open(link(reopened, "ticket"))
    assert "Ainda demora 5 minutos para abrir." in page


def test_escalation_from_its_link_confirms_then_escalates_once_within_a_day(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, browser: Browser
) -> None:
    config = gateway_config
    ticket = open_ticket(config, recently(minutes=10), "Relatório de notas")
    ref = str(ticket)
    analyst(config, ticket, recently(minutes=5), status=TicketStatus.WAITING_CUSTOMER)
    waiting = status_mail(sink, ref, "aguardando o seu retorno")
    assert 'responda "quero escalar"' in waiting.text
    prefetch(waiting)
    assert shown(config, ref)["queue"] == "n1"

    dom = browser.open(link(waiting, "escalation"))
    assert 'id="confirm-escalation"' in dom and result(dom) is None
    browser.fill("#text-escalation", "Preciso das notas até sexta.")
    landed = browser.click("#confirm-escalation button")
    assert result(landed) == "escalated" and "Suporte Nível 2" in landed
    ticket_now = shown(config, ref)
    assert (ticket_now["queue"], ticket_now["status"]) == ("n2", "open")
    told = wait_for(lambda: sink.to("bruno@example.com"), 30, "n2's notification")
    assert told[0].header("Subject") == f"[#{ref}] Escalado pelo cliente: Relatório de notas"
    assert "Preciso das notas até sexta." in told[0].text

    again = post(link(waiting, "escalation"), {"csrf": csrf(dom), "answer": "escalation"})
    assert result(again[1]) == "too_soon"
    assert shown(config, ref)["queue"] == "n2"
    assert len(events(config, ref, "customer_escalated")) == 1
    [refused] = events(config, ref, "customer_escalation_refused")
    assert refused["channel"] == "link"
    status_mail(sink, ref, "escalonamento já solicitado")


def test_screenshots_of_every_page_on_desktop_and_phone(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, browser: Browser
) -> None:
    """Writes var/screenshots/<page>-<desktop|phone>.png (pt_BR) for people to look at."""
    config = gateway_config
    ticket = open_ticket(config, recently(minutes=10), "Boletos em branco no portal")
    ref = str(ticket)
    analyst(config, ticket, recently(minutes=5), status=TicketStatus.RESOLVED)
    resolved = status_mail(sink, ref, "resolvido")
    _, survey = close_with_survey(config, sink, "Relatório de notas não abre")
    pages = {
        "status": link(resolved, "ticket"),
        "approve": link(resolved, "resolution", "?answer=approved"),
        "not-solved": link(resolved, "resolution", "?answer=not_solved"),
        "escalate": link(resolved, "escalation"),
        "survey": link(survey, "survey", "?rating=5"),
        "not-found": re.sub(r"\.\w+$", ".forged", link(resolved, "ticket")),
    }
    for name, url in pages.items():
        browser.open(url)
        for device, width in (("desktop", 1280), ("phone", 390)):
            path = SCREENSHOTS / f"{name}-{device}.png"
            # Readable on a phone: nothing is wider than the screen.
            assert browser.screenshot(path, width) <= width, (name, device)
            assert path.stat().st_size > 5000, path
    assert get(pages["not-found"])[0] == 404
    assert {p.name for p in SCREENSHOTS.glob("*.png")} >= {
        f"{name}-{device}.png" for name in pages for device in ("desktop", "phone")
    }
