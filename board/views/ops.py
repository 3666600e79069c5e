"""Endpoints for the machines that watch the board: a load balancer, a process supervisor,
Prometheus. Public (no sign-in), cheap, and they never set a cookie (see ``init_app``)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, jsonify, request

from .. import health, metrics, net

bp = Blueprint("ops", __name__)

#: Never cached by a proxy: each probe must reach a worker.
NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. No database, no Redis."""
    return jsonify(status="ok", components={"process": "ok"}), 200, NO_STORE


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers and is at the latest migration; Redis and the job
    queue answer when the board uses them."""
    ready, components = health.readiness()
    body = {"status": "ok" if ready else "unavailable", "components": components}
    return jsonify(body), 200 if ready else 503, NO_STORE


def metrics_allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(
        given[7:].strip().encode(), str(token).encode()
    ):
        return True
    return net.is_trusted(net.client_address(request), current_app.config.get("METRICS_ALLOW", ()))


@bp.get("/metrics", endpoint="metrics")
def prometheus():
    if not metrics_allowed():
        abort(404)
    return Response(metrics.exposition(), content_type=metrics.CONTENT_TYPE, headers=NO_STORE)


def init_app(app) -> None:
    """These endpoints never write a session cookie, even for a signed-in browser (a permanent
    session would otherwise be refreshed on every response)."""
    base = type(app.session_interface)

    class SessionInterface(base):
        def save_session(self, app, session, response):
            if request.blueprint == bp.name:
                return None
            return super().save_session(app, session, response)

    app.session_interface = SessionInterface()
