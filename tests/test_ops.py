"""Health and readiness: /healthz answers without the database, /readyz reports each component
(database, schema at the latest migration, Redis, the job queue) and turns 503 when one is
not ready; neither leaks a setting nor sets a cookie."""

from __future__ import annotations

import socket
import types

import pytest

from board import create_app, health
from board.extensions import db
from tests.conftest import BASE_CONFIG


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def migrated(tmp_path):
    """An app on a SQLite database made by the migrations (as init-db makes it)."""
    from flask_migrate import upgrade

    def build(**overrides):
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=url, **overrides))
        with app.app_context():
            upgrade()
            db.session.remove()
        return app

    return build


def test_healthz_answers_without_the_database(tmp_path):
    app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no/such/dir/x.db"))
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "components": {"process": "ok"}}
    assert "Set-Cookie" not in resp.headers


def test_readyz_is_200_on_a_migrated_database(migrated):
    resp = migrated().test_client().get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"status": "ok",
                               "components": {"database": "ok", "schema": "ok", "jobs": "ok"}}
    assert resp.headers["Cache-Control"] == "no-store"


def test_readyz_is_503_when_a_migration_is_pending(migrated):
    from flask_migrate import stamp

    app = migrated()
    with app.app_context():
        stamp(revision="0004")  # as if the release's newer migrations were not applied yet
        db.session.remove()
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "unavailable"
    assert body["components"]["database"] == "ok"
    assert "0004" in body["components"]["schema"]
    assert "db upgrade" in body["components"]["schema"]


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path, backend):
    if backend["name"] == "postgresql":
        url = f"postgresql+psycopg://board:s3cret-pw@127.0.0.1:{_closed_port()}/board"
    else:
        url = f"sqlite:///{tmp_path}/no/such/dir/board.sqlite3"
    app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=url))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    components = resp.get_json()["components"]
    assert components["database"].startswith("unreachable")
    assert components["schema"].startswith("not checked")
    text = resp.get_data(as_text=True)
    for secret in ("s3cret-pw", "127.0.0.1", "no/such/dir", "sqlite", "postgresql"):
        assert secret not in text


def test_readyz_reports_redis_when_configured(migrated):
    app = migrated(REDIS_URL=f"redis://:hunter2-pw@127.0.0.1:{_closed_port()}/0")
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    components = resp.get_json()["components"]
    assert components["redis"].startswith("unreachable")
    assert components["database"] == components["schema"] == "ok"
    assert "hunter2" not in resp.get_data(as_text=True)


def test_readyz_ok_with_a_running_redis(migrated):
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    resp = migrated(REDIS_URL="redis://127.0.0.1:6379/0").test_client().get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["components"]["redis"] == "ok"


def test_readyz_reports_a_stalled_job_queue(migrated, monkeypatch):
    queue = types.SimpleNamespace(health=lambda: "stalled: oldest job waiting 900 s")
    monkeypatch.setattr(health, "jobs_module", lambda: queue)
    resp = migrated().test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["components"]["jobs"] == "stalled: oldest job waiting 900 s"
    queue.health = lambda: None
    resp = migrated().test_client().get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["components"]["jobs"] == "ok"


def test_probes_set_no_cookie_for_a_signed_in_browser(app, make, login):
    client = login(app.test_client(), make.user("company"))
    assert "Set-Cookie" in client.get("/").headers  # an ordinary page refreshes the session
    for path in ("/healthz", "/readyz", "/metrics"):
        resp = client.get(path)
        assert "Set-Cookie" not in resp.headers, path


def test_healthz_runs_no_query_even_for_a_signed_in_browser(app, make, login):
    import sqlalchemy as sa

    client = login(app.test_client(), make.user("company"))
    queries = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        queries.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/healthz").status_code == 200
        assert queries == []
        client.get("/readyz")
        assert queries, "readiness asks the database"
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_probes_answer_a_throttled_address(make_app):
    """An address locked out of signing in (a load balancer behind one NAT with the users,
    say) still has its probes answered."""
    app = make_app(THROTTLE_ENABLED=True, LOGIN_LIMIT_PER_ADDRESS=2, LOGIN_LIMIT_PER_ACCOUNT=50,
                   METRICS_ALLOW="127.0.0.1")
    client = app.test_client()
    codes = [client.post("/login", data={"email": f"nobody{i}@example.com", "password": "wrong-pw-1"}
                         ).status_code for i in range(4)]
    assert codes[-1] == 429, codes
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503  # the test database has no migrations
        assert client.get("/metrics").status_code == 200
