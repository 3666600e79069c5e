"""Sessions end on the server after SESSION_IDLE_MINUTES without a request and after
SESSION_LIFETIME_HOURS in all; CSRF tokens belong to one session and expire after
WTF_CSRF_TIME_LIMIT seconds, and a form sent with an expired one gets a clear page."""

from __future__ import annotations

import datetime as dt

import pytest
from itsdangerous.timed import TimestampSigner

from board import create_app
from board.extensions import db
from board.models import LoginSession, Role
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, Factory


def age_sessions(app, *, seen=None, created=None) -> None:
    """Move every session's last request and/or sign-in back in time."""
    with app.app_context():
        for row in db.session.query(LoginSession):
            if seen is not None:
                row.last_seen_at = row.last_seen_at - seen
            if created is not None:
                row.created_at = row.created_at - created
        db.session.commit()


def signed_out(resp) -> bool:
    return resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_defaults_bound_sessions_and_csrf_tokens():
    cfg = create_app({"TESTING": True}).config
    assert cfg["SESSION_IDLE_MINUTES"] == 30
    assert cfg["SESSION_LIFETIME_HOURS"] == 12
    assert cfg["WTF_CSRF_TIME_LIMIT"] and cfg["WTF_CSRF_TIME_LIMIT"] <= 24 * 3600


def test_an_idle_session_ends_on_the_server(app, make, login):
    user = make.user(Role.COMPANY)
    c = login(app.test_client(), user)
    assert c.get("/company/").status_code == 200
    age_sessions(app, seen=dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))
    assert signed_out(c.get("/company/"))


def test_activity_keeps_a_session_alive_until_its_lifetime(app, make, login):
    user = make.user(Role.COMPANY)
    c = login(app.test_client(), user)
    idle = app.config["SESSION_IDLE_MINUTES"]
    # Active every (idle - 5) minutes, for longer than the idle limit in all.
    for _ in range(3):
        age_sessions(app, seen=dt.timedelta(minutes=idle - 5), created=dt.timedelta(minutes=idle - 5))
        assert c.get("/company/").status_code == 200
    with app.app_context():
        row = db.session.query(LoginSession).one()
        assert (dt.datetime.now(dt.UTC) - row.last_seen_at) < dt.timedelta(minutes=1)
    # Past the absolute lifetime, activity does not help.
    age_sessions(app, created=dt.timedelta(hours=app.config["SESSION_LIFETIME_HOURS"]))
    assert signed_out(c.get("/company/"))


def test_the_idle_limit_is_a_setting(make_app):
    app = make_app(SESSION_IDLE_MINUTES=5)
    user = Factory(app).user(Role.COMPANY)
    c = app.test_client()
    c.post("/login", data={"email": user.email, "password": PASSWORD})
    age_sessions(app, seen=dt.timedelta(minutes=4))
    assert c.get("/company/").status_code == 200
    age_sessions(app, seen=dt.timedelta(minutes=6))
    assert signed_out(c.get("/company/"))


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True, WTF_CSRF_TIME_LIMIT=600)


def test_an_expired_csrf_token_gets_a_clear_page_not_an_error(csrf_app, monkeypatch):
    user = Factory(csrf_app).user(Role.COMPANY)
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 601)
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": token}, headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "表单已过期" in page and "您填写的内容未被保存" in page
    assert '<a class="btn primary" href="/login">重新打开表单</a>' in page
    en = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                     "csrf_token": token}, headers={"Accept-Language": "en"})
    assert en.status_code == 400 and "expired" in en.get_data(as_text=True)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    fresh = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": fresh}).status_code == 302


def test_a_csrf_token_works_only_in_its_own_session(csrf_app):
    user = Factory(csrf_app).user(Role.COMPANY)
    mine, other = csrf_app.test_client(), csrf_app.test_client()
    token = csrf_token_from(mine.get("/login").get_data(as_text=True))
    other.get("/login")
    resp = other.post("/login", data={"email": user.email, "password": PASSWORD,
                                      "csrf_token": token})
    assert resp.status_code == 400
    # Signing in starts a new session: a token from the page before no longer works.
    assert mine.post("/login", data={"email": user.email, "password": PASSWORD,
                                     "csrf_token": token}).status_code == 302
    stale = mine.post("/logout", data={"csrf_token": token})
    assert stale.status_code == 400
    assert "重新打开表单" not in stale.get_data(as_text=True)  # sign-out is a button, not a page
