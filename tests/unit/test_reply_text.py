"""Reply extraction: real client mails in, only the sender's new words out."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.domain import ParsedMessage, TicketRef
from inbound.mime import parse_message, unflow
from inbound.reply_text import extract_reply, html_to_text, new_text

REPLIES = Path(__file__).resolve().parent.parent / "fixtures" / "mail" / "replies"
FIXTURES = sorted(REPLIES.glob("*.eml"))
REQUIRED = {
    "gmail_ptbr",
    "gmail_en",
    "outlook_ptbr",
    "outlook_en",
    "iphone_ptbr",
    "apple_mail_en",
    "thunderbird_ptbr",
    "inline_answers_ptbr",
    "html_only_outlook",
    "signature_dashdash",
}


def _parse(path: Path) -> ParsedMessage:
    return parse_message(path.read_bytes())


def _expected(path: Path) -> str:
    # The files end with one newline, as text files do; the extracted text does not.
    return path.with_name(f"{path.stem}.expected.txt").read_text("utf-8").removesuffix("\n")


def test_the_fixture_folder_holds_every_client() -> None:
    assert {path.stem for path in FIXTURES} >= REQUIRED


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.stem)
def test_fixture_new_text_matches_expected(path: Path) -> None:
    message = _parse(path)
    assert new_text(message.text_body, message.html_body) == _expected(path)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.stem)
def test_fixture_is_a_threaded_reply_whose_history_is_removed(path: Path) -> None:
    message = _parse(path)
    assert message.message_id is not None
    assert message.in_reply_to
    assert TicketRef.find_in_subject(message.subject) == TicketRef(1)
    body = message.text_body or message.html_body
    assert "TG-00001" in body
    assert "TG-00001" not in new_text(message.text_body, message.html_body)


HTML_FIXTURES = [path for path in FIXTURES if _parse(path).html_body]


@pytest.mark.parametrize("path", HTML_FIXTURES, ids=lambda path: path.stem)
def test_fixture_html_part_gives_the_same_words(path: Path) -> None:
    # The text part is hard-wrapped by some clients, so compare words, not lines.
    message = _parse(path)
    from_html = new_text("", message.html_body)
    assert from_html.split() == _expected(path).split()


# --- extract_reply -----------------------------------------------------------------

INLINE = """\
Em seg., 23 de nov. de 2026 às 10:00, Suporte <suporte@x> escreveu:
> Qual a versão do sistema?
7.2.1
> O erro acontece em produção?
Sim, só em produção.
>
> Atenciosamente"""


def test_inline_answers_keep_the_question_before_each_answer() -> None:
    assert extract_reply(INLINE) == (
        "> Qual a versão do sistema?\n7.2.1\n> O erro acontece em produção?\nSim, só em produção."
    )


def test_inline_answer_keeps_only_the_last_quoted_paragraph_as_context() -> None:
    text = (
        "On Mon, Nov 23, 2026 at 10:15 AM Support <s@example.com> wrote:\n"
        "> Hello Daniel,\n"
        ">\n"
        "> We need two details to go on.\n"
        ">\n"
        "> Which version is installed\n"
        "> on the server?\n"
        "7.2.1\n"
        "> Thanks,\n"
        "> Support\n"
    )
    assert extract_reply(text) == "> Which version is installed\n> on the server?\n7.2.1"


def test_a_single_inline_answer_inside_the_quote_keeps_its_question() -> None:
    text = "Em 23/11/2026 10:15, Suporte escreveu:\n> Olá\n>\n> Qual a versão?\n7.2.1\n>\n> Abs\n"
    assert extract_reply(text) == "> Qual a versão?\n7.2.1"


def test_the_customers_own_quote_between_new_paragraphs_is_kept() -> None:
    text = (
        "Segundo o manual:\n"
        "> O limite é de 10 arquivos por envio.\n"
        "Mas o sistema recusa a partir do quinto arquivo.\n"
    )
    assert extract_reply(text) == text.rstrip("\n")


def test_bottom_posted_reply_drops_the_whole_quote() -> None:
    text = "Em 23/11/2026 10:15, Suporte escreveu:\n> Olá Maria,\n> Chamado aberto.\n\nObrigada!\n"
    assert extract_reply(text) == "Obrigada!"


def test_top_posted_reply_drops_attribution_and_quote() -> None:
    text = "Obrigada!\n\nOn Mon, Nov 23, 2026 at 10:15 AM Support <s@x> wrote:\n\n> Hi\n>> old\n"
    assert extract_reply(text) == "Obrigada!"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Nov 23, 2026 at 10:00 AM Maria <m@x> wrote:",
        "On Mon, Nov 23, 2026 at 10:00 AM Maria <m@x>\nwrote:",
        "Em seg., 23 de nov. de 2026 às 10:00, Maria <m@x> escreveu:",
        "Em seg., 23 de nov. de 2026 às 10:00, Maria <m@x>\nescreveu:",
        "On 23 Nov 2026, at 10:00, Maria <m@x> wrote:",
        "Em 23 de nov. de 2026, à(s) 10:00, Maria <m@x> escreveu:",
        "On 23/11/2026 10:00, Maria wrote:",
        "Em 23/11/2026 10:00, Maria escreveu:",
    ],
)
def test_attribution_lines_are_removed(attribution: str) -> None:
    text = f"Resolvido, obrigada.\n\n{attribution}\n> Olá\n> Chamado aberto.\n"
    assert extract_reply(text) == "Resolvido, obrigada."


def test_a_new_line_starting_with_em_is_not_taken_for_a_wrapped_attribution() -> None:
    text = "Em breve envio os logs.\nSuporte <suporte@example.com> escreveu:\n> Olá\n"
    assert extract_reply(text) == "Em breve envio os logs."


def test_a_line_ending_in_wrote_is_kept_when_no_quote_follows() -> None:
    text = "On Monday the import job wrote:\nERROR 504 gateway timeout\n"
    assert extract_reply(text) == text.rstrip("\n")


@pytest.mark.parametrize(
    "history",
    [
        "From: Support <s@example.com>\nSent: Monday, November 23, 2026 10:15 AM\n"
        "To: Daniel <d@example.com>\nSubject: [#TG-00001] Ack",
        "-----Original Message-----\nFrom: Support <s@example.com>\n"
        "Sent: Monday, November 23, 2026 10:15 AM\nTo: Daniel <d@example.com>\nSubject: Ack",
        "________________________________\nDe: Suporte <s@example.com>\n"
        "Enviado: segunda-feira, 23 de novembro de 2026 10:15\nPara: Maria <m@example.com>\n"
        "Assunto: [#TG-00001] Recebemos",
        "De: Suporte <s@example.com>\nEnviada em: segunda-feira, 23 de novembro de 2026 10:15\n"
        "Para: Maria <m@example.com>\nCc: Joao <j@example.com>\nAssunto: Recebemos",
        "-----Mensagem original-----\nDe: Suporte <s@example.com>\nData: 23/11/2026\n"
        "Assunto: Recebemos",
        "-----Mensagem Original-----\nDe: Suporte\nEnviada em: segunda-feira\nPara: Maria",
        "________________________________\nDe: Suporte <s@example.com>\nEnviado: segunda-feira",
    ],
)
def test_outlook_history_block_and_everything_after_it_is_removed(history: str) -> None:
    text = f"Resolvido, obrigada.\n\n{history}\n\nOlá Maria,\n\nChamado aberto.\n"
    assert extract_reply(text) == "Resolvido, obrigada."


def test_a_prose_line_starting_with_from_does_not_cut_the_message() -> None:
    text = (
        "Segue o log.\n"
        "From: the manual, the limit is 10 files per upload.\n"
        "We are sending 12.\n"
        "\n"
        "Maria\n"
    )
    assert extract_reply(text) == text.rstrip("\n")


def test_from_followed_by_one_header_line_without_a_rule_is_prose() -> None:
    text = "From: our office in Recife\nTo: the data center, the link is down.\n"
    assert extract_reply(text) == text.rstrip("\n")


def test_a_forward_without_comment_is_kept_whole() -> None:
    # A forward brings its content to the desk: the ticket must not come out empty.
    text = (
        "---------- Forwarded message ---------\n"
        "From: Financeiro <financeiro@fornecedor.com.br>\n"
        "Date: Mon, Nov 23, 2026 at 10:15 AM\n"
        "Subject: Boleto recusado\n"
        "To: <maria@alfa.edu.br>\n"
        "\n"
        "Olá Maria,\n"
        "O boleto 123 foi recusado pelo banco.\n"
    )
    assert extract_reply(text) == text.rstrip("\n")


def test_a_forward_with_a_comment_keeps_the_comment_and_the_forward() -> None:
    text = (
        "Veja abaixo o que recebemos.\n\n"
        "> citação antiga que não vale\n\n"
        "---------- Mensagem encaminhada ---------\n"
        "De: Financeiro <financeiro@fornecedor.com.br>\n"
        "Date: seg., 23 de nov. de 2026 às 10:15\n"
        "Subject: Boleto recusado\n"
        "To: <maria@alfa.edu.br>\n"
    )
    assert extract_reply(text) == (
        "Veja abaixo o que recebemos.\n\n---------- Mensagem encaminhada ---------\n"
        "De: Financeiro <financeiro@fornecedor.com.br>\nDate: seg., 23 de nov. de 2026 às 10:15\n"
        "Subject: Boleto recusado\nTo: <maria@alfa.edu.br>"
    )


def test_an_apple_mail_forward_is_kept_whole() -> None:
    text = (
        "FYI, the import fails since Monday.\n\n"
        "Begin forwarded message:\n\n"
        "> From: Cron Daemon <root@erp.example.com>\n"
        "> Subject: import failed\n"
        "> Date: 23 November 2026 at 03:00:01 BRT\n"
        ">\n"
        "> ERROR 504\n"
    )
    assert extract_reply(text).endswith("> ERROR 504")
    assert extract_reply(text).startswith("FYI, the import fails since Monday.\n\nBegin forwarded")


def test_only_quoted_lines_give_empty_text() -> None:
    assert extract_reply("> Olá Maria,\n>\n> Chamado aberto.\n") == ""


@pytest.mark.parametrize("text", ["", "\n", "  \r\n\r\n", "\ufeff"])
def test_empty_input_gives_empty_text(text: str) -> None:
    assert extract_reply(text) == ""


@pytest.mark.parametrize(
    "signature",
    [
        "Sent from my iPhone",
        "Enviado do meu iPhone",
        "Enviado do meu iPad",
        "Sent from Outlook for iOS",
        "Sent from Outlook for Android",
        "Enviado do Outlook para Android",
        "Enviado do Outlook para iOS",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Obter o Outlook para iOS<https://aka.ms/o0ukef>",
    ],
)
def test_trailing_mobile_signatures_are_removed(signature: str) -> None:
    assert extract_reply(f"Pode fechar o chamado.\n\n{signature}\n") == "Pode fechar o chamado."


def test_a_mobile_signature_phrase_inside_the_text_is_kept() -> None:
    text = "Enviado do meu iPhone não funciona, só do computador.\nPodem verificar?"
    assert extract_reply(text) == text


def test_the_signature_delimiter_cuts_what_follows() -> None:
    text = "Pode fechar.\n\n-- \nMaria Souza\nEscola Alfa\n\n> Olá\n"
    assert extract_reply(text) == "Pode fechar."


def test_two_dashes_without_the_space_are_not_the_delimiter() -> None:
    text = "Valores:\n--\n10 e 20\n"
    assert extract_reply(text) == text.rstrip("\n")


def test_a_reply_that_is_only_a_signature_is_never_emptied() -> None:
    assert extract_reply("-- \nMaria Souza\nEscola Alfa\n") == "Maria Souza\nEscola Alfa"
    assert extract_reply("Enviado do meu iPhone\n\n> Em ... escreveu:\n> Olá\n") == (
        "Enviado do meu iPhone"
    )


def test_blank_lines_are_tidied_and_line_endings_normalised() -> None:
    text = "\r\n\r\nLinha 1   \r\n\r\n\r\n\r\nLinha 2\r\n\r\n\r\n"
    assert extract_reply(text) == "Linha 1\n\nLinha 2"


# --- html_to_text ------------------------------------------------------------------


def test_html_blocks_breaks_and_entities_become_text() -> None:
    html = (
        "<html><head><title>t</title><style>p{color:red}</style></head><body>"
        "<script>alert(1)</script><p>Bom dia,</p><p>Linha&nbsp;1<br>Linha 2 &amp; 3</p>"
        "<ul><li>um</li><li>dois</li></ul><div>Fim   com\n  espaços</div></body></html>"
    )
    assert html_to_text(html) == (
        "Bom dia,\n\nLinha 1\nLinha 2 & 3\n\n- um\n- dois\nFim com espaços"
    )


def test_gmail_divs_and_empty_line_divs() -> None:
    html = "<div dir=ltr><div>Oi,</div><div><br></div><div>Texto</div></div>"
    assert html_to_text(html) == "Oi,\n\nTexto"


@pytest.mark.parametrize(
    "quote",
    [
        '<blockquote type="cite">Olá Maria</blockquote>',
        '<div class="gmail_quote"><blockquote class="gmail_quote">Olá Maria</blockquote></div>',
        '<div class="gmail_quote gmail_quote_container"><div>Olá Maria</div></div>',
        '<div class="gmail_quote">Olá <b>Maria</b></div>',
        '<div dir="ltr" class="gmail_attr">Em seg., Suporte escreveu: Olá Maria<br></div>',
        '<div class="moz-cite-prefix">Em 23/11/2026 10:15, Suporte escreveu: Olá Maria</div>',
        '<div id="yahoo_quoted_123" class="yahoo_quoted"><div>Olá Maria</div></div>',
    ],
)
def test_html_quote_containers_are_dropped(quote: str) -> None:
    html = f"<div>Antes</div>{quote}<div>Depois</div>"
    assert html_to_text(html) == "Antes\nDepois"


@pytest.mark.parametrize(
    "marker",
    [
        '<div id="appendonsend"></div><hr><div>De: Suporte</div>',
        '<div id="divRplyFwdMsg" dir="ltr"><b>De:</b> Suporte</div>',
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>"
        "<p class=MsoNormal><b>From:</b> Support</p></div>",
        "<div style='border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0in 0in 0in'>"
        "<p class=MsoNormal><b>From:</b> Support</p></div>",
    ],
)
def test_outlook_history_markers_cut_the_rest_of_the_body(marker: str) -> None:
    html = f"<div><p class=MsoNormal>Novo</p>{marker}<p>Olá Maria</p></div><div>Velho</div>"
    assert html_to_text(html) == "Novo"


def test_a_bordered_div_that_is_not_outlooks_header_is_kept() -> None:
    html = '<div style="border-top:1px solid #ccc">Tabela</div><div>Fim</div>'
    assert html_to_text(html) == "Tabela\nFim"


def test_text_after_a_closed_quote_is_kept() -> None:
    html = "<blockquote><p>Qual a versão?<blockquote>Antiga</blockquote></p></blockquote>7.2.1"
    assert html_to_text(html) == "7.2.1"


def test_an_unclosed_head_ends_at_the_body() -> None:
    html = "<html><head><meta charset=utf-8><body><p>Texto</p></body></html>"
    assert html_to_text(html) == "Texto"


def test_outlook_word_paragraphs_are_single_lines() -> None:
    html = (
        "<!--[if gte mso 9]><xml><o:shapedefaults/></xml><![endif]-->"
        "<p class=MsoNormal>Atenciosamente,<o:p></o:p></p>"
        "<p class=MsoNormal>Maria Souza<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<p class=MsoNormal><![if !supportLists]>1.<![endif]>Item<o:p></o:p></p>"
    )
    assert html_to_text(html) == "Atenciosamente,\nMaria Souza\n\n1.Item"


def test_html_signature_delimiter_survives_for_extract_reply() -> None:
    html = '<p>Pode fechar.</p><pre class="moz-signature" cols="72">-- \nMaria</pre>'
    assert html_to_text(html) == "Pode fechar.\n\n-- \nMaria"
    assert extract_reply(html_to_text(html)) == "Pode fechar."


@pytest.mark.parametrize("html", ["", "   ", "<html><head><style>x</style></head></html>"])
def test_empty_html_gives_empty_text(html: str) -> None:
    assert html_to_text(html) == ""


# --- new_text ----------------------------------------------------------------------


def test_new_text_prefers_the_text_part() -> None:
    assert new_text("Do texto\n\n> velho", "<p>Do HTML</p>") == "Do texto"


def test_new_text_falls_back_to_html_when_the_text_part_is_blank() -> None:
    html = '<div>Do HTML</div><div class="gmail_quote">velho</div>'
    assert new_text(" \r\n", html) == "Do HTML"


def test_new_text_of_nothing_is_empty() -> None:
    assert new_text("", "") == ""


def test_format_flowed_paragraphs_are_rejoined_before_extraction() -> None:
    flowed = "Primeira linha que \ncontinua aqui.\n> citado que \n> continua\n-- \nMaria"
    assert unflow(flowed) == (
        "Primeira linha que continua aqui.\n> citado que continua\n-- \nMaria"
    )
    assert unflow("sem espa\u00e7o \nquebrado", delsp=True) == "sem espa\u00e7oquebrado"
    assert unflow(" >stuffed line") == ">stuffed line"
