"""Every row of inbound/reply_patterns.py, as the client writes it, in pt-BR and English at least.

Each case is a customer's reply to the desk: the new words first (or between the quoted
lines), then what the client appended. The extraction must keep exactly the new words.
"""

from __future__ import annotations

import pytest

from inbound.reply_patterns import PATTERNS, Kind
from inbound.reply_text import extract_reply, new_text, split_reply

NEW = "Continua fora do ar depois da atualização."
NEW_EN = "It is still down after the update."
OLD = "Olá Maria,\n\nRecebemos sua solicitação e abrimos o chamado TG-00001.\n"
OLD_EN = "Hello Daniel,\n\nWe received your request and opened ticket TG-00001.\n"


def test_every_row_names_its_language_and_client() -> None:
    for row in PATTERNS:
        assert row.language and row.client and row.regex, row


# --- attributions followed by history without ">" (Gmail app, Outlook mobile, crisp) ---


@pytest.mark.parametrize(
    ("attribution", "history"),
    [
        ("Em seg., 23 de nov. de 2026 às 10:15, Suporte <suporte@example.com> escreveu:", OLD),
        ("Em 23 de nov. de 2026 às 10:15:35, Suporte (\nsuporte@example.com) escreveu:", OLD),
        ("On Mon, Nov 23, 2026 at 10:15 AM Support <support@example.com>\nwrote:", OLD_EN),
        ("On Mon, 23 Nov 2026 10:15:12 -0300 Support <support@example.com> wrote", OLD_EN),
        ("On Nov 23, 2026, at 10:15, Support <\nsupport@example.com<mailto:support@example.com>>"
         " wrote:", OLD_EN),
        ("Le lun. 23 nov. 2026 à 10:15, Support <support@example.com>\na écrit :", OLD),
        ("Am 23.11.2026 um 10:15 schrieb Support <support@example.com>:", OLD),
        ("Op 23 nov. 2026 om 10:15 schreef Support <support@example.com>:", OLD),
        ("Il giorno lun 23 nov 2026 alle ore 10:15 Support <support@example.com>\nha scritto:",
         OLD),
        ("El lun, 23 nov 2026 a las 10:15, Soporte (<soporte@example.com>) escribió:", OLD),
        ("Den 23 november 2026 10:15:18, Support (support@example.com) skrev:", OLD),
        ("W dniu 23.11.2026 o 10:15 Support <support@example.com> napisał:", OLD),
        ("пн, 23 нояб. 2026 г. в 10:15, Support <support@example.com>:", OLD),
        ("2026-11-23 10:15 GMT-03:00 Suporte <suporte@example.com>:", OLD),
        ("23.11.2026, 10:15, \"Suporte\" <suporte@example.com>:", OLD),
    ],
)  # fmt: skip
def test_an_attribution_cuts_the_history_even_without_quote_marks(
    attribution: str, history: str
) -> None:
    text = f"{NEW}\n\n{attribution}\n\n{history}"
    assert extract_reply(text) == NEW


def test_a_polymail_attribution_with_the_address_on_lines_of_its_own() -> None:
    text = (
        f"{NEW_EN}\n\nOn Mon, Nov 23, 2026 at 10:15 AM Support\n\n<\n"
        "mailto:Support <support@example.com>\n> wrote:\n" + OLD_EN
    )
    assert extract_reply(text) == NEW_EN


@pytest.mark.parametrize(
    "text",
    [
        "On Monday the import job wrote:\nERROR 504 gateway timeout\n",
        "Em resumo, o relatório de 2025 escreveu:\nnada no log.\n",
        "Here are the times:\n\n2024-01-15 14:30:25\n15.01.2024 14:30\nJan 15, 2024 at 14:30\n",
        "A URL https://example.com/on-date-someone-wrote-about-parsing fala disso.\n",
    ],
)
def test_a_line_that_only_looks_like_an_attribution_cuts_nothing(text: str) -> None:
    assert extract_reply(text) == text.rstrip("\n")


@pytest.mark.parametrize(
    ("line", "new"),
    [
        ("Obrigada! Em seg., 23 de nov. de 2026 às 10:15, Suporte <s@example.com> escreveu:",
         "Obrigada!"),
        ("Thanks! On Mon, Nov 23, 2026 at 10:15 AM, support@example.com wrote:", "Thanks!"),
        ("Thanks--- On Mon, Nov 23, 2026 at 10:15 AM, support@example.com wrote:", "Thanks"),
    ],
)  # fmt: skip
def test_an_attribution_joined_to_the_new_paragraph_is_split_off(line: str, new: str) -> None:
    quoted = "".join(f"> {old}\n" for old in OLD.splitlines())
    assert extract_reply(f"{line}\n{quoted}") == new


# --- Outlook header blocks ---------------------------------------------------------

HEADER_BLOCKS = [
    # pt-BR Outlook desktop and web
    "De: Suporte <suporte@example.com>\nEnviado: segunda-feira, 23 de novembro de 2026 10:15\n"
    "Para: Maria <maria@alfa.edu.br>\nAssunto: [#TG-00001] Recebemos",
    # en Outlook, bold as the text part of an HTML mail shows it, address wrapped
    "*From:* Support [mailto:\nsupport@example.com]\n*Sent:* Monday, November 23, 2026 10:15 AM\n"
    "*To:* daniel@example.com\n*Subject:* Ack",
    # en, a block that starts with the date (some webmails)
    "Date: Mon, 23 Nov 2026 10:15:02 -0300\nTo: daniel@example.com",
    # de Outlook
    "Von: Support <support@example.com>\nGesendet: Montag, 23. November 2026 10:15\n"
    "An: Daniel <daniel@example.com>\nBetreff: AW: Ticket",
    # fr Outlook / Hotmail, indented as Hotmail sends it
    "   De : Support<mailto:support@example.com>\n   Envoyé le :lundi 23 novembre 2026 10:15\n"
    "   À : daniel@example.fr\n   Objet :Ticket",
    # it Outlook
    "Da: Support <support@example.com>\nInviato: lunedì 23 novembre 2026 10:15\n"
    "A: daniel@example.it\nOggetto: Ticket",
    # nl Outlook
    "Van: Support [mailto:support@example.com]\nVerzonden: maandag 23 november 2026 10:15\n"
    "Aan: daniel@example.nl\nOnderwerp: Ticket",
    # da/no Outlook
    "Fra: support@example.com\nSendt: 23. november 2026 10:15\nTil: Daniel\nEmne: Ticket",
    # sv Outlook
    "Från: Support [mailto:support@example.com]\nSkickat: den 23 november 2026 10:15\n"
    "Till: Daniel\nÄmne: Ticket",
    # es Outlook
    "De: Soporte <soporte@example.com>\nEnviado: lunes, 23 de noviembre de 2026 10:15\n"
    "Para: Daniel\nAsunto: Ticket",
    # ru Windows Mail
    "От: Support\nОтправлено: понедельник, 23 ноября 2026 г. 10:15\nКому: Daniel",
    # fr La Poste webmail, after its "====" rule
    '====\n\nMessage du : 23/11/2026 10:15\nDe : "Support" <support@example.com>\n'
    "A : daniel@example.fr\nSujet : Ticket",
    # Outlook rule then a block whose From line wrapped its long address
    " ------------------------------\n\nFrom: Human Resources\n<very-long-address@example.com>\n"
    "Sent: Monday, November 23, 2026 10:15 AM\nTo: Daniel",
]


@pytest.mark.parametrize("block", HEADER_BLOCKS)
def test_a_header_block_in_any_language_starts_the_history(block: str) -> None:
    assert extract_reply(f"{NEW}\n\n{block}\n\n{OLD}") == NEW


@pytest.mark.parametrize(
    "text",
    [
        "From: our office in Recife\nTo: the data center, the link is down.\n",
        "Invitation:\n\nDate: Wednesday 3, October 2026\nTime: 7:00am\nAddress: 130 Fox St\n",
        "De: segunda a sexta\nPara: todos os turnos, o sistema cai às 10h.\n",
    ],
)
def test_prose_with_field_like_lines_is_not_a_header_block(text: str) -> None:
    assert extract_reply(text) == text.rstrip("\n")


# --- separators --------------------------------------------------------------------


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Mensagem original-----",
        "-------- Mensagem original --------",  # Samsung Email, pt-BR
        "-----Ursprüngliche Nachricht-----",
        "-------- Message d'origine --------",
        "-----Messaggio originale-----",
        "-------- Oprindelig besked --------",
        "-----Reply Message-----",
        "---- On Mon, 23 Nov 2026 10:15:12 -0300 Support <support@example.com> wrote ----",  # Zoho
        "---- Em seg, 23 nov 2026 10:15:12 -0300 Suporte <suporte@example.com> escreveu ----",
        "---- Support wrote ----",  # Android
    ],
)
def test_a_separator_starts_the_history(separator: str) -> None:
    assert extract_reply(f"{NEW}\n\n{separator}\n{OLD}") == NEW


@pytest.mark.parametrize(
    "text",
    [
        "Resumo:\n\n----\n\n1. Desempenho\n\n====\n\nFim.\n",
        "Feedback below, please.\n\n---------- Enter Feedback Below ----------\n\nGood.\n",
        "Itens:\n-- primeiro ponto\n-- segundo ponto\n",
    ],
)
def test_decorative_rules_are_not_separators(text: str) -> None:
    assert extract_reply(text) == text.rstrip("\n")


# --- mobile signatures -------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "Enviado do meu iPhone",
        "Sent from my iPhone",
        "Sent from my Galaxy S23",
        "Enviado do Outlook para Android<https://aka.ms/ghei36>",
        "Envoyé à partir de Outlook pour iOS<https://aka.ms/o0ukef>",
        "Gesendet von Outlook für Android<https://aka.ms/AAb9ysg>",
        "Sent from TypeApp<http://www.typeapp.com/r?b=2621>",
    ],
)
def test_what_follows_a_mobile_signature_is_history(signature: str) -> None:
    assert extract_reply(f"{NEW}\n\n{signature}\n\n{OLD}") == NEW
    assert extract_reply(f"{NEW}\n\n{signature}\n") == NEW


def test_a_sentence_that_starts_like_a_mobile_signature_is_kept() -> None:
    text = "Sent from my desk, which is easier than the phone.\n\nEnviado do meu iPhone funciona?\n"
    assert extract_reply(text) == text.rstrip("\n")


# --- signatures, sign-offs, list footers ---------------------------------------------


@pytest.mark.parametrize("delimiter", ["-- ", "--"])
def test_a_signature_delimiter_before_a_name_cuts_the_signature(delimiter: str) -> None:
    assert extract_reply(f"{NEW}\n{delimiter}\nMaria Souza\nEscola Alfa\n") == NEW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Obrigada pela ajuda.\n\nEm 23/11/2026 10:15, Suporte escreveu:\n\n> Olá\n> Teste\n\n"
         "Atenciosamente, Maria", "Obrigada pela ajuda.\n\nAtenciosamente, Maria"),
        ("Test reply\n\nOn 23/11/2026 10:15 AM, Support wrote:\n\n>\n> Test\n\nRegards, Daniel",
         "Test reply\n\nRegards, Daniel"),
    ],
)  # fmt: skip
def test_a_sign_off_after_the_quote_does_not_keep_the_quote(text: str, expected: str) -> None:
    assert extract_reply(text) == expected


def test_sign_offs_and_dash_names_are_kept() -> None:
    text = "Podem verificar?\n\nAtenciosamente,\n\nMaria Souza\nEscola Alfa\n\n-Maria\n"
    assert extract_reply(text) == text.rstrip("\n")


@pytest.mark.parametrize(
    "footer",
    [
        "_______________________________________________\nsuporte-alfa mailing list\n"
        "suporte-alfa@lists.example.com\nhttps://lists.example.com/mailman/listinfo/suporte-alfa",
        "__\nLista de discussão suporte-alfa\nhttps://lists.example.com/listinfo/suporte-alfa",
    ],
)
def test_a_mailing_list_footer_is_cut(footer: str) -> None:
    assert extract_reply(f"{NEW}\n\n{footer}\n") == NEW


# --- quotes the client wrapped -------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "attribution", "wrapped"),
    [
        (NEW, "Em 23/11/2026 10:15, Suporte <suporte@example.com> escreveu:",
         "> Recebemos sua solicitação e abrimos o chamado para a equipe de infraestrutura d\n"
         "e plantão.\n"),
        (NEW_EN, "On 23/11/2026 10:15, Support <support@example.com> wrote:",
         "> We received your request and opened a ticket for the infrastructure team on c\n"
         "all tonight.\n"),
    ],
)  # fmt: skip
def test_a_quoted_line_the_client_wrapped_without_its_mark_stays_in_the_quote(
    new: str, attribution: str, wrapped: str
) -> None:
    text = f"{new}\n\n{attribution}\n{wrapped}>\n> Link: (http://example.com/ticket\n_id=1)\n>\n"
    assert extract_reply(text) == new


def test_an_inline_answer_below_a_long_question_is_still_an_answer() -> None:
    text = (
        "Em 23/11/2026 10:15, Suporte escreveu:\n"
        "> Qual a versão do sistema instalada no servidor de produção da escola?\n"
        "A 7.2.1.\n> O erro aparece para todos?\nSim.\n"
    )
    assert extract_reply(text) == (
        "> Qual a versão do sistema instalada no servidor de produção da escola?\n"
        "A 7.2.1.\n> O erro aparece para todos?\nSim."
    )


def test_lower_case_and_link_answers_between_quoted_lines_are_answers() -> None:
    text = (
        "On Mon, Nov 23, 2026 at 10:15 AM Support <support@example.com> wrote:\n"
        "> Could you tell us which version of the system is installed on the server?\n"
        "version 7.2.1, installed last week\n"
        "> Where can we download the log?\n"
        "https://files.example.com/log.zip\n"
        "> Thanks\n"
    )
    assert extract_reply(text) == (
        "> Could you tell us which version of the system is installed on the server?\n"
        "version 7.2.1, installed last week\n> Where can we download the log?\n"
        "https://files.example.com/log.zip"
    )


# --- HTML ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "history",
    [
        "<hr><b>De:</b> Suporte &lt;suporte@example.com&gt;<br><b>Enviado:</b> segunda<br>",
        "<div><hr><font><b>From: support@example.com</b><b>Date: Mon, 23 Nov 2026</b></font></div>",
        "<div>Em 23/11/2026 10:15, Suporte &lt;s@example.com&gt; escreveu:</div><div>Olá</div>",
        "<div>On Mon, Nov 23, 2026 at 10:15 AM, Support &lt;s@x.com&gt; wrote:</div><div>Hi</div>",
        "<p>23.11.2026, 10:15, \"Suporte\" &lt;s@example.com&gt;:</p><blockquote>Olá</blockquote>",
        "<blockquote>Olá Maria</blockquote>",
    ],
)  # fmt: skip
def test_html_history_after_an_hr_a_div_or_a_bare_blockquote_is_cut(history: str) -> None:
    assert new_text("", f"<div>{NEW}</div>{history}<div><br></div>") == NEW


@pytest.mark.parametrize(
    "after_rule",
    ["<div>Data: 03/12 - Reunião de implantação</div><div>Local: sala 2</div>",
     "<p>Para: todos os professores</p><p>Assunto: provas</p>"],
)  # fmt: skip
def test_an_hr_before_ordinary_text_cuts_nothing(after_rule: str) -> None:
    html = f"<div>Segue a agenda.</div><hr>{after_rule}"
    assert new_text("", html).endswith(new_text("", after_rule))


def test_a_gmail_html_forward_without_comment_keeps_the_forward() -> None:
    html = (
        '<div dir="ltr"><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        "---------- Forwarded message ---------<br>De: <b>Financeiro</b> "
        "&lt;financeiro@fornecedor.com.br&gt;<br>Date: seg., 23 de nov. de 2026<br>"
        'Subject: Boleto recusado<br></div><br><div dir="ltr">O boleto 123 foi recusado.</div>'
        "</div></div>"
    )
    assert new_text("", html).endswith("Subject: Boleto recusado\n\nO boleto 123 foi recusado.")


def test_the_senders_own_quote_in_html_is_kept() -> None:
    gmail_button = (
        '<div>Segundo o manual:</div><blockquote class="gmail_quote">Limite: 10.</blockquote>'
    )
    assert new_text("", gmail_button) == "Segundo o manual:\nLimite: 10."
    before_history = (
        "<div>Veja:</div><blockquote>Limite: 10.</blockquote>"
        "<div>Em 23/11/2026 10:15, Suporte &lt;s@example.com&gt; escreveu:</div>"
        "<blockquote>Olá</blockquote>"
    )
    assert new_text("", before_history) == "Veja:\nLimite: 10."


def test_split_reply_hands_back_the_whole_text_as_history() -> None:
    text = f"{NEW}\n\nEnviado do meu iPhone\n\n{OLD}"
    reply = split_reply(text)
    assert reply.new == NEW
    assert reply.history == text.rstrip("\n")
    assert split_reply(NEW).history == ""


def test_the_pattern_kinds_are_all_used() -> None:
    assert {row.kind for row in PATTERNS} == set(Kind)
