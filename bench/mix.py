"""A realistic, generated mail mix for the benchmarks, the same bytes for every target.

Per 100 mails: 50 new tickets from authorized contacts, 25 replies quoting the
history of an earlier one (threaded by In-Reply-To), 10 new tickets with a
small PDF-like attachment, 10 from strangers (rejected, with a polite reply),
5 out-of-office auto-replies (ignored). About 3 KB each, CRLF line ends.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass

CONTACTS = 200  # distinct authorized senders, so no per-sender limit shapes the run

DIRECTORY = "queues: [{id: n1, name: N1}, {id: n2, name: N2}]\norganizations:\n" + "".join(
    f"  - id: org{o}\n    name: Escola {o}\n    domains: [escola{o}.edu.br]\n    contacts:\n"
    + "".join(
        f"      - {{email: c{o}x{c}@escola{o}.edu.br, name: Contato {c}, can_open_tickets: true}}\n"
        for c in range(CONTACTS // 10)
    )
    for o in range(10)
)

_PARAGRAPH = (
    "Bom dia,\r\n\r\nO relatório de notas do terceiro bimestre não abre desde ontem à tarde;"
    "\r\naparece uma tela em branco e depois a mensagem de tempo esgotado. Já limpamos\r\n"
    "o cache do navegador e testamos em outro computador, sem sucesso.\r\n\r\n"
)


@dataclass(frozen=True)
class Mail:
    sender: str
    raw: bytes


def _contact(rng: random.Random) -> tuple[str, str]:
    o, c = rng.randrange(10), rng.randrange(CONTACTS // 10)
    return f"Contato {c}", f"c{o}x{c}@escola{o}.edu.br"


def _head(name: str, address: str, subject: str, mid: str, extra: str = "") -> str:
    return (
        f"From: {name} <{address}>\r\nTo: suporte@example.com\r\nSubject: {subject}\r\n"
        f"Date: Tue, 01 Dec 2026 09:00:00 -0300\r\nMessage-ID: {mid}\r\nMIME-Version: 1.0\r\n"
        + extra
    )


def _plain(body: str) -> str:
    return (
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body
    )


def generate(n: int, tag: str, seed: int = 13) -> list[Mail]:
    """`n` mails; `tag` keeps Message-IDs apart between targets sharing nothing else."""
    rng = random.Random(seed)
    attachment = base64.encodebytes(rng.randbytes(1500)).decode().replace("\n", "\r\n")
    earlier: list[tuple[str, str, str, str]] = []  # (name, address, subject, message-id)
    mails = []
    for i in range(n):
        mid = f"<b{i}.{tag}@bench.example>"
        kind = i % 20
        if kind < 10 or (kind < 15 and not earlier):
            name, address = _contact(rng)
            subject = f"Relatório {i} não abre"
            body = _plain(_PARAGRAPH * 10 + "Obrigada,\r\n" + name + "\r\n")
            raw = _head(name, address, subject, mid) + body
            earlier.append((name, address, subject, mid))
        elif kind < 15:
            name, address, subject, parent = earlier[rng.randrange(len(earlier))]
            quoted = "".join("> " + line + "\r\n" for line in (_PARAGRAPH * 8).split("\r\n"))
            body = _plain(
                "Continua acontecendo hoje de manhã.\r\n\r\nEm 30/11/2026, Suporte escreveu:\r\n"
                + quoted
            )
            raw = (
                _head(
                    name,
                    address,
                    "Re: " + subject,
                    mid,
                    f"In-Reply-To: {parent}\r\nReferences: {parent}\r\n",
                )
                + body
            )
        elif kind < 17:
            name, address = _contact(rng)
            raw = _head(
                name,
                address,
                f"Planilha {i}",
                mid,
                'Content-Type: multipart/mixed; boundary="b1"\r\n',
            ) + (
                "\r\n--b1\r\n" + _plain(_PARAGRAPH * 2) + "--b1\r\n"
                'Content-Type: application/pdf; name="erro.pdf"\r\n'
                'Content-Disposition: attachment; filename="erro.pdf"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n" + attachment + "--b1--\r\n"
            )
        elif kind < 19:
            address = f"pessoa{i}@elsewhere.example"
            raw = _head("Pessoa", address, f"Dúvida {i}", mid) + _plain(_PARAGRAPH * 5)
        else:
            name, address = _contact(rng)
            raw = _head(
                name,
                address,
                "Ausência temporária",
                mid,
                "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
            ) + _plain("Estou fora do escritório até segunda-feira.\r\n")
        mails.append(Mail(address, raw.encode()))
    return mails
