"""parse_message on mail as real clients write it: charsets, transfer encodings,
RFC 2047 encoded-words, RFC 2231 parameters, inline parts, folding and damage.

The fixtures in tests/fixtures/mail/mime/ are stored byte for byte as the
clients sent them. The sizes and sha256 sums below are of the files that were
base64-encoded into them, computed from those files, not from the parser.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.domain import AttachmentPart, EmailAddress, Envelope, ParsedMessage
from inbound.mime import UnparseableMessage, parse_message

MIME = Path(__file__).resolve().parent.parent / "fixtures" / "mail" / "mime"
PARSEABLE = sorted(p.name for p in MIME.glob("*.eml") if p.name != "garbage.eml")
MARIA = "maria@alfa.edu.br"
SUPPORT = (EmailAddress("suporte@example.com"),)
BRT = timezone(timedelta(hours=-3))

# What was base64-encoded into the fixtures: (filename, content type, size, sha256, inline).
PDF_2026 = (
    "Relatório de notas 2026.pdf",
    "application/pdf",
    659,
    "11bcd891429d736d79f4106b5f95b8fe33c2d1974ff4e17818807c3551190d69",
    False,
)
SCREENSHOT_PNG = (
    "Screenshot_20261123-115812.png",
    "image/png",
    103,
    "145dcb65b1a2f3b983b6add0ea28fe570d919fcdf6542a51c124fdf42b3224ee",
    False,
)
IPHONE_JPEG = (
    "IMG_0412.jpeg",
    "image/jpeg",
    543,
    "0171178ae901e108f56305aff7e36268a690bc49933a24b1aaa587fda00f4d3b",
    True,
)
BOLETIM_HEIC = (
    "Boletim João Pedro.heic",
    "image/heic",
    377,
    "9b570e33e7ac787b54a1c04f62a7813696a0849f0f6ac66cc92010cbccdb7339",
    False,
)
# The spreadsheet of malformed_boundary.eml; its mail was cut off after 411 of its bytes.
XLSX_414 = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(
    (i * 53 + 7) % 256 for i in range(400)
)


def load(name: str) -> ParsedMessage:
    return parse_message((MIME / name).read_bytes())


def summary(part: AttachmentPart) -> tuple[str, str, int, str, bool]:
    return (part.filename, part.content_type, part.size, part.sha256, part.inline)


def lines(text: str) -> str:
    """A decoded body with CRLF line ends read as LF; the words are compared exactly."""
    return text.replace("\r\n", "\n")


def png_chunks(data: bytes) -> list[bytes]:
    """The chunk types of a PNG, checking the signature and every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        kinds.append(kind)
        pos += 12 + length
    return kinds


@pytest.mark.parametrize("name", PARSEABLE)
def test_raw_sha256_and_size_are_those_of_the_file_bytes(name: str) -> None:
    raw = (MIME / name).read_bytes()
    msg = parse_message(raw)
    assert msg.raw_sha256 == hashlib.sha256(raw).hexdigest()
    assert msg.size == len(raw)
    assert msg.sender == EmailAddress(MARIA, msg.sender.name if msg.sender else "")
    assert msg.to == SUPPORT


def test_envelope_is_kept_as_given() -> None:
    envelope = Envelope(mail_from=MARIA, rcpt_tos=("suporte+abc@example.com",))
    msg = parse_message((MIME / "no_message_id.eml").read_bytes(), envelope)
    assert msg.envelope == envelope
    assert msg.recipients == ("suporte+abc@example.com",)


# --- Outlook 16: iso-8859-1, quoted-printable, Word HTML ----------------------------------

OUTLOOK_TEXT = """\
Bom dia,

O relatório de notas do 3º bimestre não abre desde ontem à tarde. Quando clico em "Gerar \
relatório", a página fica em branco e aparece a mensagem "Não foi possível concluir a operação".

Já tentei em outro computador da secretaria e a situação é a mesma. Preciso das notas até \
sexta-feira para a reunião do conselho de classe.

Obrigada,
Maria Souza
Secretaria Acadêmica - Escola Alfa"""


def test_outlook_iso8859_quoted_printable() -> None:
    msg = load("outlook_iso8859_qp.eml")
    assert msg.subject == "Relatório de notas não abre"
    assert msg.header("Subject") == "Relatório de notas não abre"
    assert msg.sender == EmailAddress(MARIA, "Maria Souza")
    assert msg.sender.name == "Maria Souza"  # quotes of the display name removed
    assert msg.message_id == "<000701db5d8a$3c1e4f60$b45aee20$@alfa.edu.br>"
    assert msg.date == datetime(2026, 11, 23, 9, 31, 7, tzinfo=BRT)
    assert msg.content_type == "multipart/alternative"
    assert msg.header("X-Mailer") == "Microsoft Outlook 16.0"
    # Soft line breaks joined, =XX decoded by the part's own charset, hard breaks kept.
    assert lines(msg.text_body) == OUTLOOK_TEXT
    assert "=\r\n" not in msg.text_body and "=E3" not in msg.text_body
    assert "<p class=MsoNormal>Bom dia,<o:p></o:p></p>" in msg.html_body
    assert (
        "O relatório de notas do 3º bimestre não abre desde ontem à tarde. Quando clico em "
        "&quot;Gerar relatório&quot;" in msg.html_body
    )
    assert 'content="Microsoft Word 15 (filtered medium)"' in msg.html_body
    assert "=3D" not in msg.html_body
    assert msg.attachments == ()
    assert msg.in_reply_to == msg.references == msg.thread_ids == ()
    assert msg.defects == ()


def test_folded_header_fields_are_unfolded() -> None:
    """RFC 5322 section 2.2.3: unfolding removes each CRLF that precedes white space."""
    msg = load("outlook_iso8859_qp.eml")
    assert msg.header_values("Received") == (
        "from mail.alfa.edu.br (mail.alfa.edu.br [200.17.41.10])\tby mx.example.com (Postfix)"
        " with ESMTPS id 4Rk3Vn2q1Sz9vXq\tfor <suporte@example.com>;"
        " Mon, 23 Nov 2026 09:31:09 -0300 (-03)",
        "from SECRETARIA02 (unknown [10.0.12.47])\t(Authenticated sender: maria@alfa.edu.br)"
        "\tby mail.alfa.edu.br (Postfix) with ESMTPSA id 9C1F22A0481"
        "\tfor <suporte@example.com>; Mon, 23 Nov 2026 09:31:08 -0300 (-03)",
    )
    assert msg.header("Content-Type") == (
        'multipart/alternative;\tboundary="----=_NextPart_000_0007_01DB5D8A.3C1E4F60"'
    )
    html_only = load("html_only_windows1252.eml")
    assert html_only.header("User-Agent") == (
        "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:38.0) Gecko/20100101 Thunderbird/38.5.1"
    )
    gmail = load("gmail_rfc2231_attachment.eml")
    dkim = gmail.header("DKIM-Signature")
    assert dkim is not None
    assert dkim.startswith("v=1; a=rsa-sha256; c=relaxed/relaxed;        d=alfa.edu.br; s=google;")
    assert gmail.header("X-Gm-Message-State") == (
        "AOJu0YyR3q8mT1kPz4XcW2bNvH6sLd0Qf9EaUj5GgKo7iBnM2tVr1pZx"
        "\tJf4QeL8sW0aYcRmTvU6nH2kB9dXo3gPqZyN5tCjVwE1rMfA7"
    )
    for name in PARSEABLE:
        for key, value in load(name).headers:
            assert "\r" not in value and "\n" not in value, (name, key, value)


# --- Gmail: RFC 2231 filename with continuations, base64 attachments ----------------------

GMAIL_TEXT = """\
Boa tarde,

Segue em anexo o relatório de notas do 3º bimestre. As médias da turma do 8º ano B estão \
saindo erradas: a nota de recuperação não substitui a nota anterior quando é maior.

Também envio um print da tela de lançamento.

Obrigada,
Maria"""


def test_gmail_rfc2231_filename_and_base64_attachments() -> None:
    msg = load("gmail_rfc2231_attachment.eml")
    assert msg.subject == "Relatório de notas com médias erradas"
    assert msg.sender == EmailAddress(MARIA, "Maria Souza")
    assert msg.sender.name == "Maria Souza"
    assert msg.message_id == "<CAK8vQ2N+x3mYpZ0rW4TfJ1hBq9LsE7uD5cG6aV2oKn3iR8yXw@mail.gmail.com>"
    assert msg.date == datetime(2026, 11, 23, 12, 4, 1, tzinfo=BRT)
    assert msg.content_type == "multipart/mixed"
    assert lines(msg.text_body) == GMAIL_TEXT
    assert msg.html_body.startswith('<div dir="ltr"><div>Boa tarde,</div>')
    assert "a nota de recuperação não substitui" in msg.html_body
    # filename*0*=UTF-8''Relat%C3%B3rio%20de%20notas%20; filename*1*=2026.pdf
    assert [summary(a) for a in msg.attachments] == [PDF_2026, SCREENSHOT_PNG]
    pdf, png = msg.attachments
    assert pdf.content.startswith(b"%PDF-1.4\n") and pdf.content.endswith(b"%%EOF\n")
    assert png_chunks(png.content) == [b"IHDR", b"IDAT", b"IEND"]
    assert msg.thread_ids == ()
    assert msg.defects == ()


# --- iPhone Mail: split encoded-words, comma in an encoded name, inline image ------------

IPHONE_TEXT = """\
Bom dia,

Não consigo lançar as notas do 3º bimestre no diário de classe pelo celular. A foto abaixo \
mostra o erro.

Mando também a foto do boletim do aluno João Pedro.

Enviado do meu iPhone"""


def test_iphone_encoded_words_inline_image_and_encoded_name() -> None:
    msg = load("iphone_heic_and_encoded_words.eml")
    # Two B-encoded words split inside "diário": the folding between them is not text.
    assert msg.subject == "Não consigo lançar as notas do 3º bimestre no diário de classe"
    # =?utf-8?Q?Souza=2C_Maria?= is one mailbox whose name holds a comma, not two mailboxes.
    assert msg.sender == EmailAddress(MARIA, "Souza, Maria")
    assert msg.sender.name == "Souza, Maria"
    assert msg.header("From") == "Souza, Maria <maria@alfa.edu.br>"
    assert msg.message_id == "<8E2B6F1A-3C4D-4B7E-9F21-6A5D0C3E7B19@alfa.edu.br>"
    assert msg.date == datetime(2026, 11, 23, 14, 22, 37, tzinfo=BRT)
    assert msg.header("X-Mailer") == "iPhone Mail (22B91)"
    assert msg.in_reply_to == ("<5F1D2A7C-8B3E-4C6F-9A12-3E4D5F6A7B8C@alfa.edu.br>",)
    assert msg.references == (
        "<CAH9u3pT4mKx7Lq2Wn8Rb1Vc5Zd0Ye6Fg3Sa9Jh2Qk@mail.gmail.com>",
        "<5F1D2A7C-8B3E-4C6F-9A12-3E4D5F6A7B8C@alfa.edu.br>",
    )
    assert msg.thread_ids == (
        "<5F1D2A7C-8B3E-4C6F-9A12-3E4D5F6A7B8C@alfa.edu.br>",
        "<CAH9u3pT4mKx7Lq2Wn8Rb1Vc5Zd0Ye6Fg3Sa9Jh2Qk@mail.gmail.com>",
    )
    assert lines(msg.text_body) == IPHONE_TEXT
    assert '<img src="cid:4C0E8F6B-2A1D-4E3F-B5A7-9D8C6E4F2A10" alt="IMG_0412.jpeg">' in (
        msg.html_body
    )
    assert "Mando também a foto do boletim do aluno João Pedro." in msg.html_body
    # name="=?utf-8?Q?Boletim_Jo=C3=A3o_Pedro=2Eheic?=" decoded, though RFC 2047 forbids it there.
    assert [summary(a) for a in msg.attachments] == [IPHONE_JPEG, BOLETIM_HEIC]
    jpeg, heic = msg.attachments
    assert jpeg.content[:2] == b"\xff\xd8" and jpeg.content[-2:] == b"\xff\xd9"
    assert heic.content[4:12] == b"ftypheic"
    assert msg.defects == ()


# --- HTML only, windows-1252, 8bit ----------------------------------------------------------

W1252_HTML = """\
<html>
  <head>

    <meta http-equiv="content-type" content="text/html; charset=windows-1252">
  </head>
  <body text="#000000" bgcolor="#FFFFFF">
    <p>Prezados,</p>
    <p>Ao emitir o boleto da mensalidade de dezembro aparece o aviso
      “Cobrança já registrada – valor de € 0,00”. A emissão funcionava
      normalmente até a semana passada.</p>
    <p>Poderiam verificar? A secretaria precisa enviar os boletos até
      quinta-feira.</p>
    <p>Atenciosamente,<br>
      Maria Souza<br>
      Secretaria Acadêmica • Escola Alfa</p>
  </body>
</html>
"""


def test_html_only_windows1252_8bit() -> None:
    msg = load("html_only_windows1252.eml")
    assert msg.subject == "Boleto de dezembro com valor zerado"
    assert msg.sender == EmailAddress(MARIA, "Maria Souza")
    assert msg.sender.name == "Maria Souza"
    assert msg.message_id == "<5b1e7c2a-93d4-8f61-0a2b-6c3d4e5f7a81@alfa.edu.br>"
    assert msg.content_type == "text/html"
    assert msg.text_body == ""
    # 0x93 0x94 0x96 0x80 0x95 are windows-1252 only; latin-1 would give C1 controls.
    assert lines(msg.html_body) == W1252_HTML
    assert msg.attachments == ()
    assert msg.defects == ()


# --- a script's mail: no Message-ID, LF line ends -------------------------------------------


def test_script_mail_without_message_id() -> None:
    msg = load("no_message_id.eml")
    assert msg.message_id is None
    assert msg.header("Message-ID") is None
    assert msg.subject == "Backup noturno da secretaria falhou"
    assert msg.sender == EmailAddress(MARIA, "Maria Souza")
    assert msg.sender.name == "Maria Souza"
    assert msg.date == datetime(2026, 11, 24, 3, 0, 2, tzinfo=BRT)
    assert msg.content_type == "text/plain"
    assert msg.text_body == (
        "O backup noturno do servidor da secretaria falhou às 03:00.\n"
        "Código de saída: 2 (disco de destino sem espaço)."
    )
    assert msg.html_body == ""
    assert msg.attachments == () and msg.thread_ids == ()


# --- damage: a mail cut off in transit, and bytes that are no mail at all -------------------


def test_truncated_mail_keeps_its_text_and_what_the_attachment_still_holds() -> None:
    msg = load("malformed_boundary.eml")
    assert msg.subject == "Planilha de matrículas não importa"
    assert msg.sender == EmailAddress(MARIA, "Maria Souza")
    assert msg.message_id == "<e3c9a1f0-7b2d-4c58-9e61-0d4f3a2b1c77@alfa.edu.br>"
    assert "CloseBoundaryNotFoundDefect" in msg.defects
    # Thunderbird's format=flowed soft break after "sistema " is joined (RFC 3676).
    assert lines(msg.text_body) == (
        "Boa tarde,\n\nEnvio a planilha de matrículas do próximo ano. A importação no sistema "
        'para na linha 214 com a mensagem "formato inválido".\n\nMaria'
    )
    [sheet] = msg.attachments
    assert sheet.filename == "matriculas_2027.xlsx"
    assert sheet.content_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert not sheet.inline
    # 549 base64 characters arrived (a stray "!" among them is ignored, RFC 2045 6.8):
    # 137 whole quanta are 411 bytes of the file; the dangling character is dropped.
    assert sheet.content == XLSX_414[:411]
    assert sheet.sha256 == "379cf92d891b2280aa3f1843c3f6f231968532f1f36b60779910e53822e4839d"


def test_garbage_is_unparseable() -> None:
    raw = (MIME / "garbage.eml").read_bytes()
    with pytest.raises(UnparseableMessage):
        parse_message(raw)
    assert issubclass(UnparseableMessage, ValueError)


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"   \n"])
def test_empty_input_is_unparseable(raw: bytes) -> None:
    with pytest.raises(UnparseableMessage):
        parse_message(raw)
