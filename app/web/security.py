"""Browser security headers on every response: pages, the API, drawings and static files.

A dozen lines of `after_request` rather than Flask-Talisman: the policy is one
constant anyone can read here, it reaches error pages and static files alike, and
it needs no per-view configuration beyond `no_store()`.

The Content-Security-Policy allows scripts, styles and fonts from this site only:
no inline script, no inline event handler, no inline `style` (the templates use
classes in app/static/app.css; the Swagger UI page loads its initialiser from
app/static/api-docs.js). Images may also be `data:` URLs (Swagger UI's icons).
Nothing may frame a page (`frame-ancestors 'none'`, and `X-Frame-Options` for old
browsers), so the accept/approve/withdraw buttons cannot be clickjacked.
"""

from __future__ import annotations

from flask import Flask, current_app, g

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def no_store() -> None:
    """Mark this request's answer as never to be cached: it shows a secret (a new API
    token, a generated password) that must not survive in a browser or proxy cache."""
    g.no_store = True


def init_app(app: Flask) -> None:
    @app.before_request
    def _forget_no_store() -> None:
        # `g` belongs to the app context, which a request made inside another (tests, CLI
        # tasks) shares: start every request without the previous one's mark.
        g.pop("no_store", None)

    @app.after_request
    def _security_headers(response):
        response.headers.update(HEADERS)
        hsts = int(current_app.config.get("HSTS_SECONDS", 0) or 0)
        if hsts > 0:  # production only: on plain-HTTP development it would lock the host out
            response.headers["Strict-Transport-Security"] = f"max-age={hsts}; includeSubDomains"
        if g.get("no_store"):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response
