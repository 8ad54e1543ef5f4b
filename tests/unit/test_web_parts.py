"""The small parts of the HTTP edge: the sliding-window limiter, the access log's path
without tokens, and page templates an admin overrides like mail templates."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.mail.labels import brand
from gateway.runtime.ratelimit import SlidingWindow
from gateway.runtime.web import _safe_path
from outbound.compose import Templates


def test_a_sliding_window_refuses_past_its_limit_and_lets_in_as_hits_age() -> None:
    now = [0.0]
    window = SlidingWindow(3, 60.0, lambda: now[0])
    assert [window.allow("a") for _ in range(4)] == [True, True, True, False]
    assert window.allow("b")  # another key has its own window
    now[0] = 59.0
    assert not window.allow("a")
    now[0] = 60.5  # the first three hits left the window
    assert [window.allow("a") for _ in range(4)] == [True, True, True, False]


def test_the_access_log_names_a_links_kind_never_its_token() -> None:
    assert _safe_path("/survey/7.20400.abcdefgh") == "/survey/…"
    assert _safe_path("/ticket/42.20400.k3j4h5") == "/ticket/…"
    assert _safe_path("/resolution/42.1.x") == "/resolution/…"
    assert _safe_path("/healthz") == "/healthz"


def test_pages_render_escaped_and_an_admin_file_overrides_one(tmp_path: Path) -> None:
    packaged = Templates(brand=brand("Escola Digital", ""))
    page = packaged.page("not_found", "pt_BR", {"nonce": "n0nce"})
    assert '<style nonce="n0nce">' in page and "Link inválido ou expirado" in page
    assert "Escola Digital" in page and '<html lang="pt-BR">' in page
    hostile = packaged.page("error", "en", {"nonce": "x", "kind": "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in hostile and "Something went wrong" in hostile
    own = tmp_path / "templates" / "pt_BR" / "pages"
    own.mkdir(parents=True)
    (own / "not_found.html.j2").write_text(
        '{% extends "pt_BR/pages/base.html.j2" %}{% block main %}<h1>Ops</h1>{% endblock %}',
        encoding="utf-8",
    )
    overridden = Templates(tmp_path / "templates", brand("", "")).page(
        "not_found", "pt_BR", {"nonce": "n"}
    )
    assert "<h1>Ops</h1>" in overridden and "Link inválido" not in overridden


TICKET = {"ref": "TG-00042", "subject": "Boletos <em branco>"}
COMMON = {"nonce": "n", "ticket": TICKET, "action": "/x/1.2.a", "back": "/ticket/1.2.b",
          "csrf": "c5rf"}  # fmt: skip
PAGES = {
    "ticket": {
        "nonce": "n",
        "ticket": {
            **TICKET,
            "status": "resolved",
            "status_label": "resolvido",
            "created": "02/06/2025 09:00 (BRT)",
            "due": "06/06/2025 18:00 (BRT)",
            "outcome": "Corrigido na versão 2.3.",
        },
        "conversation": [
            {
                "at": "02/06/2025 09:00 (BRT)",
                "who": "Cliente",
                "outbound": False,
                "text": "Os boletos não saem.",
            }
        ],
        "actions": [
            {"id": i, "href": f"/{i}"} for i in ("approved", "not_solved", "escalation", "survey")
        ],
    },
    "resolution": {**COMMON, "forms": ["approved", "not_solved"], "result": "", "values": {}},
    "escalation": {
        **COMMON,
        "forms": [],
        "result": "too_soon",
        "values": {"earlier": "ontem", "next_allowed": "amanhã"},
    },
    "survey": {
        **COMMON,
        "result": "thanks",
        "recorded": True,
        "rating": 4,
        "met": "no",
        "comment": "ok",
        "chosen_rating": None,
        "chosen_met": "",
    },
    "not_found": {"nonce": "n"},
    "error": {"nonce": "n", "kind": "too_many"},
}


def test_every_page_renders_in_both_locales_with_labels_for_its_fields() -> None:
    templates = Templates(brand=brand("", ""))
    for locale in ("pt_BR", "en"):
        for name, context in PAGES.items():
            page = templates.page(name, locale, context)
            assert page.startswith("<!DOCTYPE html>") and 'name="viewport"' in page, name
            assert "<em branco>" not in page  # escaped
            for field in re.findall(r'<textarea id="([\w-]+)"', page):
                assert f'for="{field}"' in page, (locale, name, field)
    status = templates.page("ticket", "pt_BR", PAGES["ticket"])
    assert "06/06/2025 18:00 (BRT)" in status and "Corrigido na versão 2.3." in status
    assert 'id="action-survey"' in status and "Os boletos não saem." in status
    assert "amanhã" in templates.page("escalation", "pt_BR", PAGES["escalation"])
    survey = templates.page("survey", "en", {**PAGES["survey"], "recorded": False,
                                             "chosen_rating": 3, "chosen_met": "yes"})  # fmt: skip
    assert 'id="rating-3" checked' in survey and 'id="met-yes" checked' in survey
