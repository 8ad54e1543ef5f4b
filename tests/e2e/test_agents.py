"""Agents work tickets from their mail client (issue 3), end to end through real SMTP.

Agent replies are built the way Outlook and Gmail build them: commands and
text on top, the notification quoted below.
"""

from __future__ import annotations

import re

import pytest

from tests.support.agents import (
    AGENT_ADDRESS,
    AGENT_AUTH,
    MARIA,
    SUPPORT,
    agent_sends,
    answer_to_customer,
    barrier,
    customer_writes,
    gmail_reply,
    outlook_reply,
)
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import new_message_id, simple_mail
from tests.support.sink import SmtpSink
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def test_new_ticket_and_updates_notify_queue_agents_threaded_with_facts(
    serve: ServeProcess, sink: SmtpSink
) -> None:
    attachment = "Content-Type: multipart/mixed; boundary=b\r\n"
    raw = (
        f"From: {MARIA}\r\nTo: {SUPPORT}\r\nSubject: Erro no boletim\r\n"
        f"Message-ID: {new_message_id('alfa.edu.br')}\r\nMIME-Version: 1.0\r\n{attachment}\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSegue o print do erro.\r\n"
        "--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=erro.png\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n"
    ).encode()
    code, answer = serve.send(raw, "maria@alfa.edu.br", SUPPORT)
    assert code == 250
    ref = answer.decode().rsplit(" ", 1)[1]
    for agent in ("ana@example.com", "carlos@example.com"):
        [note] = sink.wait_for_count(1, address=agent)
        assert note.header("Subject") == f"[#{ref}] Novo chamado: Erro no boletim"
        assert AGENT_ADDRESS.fullmatch(note.header("Reply-To"))
        assert note.header("Auto-Submitted") == "auto-generated"
        text = note.text
        assert "Segue o print do erro." in text
        for fact in (
            f"Chamado:        {ref}",
            "Solicitante:    Maria Souza <maria@alfa.edu.br>",
            "Organização:    Escola Alfa",
            "Prioridade:     3 (normal)",
            "Fila:           Suporte Nível 1 (#fila n1)",
            "1ª resposta até:",
            "##- Responda acima desta linha -##",
        ):
            assert fact in text, fact
        [png] = [p for p in note.message.iter_attachments()]
        assert png.get_filename() == "erro.png" and png.get_content_type() == "image/png"
    assert not sink.to("bruno@example.com"), "another queue's agent was told"

    first_root = sink.to("ana@example.com")[0].header("References")
    code, _ = serve.send(
        simple_mail(MARIA, f"Re: [#{ref}] Erro no boletim", "Acontece em todos os alunos."),
        "maria@alfa.edu.br",
        SUPPORT,
    )
    update = sink.wait_for_count(2, address="ana@example.com")[-1]
    assert update.header("Subject") == f"[#{ref}] Nova mensagem: Erro no boletim"
    assert "Acontece em todos os alunos." in update.text
    assert update.header("References") == first_root  # one thread per ticket in the agent's client


def test_outlook_reply_with_commands_reaches_the_customer_from_support_only(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, customer_mid, notification = customer_writes(serve, sink)
    answer = agent_sends(
        serve,
        outlook_reply(
            notification,
            "#status aguardando_cliente\n#prioridade 2\n#etiqueta servidor\n\n"
            "Olá Maria, reiniciamos o servidor da secretaria.\nPode testar de novo?",
        ),
    )
    assert f"threaded {ref}".encode() in answer
    reply = answer_to_customer(sink, ref)
    raw = reply.raw.decode("utf-8", "replace")
    assert reply.mail_from == SUPPORT
    assert "ana@example.com" not in raw, "the agent's mailbox leaked"
    assert re.fullmatch(r'"Ana Ribeiro \(Suporte\)" <suporte@example\.com>', reply.header("From"))
    assert reply.header("Subject") == f"[#{ref}] Re: Sistema fora do ar"
    assert reply.header("In-Reply-To") == customer_mid
    assert reply.header("Reply-To").startswith(f"suporte+{ref.lower()}.")
    assert not reply.header("Reply-To").endswith(".agent@example.com")
    assert not reply.header("Auto-Submitted")
    text = reply.text
    assert text.startswith("Olá Maria, reiniciamos o servidor da secretaria.\nPode testar de novo?")
    assert "Ana Ribeiro" in text
    for secret in (
        "#status",
        "#prioridade",
        "Responda acima",
        "Solicitante",
        "De: Suporte",
        ".agent@",
    ):
        assert secret not in raw, f"{secret!r} reached the customer"

    shown = gateway_config.cli_json("tickets", "show", ref)
    assert (shown["status"], shown["priority"], shown["tags"]) == (
        "waiting_customer",
        2,
        ["servidor"],
    )
    [answer_row] = [m for m in shown["messages"] if m["message_id"] == reply.header("Message-ID")]
    assert (answer_row["direction"], answer_row["visibility"]) == ("outbound", "public")
    assert answer_row["sender"] == "ana@example.com"
    assert answer_row["body"].startswith("Olá Maria, reiniciamos o servidor")
    changes = [(e["kind"], e["actor"]) for e in shown["events"]]
    assert ("status_changed", "ana@example.com") in changes
    assert ("field_changed", "ana@example.com") in changes
    assert ("first_response", "ana@example.com") in changes

    # The customer's answer to the agent threads back and reopens the ticket.
    _, back = serve.send(
        simple_mail(
            MARIA,
            reply.header("Subject"),
            "Funcionou!",
            extra=f"In-Reply-To: {reply.header('Message-ID')}\r\n",
        ),
        "maria@alfa.edu.br",
        SUPPORT,
    )
    assert f"threaded {ref}".encode() in back
    assert gateway_config.cli_json("tickets", "show", ref)["status"] == "open"


def test_gmail_reply_assigns_and_later_updates_go_to_the_assignee_only(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, notification = customer_writes(serve, sink)
    agent_sends(serve, gmail_reply(notification, "#assign me\n\nOi Maria, estou verificando."))
    reply = answer_to_customer(sink, ref)
    assert reply.text.startswith("Oi Maria, estou verificando.")
    assert "escreveu:" not in reply.text and "#assign" not in reply.text
    assert gateway_config.cli_json("tickets", "show", ref)["assignee"] == "ana@example.com"

    carlos_before = len(sink.wait_for_count(1, address="carlos@example.com"))
    serve.send(
        simple_mail(MARIA, f"Re: [#{ref}] x", "Mais detalhes."), "maria@alfa.edu.br", SUPPORT
    )
    update = sink.wait_for_count(2, address="ana@example.com")[-1]
    assert "Mais detalhes." in update.text
    barrier(serve, sink)
    # The barrier's "new ticket" mail is queued after the update's: FIFO makes it the last.
    to_carlos = sink.wait_for_count(carlos_before + 1, address="carlos@example.com")
    assert len(to_carlos) == carlos_before + 1
    assert "barreira" in to_carlos[-1].header("Subject")


@pytest.mark.parametrize("route", ["command", "note_address"])
def test_internal_notes_reach_other_agents_never_the_customer(
    route: str, serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, notification = customer_writes(serve, sink)
    note_address = re.search(r"Nota interna: escreva para (\S+)", notification.text)
    assert note_address
    text = "Cliente antigo, já teve esse problema em 2025; ver chamado anterior."
    if route == "command":
        raw = gmail_reply(notification, "#nota\n\n" + text)
    else:
        raw = simple_mail(
            "Ana Ribeiro <ana@example.com>",
            f"[#{ref}] obs",
            text,
            to=note_address.group(1),
            extra=AGENT_AUTH,
        )
    agent_sends(serve, raw)
    [_, note] = sink.wait_for_count(2, address="carlos@example.com")
    assert note.header("Subject") == f"[#{ref}] Nota interna: Sistema fora do ar"
    assert text in note.text
    barrier(serve, sink)
    to_maria = [m for m in sink.to("maria@alfa.edu.br") if ref in m.header("Subject")]
    assert len(to_maria) == 1 and "Recebemos" in to_maria[0].header("Subject")
    assert (
        len([m for m in sink.to("ana@example.com") if "Nota interna" in m.header("Subject")]) == 0
    )
    last = gateway_config.cli_json("tickets", "show", ref)["messages"][-1]
    assert (last["visibility"], last["body"]) == ("internal", text)


def test_invalid_commands_bounce_to_the_agent_only_and_change_nothing(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, notification = customer_writes(serve, sink)
    agent_sends(
        serve, outlook_reply(notification, "#prioridade 9\n#fila n7\n#pular\n\nResolvido, Maria!")
    )
    errors = [
        m
        for m in sink.wait_for_count(2, address="ana@example.com")
        if "Não executado" in m.header("Subject")
    ]
    [error] = errors
    assert "#prioridade 9: a prioridade é 0, 1, 2 ou 3" in error.text
    assert "#fila n7: não há fila 'n7'" in error.text
    assert "#pular: comando desconhecido '#pular'" in error.text
    assert "Nada foi enviado ao cliente" in error.text
    barrier(serve, sink)
    assert not [m for m in sink.to("maria@alfa.edu.br") if "Re:" in m.header("Subject")]
    shown = gateway_config.cli_json("tickets", "show", ref)
    assert (shown["priority"], shown["queue"], shown["status"]) == (3, "n1", "new")
    assert shown["messages"][-1]["visibility"] == "internal"


def test_commands_only_send_nothing_to_the_customer(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, notification = customer_writes(serve, sink)
    agent_sends(serve, gmail_reply(notification, "#prioridade 1\n#ambiente homologacao"))
    barrier(serve, sink)
    assert [
        m.header("Subject") for m in sink.to("maria@alfa.edu.br") if ref in m.header("Subject")
    ] == [f"[#{ref}] Recebemos sua solicitação: Sistema fora do ar"]
    shown = gateway_config.cli_json("tickets", "show", ref)
    assert (shown["priority"], shown["environment"]) == (1, "staging")


def test_escalate_moves_to_the_next_level_and_tells_it(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, notification = customer_writes(serve, sink)
    agent_sends(serve, gmail_reply(notification, "#escalar\n\nBruno, precisa de acesso ao banco."))
    [told] = sink.wait_for_count(1, address="bruno@example.com")
    assert told.header("Subject") == f"[#{ref}] Chamado escalado: Sistema fora do ar"
    assert "Bruno, precisa de acesso ao banco." in told.text
    assert gateway_config.cli_json("tickets", "show", ref)["queue"] == "n2"


def test_cc_followers_get_updates_and_outsiders_get_nothing(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    """Pedro may follow; João, a colleague without permission (issue 11, seed 001), is
    dropped like an outsider."""
    cc = (
        "Pedro Alves <pedro@alfa.edu.br>, João Lima <joao@alfa.edu.br>, "
        "Fornecedor <x@fornecedor.example>"
    )
    ref, _, notification = customer_writes(serve, sink, extra=f"Cc: {cc}\r\n")
    shown = gateway_config.cli_json("tickets", "show", ref)
    dropped = [e for e in shown["events"] if e["kind"] == "recipients_dropped"]
    outsiders = ["joao@alfa.edu.br", "x@fornecedor.example"]
    assert dropped and dropped[0]["data"]["addresses"] == outsiders
    reply = gmail_reply(notification, "Maria e Pedro, já corrigimos.")
    reply = reply.replace(
        b"\r\nSubject:", b"\r\nCc: Outro <y@outra-empresa.example>\r\nSubject:", 1
    )
    agent_sends(serve, reply)
    answer = answer_to_customer(sink, ref)
    assert set(answer.rcpt_tos) == {"maria@alfa.edu.br", "pedro@alfa.edu.br"}
    assert answer.header("Cc") == "pedro@alfa.edu.br"
    barrier(serve, sink)
    assert not sink.to("x@fornecedor.example") and not sink.to("y@outra-empresa.example")
    assert not sink.to("joao@alfa.edu.br")
    events = gateway_config.cli_json("tickets", "show", ref)["events"]
    assert any(
        e["kind"] == "recipients_dropped" and e["data"]["addresses"] == ["y@outra-empresa.example"]
        for e in events
    )


def test_agent_opens_a_ticket_for_a_customer(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    raw = simple_mail(
        "Ana Ribeiro <ana@example.com>",
        "Ligação: boletos não saem",
        "#solicitante maria@alfa.edu.br\n#prioridade 1\n\n"
        "Conforme conversamos por telefone, abrimos este chamado para os boletos.",
        extra=AGENT_AUTH,
    )
    code, answer = serve.send(raw, "ana@example.com", SUPPORT)
    assert code == 250 and b"created" in answer
    ref = answer.decode().rsplit(" ", 1)[1]
    [ack] = sink.wait_for_count(1, address="maria@alfa.edu.br")
    assert ack.header("Subject") == f"[#{ref}] Recebemos sua solicitação: Ligação: boletos não saem"
    assert "ana@example.com" not in ack.raw.decode()
    shown = gateway_config.cli_json("tickets", "show", ref)
    assert (shown["requester"], shown["organization"], shown["priority"]) == (
        "maria@alfa.edu.br",
        "alfa",
        1,
    )
    assert shown["messages"][0]["body"].startswith("Conforme conversamos por telefone")
    [told] = sink.wait_for_count(1, address="carlos@example.com")
    assert "Novo chamado" in told.header("Subject")


def test_agent_mail_that_names_no_ticket_gets_help(serve: ServeProcess, sink: SmtpSink) -> None:
    code, answer = serve.send(
        simple_mail("Ana Ribeiro <ana@example.com>", "oi", "Testando.", extra=AGENT_AUTH),
        "ana@example.com",
        SUPPORT,
    )
    assert code == 250 and b"rejected" in answer
    [help_mail] = sink.wait_for_count(1, address="ana@example.com")
    assert "#solicitante cliente@exemplo.com.br" in help_mail.text


def test_a_forged_agent_from_without_the_signed_address_reaches_no_customer(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, _ = customer_writes(serve, sink)
    forged = simple_mail(
        "Ana Ribeiro <ana@example.com>",
        f"Re: [#{ref}] Sistema fora do ar",
        "#status fechado\n\nMaria, mande sua senha para conferirmos.",
        extra=AGENT_AUTH,  # even an authenticated agent needs the signed address
    )
    code, answer = serve.send(forged, "ana@example.com", SUPPORT)
    assert code == 250 and b"rejected" in answer
    warning = wait_for(
        lambda: [m for m in sink.to("ana@example.com") if "Não executado" in m.header("Subject")],
        20,
        "the warning to the real agent",
    )[0]
    assert "endereço de resposta assinado" in warning.text
    barrier(serve, sink)
    assert not any("senha" in m.text for m in sink.to("maria@alfa.edu.br"))
    assert gateway_config.cli_json("tickets", "show", ref)["status"] == "new"


def test_another_agents_copy_of_a_notification_gives_no_powers(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    """Agent addresses are bound to their agent: Carlos replying through Ana's
    (forwarded) notification is not carried out."""
    ref, _, notification = customer_writes(serve, sink)
    raw = gmail_reply(
        notification, "#status fechado\n\nEncerrando.", sender="Carlos <carlos@example.com>"
    )
    code, answer = serve.send(raw, "carlos@example.com", notification.header("Reply-To"))
    assert code == 250 and b"rejected" in answer, answer
    barrier(serve, sink)
    assert not [m for m in sink.to("maria@alfa.edu.br") if "Encerrando" in m.text]
    assert gateway_config.cli_json("tickets", "show", ref)["status"] == "new"
