"""Response headers that every page gets; request bounds (board/bodies.py)."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)


def init_app(app: Flask) -> None:
    from . import bodies

    bodies.init_app(app)

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        # The probes (ops blueprint) never load the user: /healthz stays free of queries.
        if request.blueprint != "ops" and current_user and current_user.is_authenticated:
            resp.headers["Cache-Control"] = "private, no-store"
        resp.vary.add("Cookie")
        resp.vary.add("Accept-Language")
        return resp
