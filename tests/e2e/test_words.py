"""The admin's words reach the customer (issue 11): a template of the same name in the
`templates/` folder beside the config replaces the packaged one, a template only that
folder holds may be sent by a rule's `reply_with` (seed 003: help articles suggested for
a question), mail is signed with the configured company, and `rules check` refuses a
template that does not parse, at its file and line."""

from __future__ import annotations

import pytest

from tests.support.agents import MARIA, SUPPORT
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink

pytestmark = pytest.mark.e2e

ACK = (
    "Olá {{ requester_name }}, recebemos o chamado {{ ticket.ref }} "
    "({{ ticket.subject }}) da {{ company_name }}.\n\n{{ signature }}\n"
)
ARTICLES = (
    "Enquanto analisamos a sua dúvida ({{ ticket.ref }}), veja os artigos da central de "
    "ajuda: https://ajuda.example.com/boletim\n\n{{ signature }}\n"
)
QUESTION_RULE = """- name: Dúvida recebe sugestão de artigos
  when:
    any:
      - subject: {regex: 'd[uú]vida|como '}
  then:
    category: question
    reply_with: sugestao_artigos
"""


@pytest.fixture
def overridden(gateway_config: GatewayConfig) -> GatewayConfig:
    gateway_config.extra_gateway = 'company_name = "Escola Digital"'
    gateway_config.templates = {
        "pt_BR/acknowledgement.txt.j2": ACK,
        "pt_BR/sugestao_artigos.subject.j2": "Artigos para a sua dúvida: {{ ticket.subject }}",
        "pt_BR/sugestao_artigos.txt.j2": ARTICLES,
    }
    gateway_config.write()
    rules = gateway_config.folder / "rules"
    rules.mkdir()
    (rules / "10-duvidas.yaml").write_text(QUESTION_RULE, encoding="utf-8")
    return gateway_config


def opens(serve: ServeProcess, subject: str) -> str:
    code, answer = serve.send(simple_mail(MARIA, subject, "Bom dia."), "maria@alfa.edu.br", SUPPORT)
    assert code == 250 and b"created" in answer, answer
    return answer.decode().rsplit(" ", 1)[1]


def test_the_admins_templates_reach_the_customer(overridden: GatewayConfig, sink: SmtpSink) -> None:
    assert overridden.cli("rules", "check").returncode == 0
    serve = ServeProcess(overridden).start()
    try:
        ref = opens(serve, "Erro no boletim")
        [ack] = sink.wait_for_count(1, address="maria@alfa.edu.br")
        assert f"recebemos o chamado {ref} (Erro no boletim) da Escola Digital" in ack.text
        assert "Equipe de Suporte Escola Digital" in ack.text
        assert "Equipe de Suporte Escola Digital" in ack.html  # the packaged HTML, signed
        question = opens(serve, "Dúvida: como emitir o boletim")
        articles = sink.wait_for_count(2, address="maria@alfa.edu.br")[-1]
        assert articles.header("Subject") == (
            f"[#{question}] Artigos para a sua dúvida: Dúvida: como emitir o boletim"
        )
        assert "https://ajuda.example.com/boletim" in articles.text
        assert "https://ajuda.example.com/boletim" in articles.html  # its text, escaped
    finally:
        serve.stop()


def test_rules_check_refuses_a_broken_template_at_its_line(overridden: GatewayConfig) -> None:
    broken = overridden.folder / "templates" / "pt_BR" / "sugestao_artigos.txt.j2"
    broken.write_text("Olá,\n\n{% if ticket.ref %}sem fim\n", encoding="utf-8")
    result = overridden.cli("rules", "check", check=False)
    assert result.returncode == 1
    assert f"{broken}:3:1: template syntax error" in result.stderr.decode(), result.stderr
