"""Issue 11's words: dates with the zone's abbreviation, a timer's cause in the locale,
ids shown as labels, the company's signature, the admin's template folder (overrides,
own templates for `reply_with`, syntax errors at file:line), an accented agent's From
encoded whole, and a new ticket's subject without reply prefixes or our tag."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import Directory, MailKind, Queue, clean_subject
from gateway.domain.calendar import BusinessCalendar
from gateway.domain.commands import CommandTerms, read_commands
from gateway.domain.faults import Fault
from gateway.mail.label_texts import FAULTS
from gateway.mail.labels import Words, brand
from outbound.compose import Addressing, Rendered, Templates, compose

SP = ZoneInfo("America/Sao_Paulo")
PT = Words("pt_BR", SP)
AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_a_date_names_the_zone_as_people_there_write_it() -> None:
    assert PT.when(AT) == "01/12/2026 09:00 (BRT)"
    assert Words("en", ZoneInfo("America/Manaus")).when(AT) == "2026-12-01 08:00 (AMT)"
    assert Words("en", ZoneInfo("Europe/Lisbon")).when(AT) == "2026-12-01 12:00 (WET)"
    assert Words("en", ZoneInfo("Asia/Dubai")).when(AT) == "2026-12-01 16:00 (UTC+04)"


def test_a_timers_cause_is_told_in_the_locale_and_bookkeeping_is_not() -> None:
    assert PT.cause("no answer in 5d after it was resolved") == (
        "sem nova mensagem em 5 dias úteis após a solução"
    )
    assert PT.cause("no answer from the customer in 1d") == "sem o seu retorno em 1 dia útil"
    assert PT.cause("some future cause nobody translated") == ""


def test_ids_have_labels_in_the_locale() -> None:
    assert PT.status("waiting_customer") == "aguardando o seu retorno"
    assert PT.environment("production") == "produção"
    assert Words("en", SP).environment("staging") == "staging"


def test_the_signature_is_configuration() -> None:
    assert brand("", "")["pt_BR"]["signature"] == "Equipe de Suporte"
    assert brand("Escola Digital", "")["en"]["signature"] == "The Escola Digital Support Team"
    assert brand("X", "Atenciosamente, Central X")["pt_BR"]["signature"] == (
        "Atenciosamente, Central X"
    )


@pytest.mark.parametrize(
    ("subject", "clean"),
    [
        ("Re: [#TG-00003] Chamado TG-00003 fechado", "Chamado TG-00003 fechado"),
        ("RES: Fwd: RE:  Erro no   login", "Erro no login"),
        ("ENC: [#TG-7] Re[2]: Boletos", "Boletos"),
        ("Resumo mensal", "Resumo mensal"),
        ("Re: ", ""),
    ],
)
def test_a_new_tickets_subject_drops_reply_prefixes_and_our_tag(subject: str, clean: str) -> None:
    assert clean_subject(subject) == clean


def test_an_accented_agents_name_keeps_its_suffix_in_from() -> None:
    mail = compose(
        MailKind.AGENT_REPLY,
        Rendered("Assunto", "texto", "<p>texto</p>"),
        Addressing("suporte@example.com", "João Araújo (Suporte)", [("Zé", "ze@alfa.edu.br")]),
        AT,
    )
    parsed = email.message_from_bytes(mail.content, policy=default)
    assert parsed["From"].addresses[0].display_name == "João Araújo (Suporte)"
    assert parsed["To"].addresses[0].display_name == "Zé"
    assert b"(Suporte)" not in mail.content.split(b"\r\n\r\n")[0]  # not a bare comment


def admin_folder(tmp_path: Path, files: dict[str, str]) -> Templates:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return Templates(tmp_path, brand("Escola Digital", ""))


def test_an_override_wins_and_an_own_template_may_be_a_reply(tmp_path: Path) -> None:
    templates = admin_folder(
        tmp_path,
        {
            "pt_BR/rejection.txt.j2": "Use {{ support_address }}. {{ signature }}",
            "pt_BR/artigos.subject.j2": "Artigos",
            "pt_BR/artigos.txt.j2": "Veja <https://ajuda>",
        },
    )
    context = {"support_address": "s@x.com", "organization_note": ""}
    rendered = templates.render("rejection", "pt_BR", context)
    assert rendered.text == "Use s@x.com. Equipe de Suporte Escola Digital"
    assert "Equipe de Suporte Escola Digital" in rendered.html  # the packaged HTML stays
    assert templates.rule_templates("pt_BR")["reply_with"] == {"acknowledgement", "artigos"}
    assert templates.rule_templates("en")["reply_with"] == {"acknowledgement"}
    # An own template may also be a rule's `reject` (seed 001: "only the direction may ask").
    assert templates.rule_templates("pt_BR")["reject"] == {"rejection", "artigos"}
    assert (
        templates.render("artigos", "pt_BR", {}).html == "<pre>Veja &lt;https://ajuda&gt;</pre>\n"
    )
    assert templates.problems() == []


def test_a_broken_or_incomplete_template_is_named_at_its_line(tmp_path: Path) -> None:
    templates = admin_folder(
        tmp_path,
        {"pt_BR/closed.txt.j2": "Olá\n{{ ticket.ref }\n", "en/faq.txt.j2": "FAQ"},
    )
    found = {
        (p.path.relative_to(tmp_path).as_posix(), p.line): p.message for p in templates.problems()
    }
    assert found[("pt_BR/closed.txt.j2", 2)].startswith("template syntax error")
    assert found[("en/faq.txt.j2", 1)] == "faq.subject.j2 is missing beside it"


def test_a_file_the_gateway_would_never_read_is_an_unknown_template_name(
    tmp_path: Path,
) -> None:
    templates = admin_folder(
        tmp_path,
        {
            "acknowledgement.txt.j2": "outside any locale folder",
            "pt-BR/acknowledgement.txt.j2": "a locale that does not exist",
            "en/acknowledgement.text.j2": "a part that does not exist",
        },
    )
    found = {p.path.relative_to(tmp_path).as_posix(): p.message for p in templates.problems()}
    assert found["acknowledgement.txt.j2"].startswith(
        "unknown template name 'acknowledgement.txt.j2': put it in a locale folder (pt_BR, en)"
    )
    assert found["pt-BR/acknowledgement.txt.j2"].startswith("unknown template name")
    assert found["en/acknowledgement.text.j2"] == (
        "unknown template name 'acknowledgement.text.j2': name it NAME.subject.j2, "
        "NAME.txt.j2 or NAME.html.j2"
    )


def test_no_admin_folder_means_the_packaged_templates(tmp_path: Path) -> None:
    templates = Templates(tmp_path / "absent", brand("", ""))
    assert templates.problems() == []
    assert templates.rule_templates("pt_BR")["reply_with"] == {"acknowledgement"}


def test_an_agents_mistakes_are_told_in_the_locale() -> None:
    """Every command error is a Fault whose code has pt_BR words; English stays the log's."""
    directory = Directory(queues=(Queue("n1", "Nível 1"),))
    terms = CommandTerms(BusinessCalendar(zone=SP), datetime(2026, 12, 7, 10, tzinfo=SP))
    text = (
        "#foo\n#status talvez\n#prioridade 9\n#fila n9\n#ambiente lua\n#atribuir x@y.z\n"
        "#prazo ontem\n#prazo 01/01/2020\n#assumir ana\n#etiqueta a b\n#categoria z\n\nOi"
    )
    errors = read_commands(text, directory, "ana@example.com", terms).errors
    assert len(errors) == 11 and all(isinstance(e, Fault) for e in errors)
    assert errors[0] == "#foo: unknown command '#foo'"  # the English of the audit log
    told = [PT.fault(e) for e in errors]
    assert told[0] == "#foo: comando desconhecido '#foo'"
    assert told[3] == "#fila n9: não há fila 'n9' (filas: n1)"
    assert all(e.code in FAULTS["pt_BR"] for e in errors)  # type: ignore[attr-defined]
    assert Words("en", SP).fault(errors[0]) == "#foo: unknown command '#foo'"
    assert PT.fault("a plain text error") == "a plain text error"
