"""The small parts of the HTTP edge: the sliding-window limiter, the access log's path
without tokens, and page templates an admin overrides like mail templates."""

from __future__ import annotations

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
    hostile = packaged.page(
        "error", "en", {"nonce": "x", "kind": "<script>alert(1)</script>"}
    )
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
