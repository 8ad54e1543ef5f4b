"""Time travel through a ticket's whole life with `scheduler run-once --now`.

Tickets are opened through the real intake on a fixed clock in the past
(tests/support/timetravel.py); the sweeps run as the CLI subprocess an
operator would use; what is mailed is sent with `outbox flush` to the real
SMTP sink. Until agent commands drive these tests, the analyst's answer and
"waiting for the customer" are played through `LifecycleActions`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import TicketStatus
from tests.support.gateway_process import GatewayConfig
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink, SunkMail
from tests.support.timetravel import analyst, flush, open_ticket, receive, run_once, timers

pytestmark = pytest.mark.e2e

SP = ZoneInfo("America/Sao_Paulo")
MARIA = "maria@alfa.edu.br"


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)  # type: ignore[misc]


def subjects(sink: SmtpSink, address: str) -> list[str]:
    return [m.header("Subject") for m in sink.to(address)]


def status(config: GatewayConfig, ref: object) -> str:
    return str(config.cli_json("tickets", "show", str(ref))["status"])


def test_whole_life_waiting_reminder_resolved_closed_survey_reply(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    ref = open_ticket(config, sp(2025, 6, 2, 9))  # Monday 09:00
    shown = config.cli_json("tickets", "show", str(ref))
    assert shown["first_response_due"] == "2025-06-03T11:00:00-03:00"  # 12 business hours
    analyst(config, ref, sp(2025, 6, 2, 10), status=TicketStatus.WAITING_CUSTOMER)
    flush(config)
    [ack, waiting] = sink.to(MARIA)
    assert "Primeira resposta prevista até: 03/06/2025 11:00" in ack.text
    assert "aguardando o seu retorno" in waiting.header("Subject")
    assert "09/06/2025 10:00" in waiting.text  # when it will be resolved (5 business days)
    assert waiting.header("In-Reply-To") == ack.header("Message-ID")

    # Paused: no SLA timer fires while the ticket waits on the customer.
    assert run_once(config, sp(2025, 6, 4, 18)) == {}
    assert run_once(config, sp(2025, 6, 5, 10)) == {"reminder": 1}  # 3 business days
    assert run_once(config, sp(2025, 6, 5, 10)) == {}  # a second run sends nothing
    flush(config)
    reminder = sink.to(MARIA)[-1]
    assert reminder.header("Subject").startswith(f"[#{ref}] Lembrete")
    assert "09/06/2025 10:00" in reminder.text
    assert "Os boletos não saem." in reminder.text and "Lembrete" not in reminder.text.split(
        "Histórico"
    )[-1]  # the history shows what people wrote, not the gateway's own notices

    assert run_once(config, sp(2025, 6, 9, 10)) == {"auto_resolved": 1}
    assert status(config, ref) == "resolved"
    assert run_once(config, sp(2025, 6, 16, 9, 59)) == {}
    assert run_once(config, sp(2025, 6, 16, 10)) == {"auto_closed": 1}
    assert run_once(config, sp(2025, 6, 16, 10)) == {}
    flush(config)
    flush(config)  # nothing new: each mail went once
    got = subjects(sink, MARIA)
    assert len(got) == 6, got
    assert "resolvido por falta de retorno" in got[3]
    assert "fechado" in got[4] and "Pesquisa de satisfação" in got[5]
    resolved_mail, closed_mail, survey = sink.to(MARIA)[3:]
    assert "5 dias úteis" in resolved_mail.text and "16/06/2025 10:00" in resolved_mail.text
    assert "novo chamado vinculado" in closed_mail.text
    assert "1: 5, 2: sim" in survey.text and "/survey/" in survey.text
    events = [e["kind"] for e in config.cli_json("tickets", "show", str(ref))["events"]]
    assert events.count("status_changed") == 4 and "survey_sent" in events  # new→open→…→closed

    # The survey answered by reply: it threads into the closed ticket and stays closed.
    reply = simple_mail(
        "Maria Souza <maria@alfa.edu.br>",
        f"Re: [#{ref}] Pesquisa de satisfação",
        "1: 5, 2: sim, ótimo atendimento",
        to=survey.header("Reply-To"),
    )
    receipt = receive(config, sp(2025, 6, 16, 11), reply)
    assert (receipt.outcome.value, receipt.ticket) == ("threaded", ref)
    assert status(config, ref) == "closed"
    report = config.cli_json("report", "surveys")
    by_month = next(line for line in report if line["key"] == "2025-06")
    assert (by_month["answered"], by_month["average_rating"]) == (1, 5.0)
    assert by_month["met_expectation_pct"] == 100.0

    # A later reply that is not an answer opens a new ticket linked to the closed one.
    again = simple_mail(
        "Maria Souza <maria@alfa.edu.br>", f"Re: [#{ref}] Boletos", "Voltou a falhar hoje.",
        to=survey.header("Reply-To"),
    )  # fmt: skip
    receipt = receive(config, sp(2025, 6, 20, 9), again)
    assert receipt.outcome.value == "created" and receipt.ticket != ref
    new = config.cli_json("tickets", "show", str(receipt.ticket))
    assert new["status"] == "new" and new["queue"] == "n1"
    assert new["subject"] == "Boletos"  # the closed ticket's, not "Re: [#TG-…] …"
    assert any(e["kind"] == "linked" and e["data"] == {"linked_from": str(ref)}
               for e in new["events"])  # fmt: skip
    assert status(config, ref) == "closed"


def test_customer_reply_reopens_and_resumes_the_clock(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    ref = open_ticket(config, sp(2025, 6, 2, 9))
    analyst(config, ref, sp(2025, 6, 2, 15), answered=False, status=TicketStatus.WAITING_CUSTOMER)
    answer = simple_mail(
        "Maria Souza <maria@alfa.edu.br>", f"Re: [#{ref}] Boletos", "Segue o print."
    )
    receive(config, sp(2025, 6, 3, 10), answer)
    shown = config.cli_json("tickets", "show", str(ref))
    assert shown["status"] == "open"
    # 5 business hours paused (Mon 15-18, Tue 8-10): the first answer is due Tue 16:00.
    assert shown["first_response_due"] == "2025-06-03T16:00:00-03:00"
    pending = [t for t in timers(config, ref) if t.state == "pending"]
    assert not any(t.kind in ("reminder", "auto_resolve") for t in pending)

    analyst(config, ref, sp(2025, 6, 3, 11), status=TicketStatus.RESOLVED, cause="corrigido")
    receive(
        config,
        sp(2025, 6, 4, 9),
        simple_mail("Maria Souza <maria@alfa.edu.br>", f"Re: [#{ref}] Boletos", "Ainda falha."),
    )
    assert status(config, ref) == "open"
    flush(config)
    got = subjects(sink, MARIA)
    assert any("resolvido" in s for s in got) and any("em atendimento" in s for s in got), got


DIRECTORY = """\
queues:
  - {id: n1, name: "Suporte Nível 1", escalates_to: n2}
  - {id: n2, name: "Suporte Nível 2"}
agents:
  - {email: ana@example.com, name: Ana Ribeiro, queues: [n1]}
  - {email: bruno@example.com, name: Bruno Costa, queues: [n2]}
organizations:
  - id: alfa
    name: Escola Alfa
    contacts:
      - {email: maria@alfa.edu.br, name: Maria Souza, can_open_tickets: true}
"""

ESCALATION_POLICY = """\
escalation:
  every: 2h
  levels: 2
  direction: [diretoria@example.com]
"""


def test_breach_warns_then_escalates_up_the_chain(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    (config.folder / "directory.yaml").write_text(DIRECTORY, encoding="utf-8")
    (config.folder / "policy.yaml").write_text(ESCALATION_POLICY, encoding="utf-8")
    ref = open_ticket(config, sp(2025, 6, 2, 9))  # first answer due Tuesday 11:00
    assert run_once(config, sp(2025, 6, 3, 9, 59)) == {}
    assert run_once(config, sp(2025, 6, 3, 10)) == {"sla_warning": 1}
    assert run_once(config, sp(2025, 6, 3, 11)) == {"sla_breached": 1}
    assert run_once(config, sp(2025, 6, 3, 11)) == {}
    assert run_once(config, sp(2025, 6, 3, 13)) == {"sla_escalated": 1}  # level 1: n2
    assert run_once(config, sp(2025, 6, 3, 15)) == {"sla_escalated": 1}  # level 2: direction
    assert run_once(config, sp(2025, 6, 3, 15)) == {}
    flush(config)
    ana, bruno, direction = (
        sink.to(a) for a in ("ana@example.com", "bruno@example.com", "diretoria@example.com")
    )
    ana_subjects = [m.header("Subject") for m in ana if "[SLA" in m.header("Subject")]
    assert len(ana_subjects) == 2, ana_subjects
    assert "vence em 03/06/2025 11:00" in ana_subjects[0] and "vencido" in ana_subjects[1]
    assert [m.header("Subject") for m in bruno] == [
        f"[#{ref}] [SLA escalonamento 1] {ref}: prazo de primeira resposta vencido"
    ]
    assert len(direction) == 1 and "escalonamento 2" in direction[0].header("Subject")
    assert not [m for m in sink.to(MARIA) if "SLA" in m.header("Subject")]
    # Once answered, nothing more fires for the first response.
    analyst(config, ref, sp(2025, 6, 3, 16))
    assert run_once(config, sp(2025, 6, 4, 18)) == {}


DST_POLICY = """\
timezone: America/New_York
business_hours: {mon: "08:00-18:00", tue: "08:00-18:00", wed: "08:00-18:00",
                 thu: "08:00-18:00", fri: "08:00-18:00"}
holidays: {country: US, extra: [2025-03-10]}
sla:
  targets:
    3: {first_response: 4h}
"""


def test_holiday_and_dst_change_inside_an_sla_window(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    (config.folder / "policy.yaml").write_text(DST_POLICY, encoding="utf-8")
    ny = ZoneInfo("America/New_York")
    # Friday 16:00 EST; Sunday 2025-03-09 clocks spring forward; Monday is a holiday (extra).
    ref = open_ticket(config, datetime(2025, 3, 7, 16, tzinfo=ny))
    shown = config.cli_json("tickets", "show", str(ref))
    assert shown["first_response_due"] == "2025-03-11T10:00:00-04:00"  # Tuesday 10:00 EDT
    assert run_once(config, datetime(2025, 3, 11, 13, 59, tzinfo=ZoneInfo("UTC"))) == {
        "sla_warning": 1
    }
    assert run_once(config, datetime(2025, 3, 11, 14, 0, tzinfo=ZoneInfo("UTC"))) == {
        "sla_breached": 1
    }


def test_two_sweeps_at_once_send_each_reminder_once(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    refs = [open_ticket(config, sp(2025, 6, 2, 9), f"Pedido {n}") for n in range(6)]
    for ref in refs:
        analyst(config, ref, sp(2025, 6, 2, 10), status=TicketStatus.WAITING_CUSTOMER)
    at = sp(2025, 6, 5, 10).isoformat()
    command = [sys.executable, "-m", "gateway", "--config", str(config.path)]
    sweeps = [
        subprocess.Popen(
            [*command, "scheduler", "run-once", "--now", at, "--json"],
            stdout=subprocess.PIPE,
            env=config.env(),
        )
        for _ in range(2)
    ]
    fired = [json.loads(p.communicate(timeout=120)[0]).get("fired", {}) for p in sweeps]
    assert sum(f.get("reminder", 0) for f in fired) == len(refs), fired
    flush(config)
    reminders = [s for s in subjects(sink, MARIA) if "Lembrete" in s]
    assert sorted(reminders) == sorted(f"[#{ref}] Lembrete: aguardamos seu retorno no chamado "
                                       f"{ref}" for ref in refs)  # fmt: skip


# --- the customer's answer to a resolved ticket, and escalation by mail ------------------


def gmail_reply(new_text: str, answered: SunkMail) -> str:
    """A Gmail-style reply: the new text, then "Em … escreveu:" and the mail quoted."""
    quoted = "\n".join(f"> {line}".rstrip() for line in answered.text.splitlines())
    attribution = "Em seg., 2 de jun. de 2025 às 11:00, Suporte <suporte@example.com> escreveu:"
    return f"{new_text}\n\n{attribution}\n\n{quoted}"


def resolved_mail(config: GatewayConfig, sink: SmtpSink, ref: object) -> SunkMail:
    flush(config)
    return next(m for m in sink.to(MARIA) if m.header("Subject").endswith(f"{ref}: resolvido"))


def test_an_approving_reply_closes_the_ticket_and_sends_the_survey(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    ref = open_ticket(config, sp(2025, 6, 2, 9))
    analyst(config, ref, sp(2025, 6, 2, 10), status=TicketStatus.RESOLVED, cause="corrigido")
    resolved = resolved_mail(config, sink, ref)
    assert 'responda "Aprovado"' in resolved.text and "/resolution/" in resolved.text
    answer = simple_mail(
        "Maria Souza <maria@alfa.edu.br>", f"Re: [#{ref}] Chamado {ref}: resolvido",
        gmail_reply("Aprovado, pode encerrar. Obrigada!", resolved),
        to=resolved.header("Reply-To"),
    )  # fmt: skip
    receipt = receive(config, sp(2025, 6, 2, 11), answer)
    assert (receipt.outcome.value, receipt.ticket) == ("threaded", ref)
    shown = config.cli_json("tickets", "show", str(ref))
    assert shown["status"] == "closed"
    assert shown["messages"][-3]["body"] == "Aprovado, pode encerrar. Obrigada!"
    kinds = [e["kind"] for e in shown["events"]]
    assert "resolution_answered" in kinds and "survey_sent" in kinds
    flush(config)
    closed, survey = sink.to(MARIA)[-2:]
    assert "fechado: solução aprovada por você" in closed.text
    assert "Pesquisa de satisfação" in survey.header("Subject")
    assert run_once(config, sp(2025, 6, 9, 10)) == {}  # no auto-close left to fire
    assert [m.header("Subject") for m in sink.to("ana@example.com")][-1].startswith(
        f"[#{ref}] Nova mensagem"
    )  # the agents read the approval too


def test_ainda_nao_funciona_reopens_the_resolved_ticket(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    ref = open_ticket(config, sp(2025, 6, 2, 9))
    analyst(config, ref, sp(2025, 6, 2, 10), status=TicketStatus.RESOLVED, cause="corrigido")
    resolved = resolved_mail(config, sink, ref)
    answer = simple_mail(
        "Maria Souza <maria@alfa.edu.br>", f"Re: [#{ref}] Chamado {ref}: resolvido",
        gmail_reply("Ainda não funciona, o boleto sai em branco.", resolved),
        to=resolved.header("Reply-To"),
    )  # fmt: skip
    receive(config, sp(2025, 6, 3, 9), answer)
    assert status(config, ref) == "open"
    flush(config)
    reopened = sink.to(MARIA)[-1]
    assert "em atendimento" in reopened.header("Subject")
    assert "você informou que o problema não foi resolvido" in reopened.text


CHAIN_DIRECTORY = """\
queues:
  - {id: n1, name: "Suporte Nível 1", escalates_to: n2}
  - {id: n2, name: "Suporte Nível 2", escalates_to: n3}
  - {id: n3, name: "Gerência de Atendimento"}
agents:
  - {email: ana@example.com, name: Ana Ribeiro, queues: [n1]}
  - {email: bruno@example.com, name: Bruno Costa, queues: [n2]}
  - {email: ricardo@example.com, name: Ricardo Pasta, queues: [n3]}
organizations:
  - id: alfa
    name: Escola Alfa
    contacts:
      - {email: maria@alfa.edu.br, name: Maria Souza, can_open_tickets: true}
"""


def test_a_customer_escalates_n1_n2_n3_then_the_direction_one_step_a_day(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    (config.folder / "directory.yaml").write_text(CHAIN_DIRECTORY, encoding="utf-8")
    (config.folder / "policy.yaml").write_text(ESCALATION_POLICY, encoding="utf-8")
    ref = open_ticket(config, sp(2025, 6, 2, 9))

    def ask(at: datetime, words: str = "Já faz tempo. Quero escalar este chamado.") -> None:
        mail = simple_mail("Maria Souza <maria@alfa.edu.br>", f"Re: [#{ref}] Boletos", words)
        assert receive(config, at, mail).outcome.value == "threaded"

    ask(sp(2025, 6, 2, 10))
    ask(sp(2025, 6, 2, 15), "Ninguém respondeu ainda, quero escalar!")  # too soon
    ask(sp(2025, 6, 3, 10), "Preciso falar com o supervisor.")
    ask(sp(2025, 6, 4, 10))
    flush(config)
    shown = config.cli_json("tickets", "show", str(ref))
    assert (shown["queue"], shown["assignee"]) == ("n3", None)
    steps = [e["data"] for e in shown["events"] if e["kind"] == "customer_escalated"]
    assert [(s["from_queue"], s["to_queue"], s["notified"]) for s in steps] == [
        ("n1", "n2", ["bruno@example.com"]),
        ("n2", "n3", ["ricardo@example.com"]),
        ("n3", None, ["diretoria@example.com"]),
    ]
    [refused] = [e for e in shown["events"] if e["kind"] == "customer_escalation_refused"]
    next_allowed = datetime.fromisoformat(refused["data"]["next_allowed"])
    assert next_allowed == sp(2025, 6, 3, 10)  # one business day after the first
    # Each level is told once it is theirs; later mail reaches them as any update does.
    assert subjects(sink, "bruno@example.com") == [
        f"[#{ref}] Escalado pelo cliente: Boletos",
        f"[#{ref}] Nova mensagem: Boletos",  # the refused request, for the level holding it
        f"[#{ref}] Nova mensagem: Boletos",  # the request that takes it on to n3
    ]
    to_n2 = sink.to("bruno@example.com")[0]
    assert "Maria Souza pediu o escalonamento" in to_n2.text and "Quero escalar" in to_n2.text
    to_n3 = sink.to("ricardo@example.com")[0]
    assert "Escalado pelo cliente" in to_n3.header("Subject")
    assert "Preciso falar com o supervisor." in to_n3.text
    [to_direction] = sink.to("diretoria@example.com")
    assert to_direction.header("Subject") == f"[#{ref}] [Escalonamento pelo cliente] {ref}: Boletos"
    answers = [s for s in subjects(sink, MARIA) if "escalonamento" in s]
    assert answers == [f"[#{ref}] Chamado {ref}: {word}" for word in (
        "escalonamento registrado", "escalonamento já solicitado", "escalonamento registrado",
        "escalonamento registrado",
    )]  # fmt: skip
    polite = next(m for m in sink.to(MARIA) if "já solicitado" in m.header("Subject"))
    assert "a partir de 03/06/2025 10:00" in polite.text
