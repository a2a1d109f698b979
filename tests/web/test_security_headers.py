"""Browser security headers on every kind of response (issue 11), and no inline script,
handler or style left for the Content-Security-Policy to refuse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import create_app
from app.auth.models import Role
from app.web.security import CONTENT_SECURITY_POLICY
from config import ProductionConfig

APP_DIR = Path(__file__).resolve().parents[2] / "app"


def assert_security_headers(response) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin")
    assert "Strict-Transport-Security" not in headers  # only in production


def test_a_page_carries_every_header(client, login, users):
    assert_security_headers(client.get("/login"))
    login(users["member"])
    response = client.get("/account")
    assert response.status_code == 200
    assert_security_headers(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_error_pages_and_redirects_carry_them_too(client):
    assert_security_headers(client.get("/no/such/page"))
    assert_security_headers(client.get("/account"))  # 302 to the log-in page


def test_an_api_response_carries_every_header(client, users, api_headers):
    response = client.get("/api/v1/me", headers=api_headers(users["member"]))
    assert response.status_code == 200
    assert_security_headers(response)
    assert_security_headers(client.get("/api/v1/me"))  # a 401 error answer
    assert_security_headers(client.get("/api/v1/openapi.json"))


def test_the_svg_drawing_carries_every_header(client, login, market, cycle):
    login(market.coordinator)
    response = client.get(f"/proposals/{cycle.id}/drawing.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert_security_headers(response)


def test_static_files_and_the_api_docs_carry_every_header(client):
    assert_security_headers(client.get("/static/app.css"))
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert_security_headers(docs)


def test_hsts_is_sent_in_production_only(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "a production secret")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    # TESTING keeps the JSON log handlers off, so later tests still capture the logs.
    app = create_app(ProductionConfig, TESTING=True,
                     SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}")
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.headers["X-Frame-Options"] == "DENY"


# --- pages showing a secret are never cached ----------------------------------------------

def test_the_account_page_showing_a_new_token_is_no_store(client, login, users):
    login(users["member"])
    created = client.post("/account/tokens", data={"name": "script"})
    page = client.get(created.headers["Location"])
    assert '<code class="token">' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert_security_headers(page)
    again = client.get("/account")
    assert '<code class="token">' not in again.get_data(as_text=True)
    assert "no-store" not in again.headers.get("Cache-Control", "")


def test_the_admin_page_showing_a_generated_password_is_no_store(client, login, users):
    login(users["admin"])
    created = client.post("/admin/users/new", data={
        "email": "fresh@example.org", "name": "Fresh", "role": Role.AUDITOR,
        "organisation": "", "password": ""})
    assert created.status_code == 302
    page = client.get(created.headers["Location"])
    assert '<code class="token">' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_an_api_answer_carrying_a_token_is_no_store(client, users):
    from tests.conftest import DEFAULT_PASSWORD

    response = client.post("/api/v1/auth/tokens", json={"email": users["member"].email,
                                                       "password": DEFAULT_PASSWORD})
    assert response.status_code == 201 and response.get_json()["token"]
    assert response.headers["Cache-Control"] == "no-store"
    assert_security_headers(response)


# --- nothing inline for the policy to refuse ------------------------------------------------

TEMPLATES = sorted(APP_DIR.glob("**/templates/**/*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style|\sstyle\s*=", re.I)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(APP_DIR)))
def test_templates_have_no_inline_script_handler_or_style(path):
    text = path.read_text()
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to app/static/"
    assert not INLINE_HANDLER.search(text), "inline event handler: use app/static/app.js"
    assert not INLINE_STYLE.search(text), "inline style: use a class in app/static/app.css"


def test_rendered_pages_load_scripts_only_from_this_site(client, login, users):
    login(users["admin"])
    for path in ("/", "/account", "/admin/users", "/api/v1/docs"):
        page = client.get(path).get_data(as_text=True)
        assert not INLINE_SCRIPT.search(page), path
        assert not INLINE_HANDLER.search(page), path
        for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', page):
            assert src.startswith("/") and not src.startswith("//"), (path, src)


def test_confirm_buttons_use_the_script_file(client, login, users):
    login(users["member"])
    client.post("/account/tokens", data={"name": "to revoke"})
    page = client.get("/account").get_data(as_text=True)
    assert 'data-confirm="Revoke this token?' in page
    assert "/static/app.js" in page
    script = client.get("/static/app.js")
    assert script.status_code == 200 and b"data-confirm" in script.data


def test_the_api_docs_start_swagger_from_a_file(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/static/api-docs.js" in page
    assert 'data-openapi-url="/api/v1/openapi.json"' in page
    script = client.get("/static/api-docs.js")
    assert script.status_code == 200 and b"SwaggerUIBundle(" in script.data
    assert "'self'" in CONTENT_SECURITY_POLICY


def test_the_exchange_drawing_carries_no_inline_style():
    """The CSP refuses inline styles, so the picture sizes itself with attributes + CSS."""
    from app.proposals.drawing import Arrow, Node, draw_exchange

    svg = str(draw_exchange([Node(1, "A"), Node(2, "B")],
                            [Arrow(1, 2, "2 staff-days"), Arrow(2, 1, "1 placement")],
                            title="A reciprocal exchange"))
    assert not INLINE_STYLE.search(svg)
    assert 'class="exchange-drawing"' in svg and 'width="' in svg
