"""Fixtures: an app per test on SQLite, and again on PostgreSQL when TEST_DATABASE_URL
points at one; factories that build records the way the services do."""

from __future__ import annotations

import os
import re
import tempfile
import uuid

import pytest
import sqlalchemy as sa

from board import create_app
from board.extensions import db
from board.services import seeding
from tests.factories import PASSWORD

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
PG_SKIP = (
    "PostgreSQL runs skipped: set TEST_DATABASE_URL="
    "postgresql+psycopg://postgres@127.0.0.1:5432/test to run every database test on it too"
)

BASE_CONFIG = {
    "TESTING": True,
    "BOARD_ENV": "testing",
    "SECRET_KEY": "test-secret",
    "WTF_CSRF_ENABLED": False,
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    # Throttles stay on (their code runs in every test) with limits no other test reaches;
    # tests/test_throttle.py sets low ones.
    "LOGIN_LIMIT_PER_ACCOUNT": 10_000,
    "LOGIN_LIMIT_PER_ADDRESS": 10_000,
    "SIGNUP_LIMIT_PER_ADDRESS": 10_000,
    "RESET_LIMIT_PER_ACCOUNT": 10_000,
    "RESET_LIMIT_PER_ADDRESS": 10_000,
    "SUGGEST_LIMIT_PER_ACCOUNT": 10_000,
    "SUGGEST_LIMIT_PER_ADDRESS": 10_000,
    "MATCH_THRESHOLD": 15,
    "MATCH_TOP_K": 10,
    "SERVER_NAME": None,
    # Never instance/: a test's uploads go to a folder of its own (make_app sets one per test;
    # this one is for apps built straight from BASE_CONFIG).
    "UPLOAD_DIR": os.path.join(tempfile.gettempdir(), f"board-test-uploads-{os.getpid()}"),
}


def pytest_report_header(config):
    return f"database tests: SQLite{' and PostgreSQL' if PG_URL else ' only (' + PG_SKIP + ')'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request):
    """Which database the test runs on; PostgreSQL gets one schema for the whole session."""
    if request.param == "sqlite":
        yield {"name": "sqlite"}
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"board_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    info = {"name": "postgresql", "url": url.render_as_string(hide_password=False), "schema": schema,
            "created": False}
    try:
        yield info
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _reset_postgres(info) -> None:
    if not info["created"]:
        db.create_all()
        info["created"] = True
        return
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def make_app(backend, tmp_path):
    """Build an app on a fresh database; extra settings may be given."""
    apps = []

    def build(**overrides):
        url = backend.get("url") or f"sqlite:///{tmp_path / f'board-{len(apps)}.sqlite3'}"
        cfg = {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url,
               "UPLOAD_DIR": str(tmp_path / "uploads"), **overrides}
        app = create_app(cfg)
        with app.app_context():
            if backend["name"] == "postgresql":
                _reset_postgres(backend)
            else:
                db.create_all()
            seeding.load_taxonomy()
            db.session.commit()
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context for service tests."""
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def make(app):
    from tests.factories import Factory

    return Factory(app)


@pytest.fixture
def login():
    """Sign a test client in as a user (through the real sign-in form)."""

    def do(client, user, password=PASSWORD):
        resp = client.post("/login", data={"email": user.email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client

    return do


def csrf_token_from(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert m, "no CSRF token on the page"
    return m.group(1)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, one for the session (tests/browser, tests/security):
    Playwright's sync API may run only once per process. Skipped with the reason when missing,
    failed instead in CI (BOARD_REQUIRE_BROWSER or CI set)."""
    from tests.browser.server import browser_missing, chromium

    reason = browser_missing()
    if reason:
        if os.environ.get("BOARD_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with chromium() as b:
        yield b
