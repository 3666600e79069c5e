"""Throttles: sign-in failures per account and per client address, sign-ups, password-reset
requests and suggestion calls; a 429 with Retry-After and a message in the user's language;
counters shared by every worker (two apps on one store), in Redis or in the database."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from board import create_app, throttle
from board.models import Role
from tests.conftest import BASE_CONFIG
from tests.factories import PASSWORD, Factory

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LOW = {
    "LOGIN_LIMIT_PER_ACCOUNT": 5,
    "LOGIN_LIMIT_PER_ADDRESS": 8,
    "LOGIN_WINDOW_MINUTES": 15,
    "SIGNUP_LIMIT_PER_ADDRESS": 2,
    "RESET_LIMIT_PER_ACCOUNT": 2,
    "RESET_LIMIT_PER_ADDRESS": 4,
    "SUGGEST_LIMIT_PER_ACCOUNT": 3,
    "SUGGEST_LIMIT_PER_ADDRESS": 100,
}


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["database", "redis"])
def store(request):
    """Settings for one store; Redis counters get a prefix of their own, dropped afterwards."""
    if request.param == "database":
        yield {"REDIS_URL": None}
        return
    if not redis_reachable():
        pytest.skip(f"Redis throttle tests skipped: no Redis at {REDIS_URL} "
                    "(start redis-server or set TEST_REDIS_URL)")
    prefix = f"board-test:{uuid.uuid4().hex}"
    yield {"REDIS_URL": REDIS_URL, "THROTTLE_PREFIX": prefix}
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def tapp(make_app, store):
    return make_app(**LOW, **store)


def sign_in(client, email, password, **kw):
    return client.post("/login", data={"email": email, "password": password}, **kw)


def test_twenty_wrong_passwords_then_the_right_one_is_refused(tapp):
    user = Factory(tapp).user(Role.COMPANY)
    client = tapp.test_client()
    codes = [sign_in(client, user.email, f"wrong-{n}").status_code for n in range(20)]
    assert codes[:5] == [422] * 5 and set(codes[5:]) == {429}
    resp = sign_in(client, user.email, PASSWORD, headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 15 * 60
    assert "尝试次数过多" in resp.get_data(as_text=True)
    en = sign_in(client, user.email, PASSWORD, headers={"Accept-Language": "en"})
    assert en.status_code == 429 and "Too many attempts" in en.get_data(as_text=True)
    assert tapp.test_client().get("/company/").status_code == 302  # nobody signed in


def test_the_account_limit_holds_from_other_addresses_and_ends_with_its_window(
        tapp, monkeypatch):
    user = Factory(tapp).user(Role.COMPANY)
    for n in range(5):
        client = tapp.test_client()
        sign_in(client, user.email, "wrong", environ_base={"REMOTE_ADDR": f"10.1.0.{n}"})
    fresh = tapp.test_client()
    assert sign_in(fresh, user.email, PASSWORD,
                   environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 429
    now = throttle.time.time()
    monkeypatch.setattr(throttle.time, "time", lambda: now + 16 * 60)
    assert sign_in(fresh, user.email, PASSWORD,
                   environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302


def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit(tapp):
    from tests.test_idempotent import at_once

    user = Factory(tapp).user(Role.COMPANY)
    clients = [tapp.test_client() for _ in range(12)]
    results = at_once(12, lambda i: sign_in(clients[i], user.email, f"guess-{i}",
                                            environ_base={"REMOTE_ADDR": f"10.4.0.{i}"}))
    codes = sorted(r.status_code for r in results)
    assert codes == [422] * 5 + [429] * 7, codes


def test_a_success_forgets_the_accounts_earlier_failures(tapp):
    user = Factory(tapp).user(Role.COMPANY)
    for _ in range(4):
        sign_in(tapp.test_client(), user.email, "wrong")
    assert sign_in(tapp.test_client(), user.email, PASSWORD).status_code == 302
    other = {"REMOTE_ADDR": "10.3.0.1"}  # the first address has 4 of its 8 failures left
    for _ in range(4):
        assert sign_in(tapp.test_client(), user.email, "wrong",
                       environ_base=other).status_code == 422
    assert sign_in(tapp.test_client(), user.email, PASSWORD, environ_base=other).status_code == 302


def test_many_emails_from_one_client_are_slowed_and_forged_forwarding_does_not_help(tapp):
    make = Factory(tapp)
    client = tapp.test_client()
    for n in range(8):
        resp = sign_in(client, f"guess{n}@example.com", "wrong",
                       headers={"X-Forwarded-For": f"192.0.2.{n}"})
        assert resp.status_code == 422
    user = make.user(Role.COMPANY)
    resp = sign_in(client, user.email, PASSWORD, headers={"X-Forwarded-For": "192.0.2.200"})
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    # Another client is not affected.
    other = tapp.test_client()
    assert sign_in(other, user.email, PASSWORD,
                   environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(make_app, store):
    app = make_app(**LOW, **store, TRUSTED_PROXIES="127.0.0.1")
    user = Factory(app).user(Role.COMPANY)
    for n in range(8):
        sign_in(app.test_client(), f"guess{n}@example.com", "wrong",
                headers={"X-Forwarded-For": "203.0.113.7"})
    blocked = sign_in(app.test_client(), user.email, PASSWORD,
                      headers={"X-Forwarded-For": "203.0.113.7"})
    assert blocked.status_code == 429
    elsewhere = sign_in(app.test_client(), user.email, PASSWORD,
                        headers={"X-Forwarded-For": "203.0.113.8"})
    assert elsewhere.status_code == 302


def test_two_workers_share_the_counters(tapp, store):
    """A second app on the same database (or Redis) is another gunicorn worker."""
    user = Factory(tapp).user(Role.COMPANY)
    other = create_app(dict(BASE_CONFIG, **LOW, **store,
                            SQLALCHEMY_DATABASE_URI=tapp.config["SQLALCHEMY_DATABASE_URI"]))
    for n in range(5):
        app = tapp if n % 2 else other
        assert sign_in(app.test_client(), user.email, "wrong").status_code == 422
    assert sign_in(tapp.test_client(), user.email, PASSWORD).status_code == 429
    assert sign_in(other.test_client(), user.email, PASSWORD).status_code == 429
    with other.app_context():
        from board.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_sign_up_is_limited_per_address(tapp):
    client = tapp.test_client()

    def signup(n):
        return client.post("/signup", data={
            "role": "supplier", "organization": f"限速测试机构{n}", "organization_kind": "enterprise",
            "display_name": "李工", "email": f"new{n}@example.com",
            "password": "a-long-passphrase", "confirm": "a-long-passphrase"},
            headers={"Accept-Language": "zh-CN"})

    assert [signup(n).status_code for n in range(2)] == [302, 302]
    resp = signup(3)
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    html = resp.get_data(as_text=True)
    assert "尝试次数过多" in html and "限速测试机构3" in html  # the form is kept
    from board.services import accounts

    with tapp.app_context():
        assert accounts.find_user("new3@example.com") is None


def test_password_reset_requests_are_limited_per_account_and_per_address(tapp):
    user = Factory(tapp).user(Role.COMPANY)
    client = tapp.test_client()
    codes = [client.post("/password/forgot", data={"email": user.email}).status_code
             for _ in range(3)]
    assert codes == [302, 302, 429]
    # Other addresses from this client: two more, then the address limit.
    codes = [client.post("/password/forgot", data={"email": f"x{n}@example.com"}).status_code
             for n in range(2)]
    assert codes == [302, 429]


def test_the_suggestion_api_is_limited_per_account(tapp, login):
    user = Factory(tapp).user(Role.COMPANY)
    client = login(tapp.test_client(), user)
    codes = [client.post("/api/suggest", json={"title": "CBTC信号系统"}).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    resp = client.post("/api/suggest", json={"title": "CBTC"}, headers={"Accept-Language": "en"})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert resp.json["error"].startswith("Too many attempts")


def test_an_unreachable_redis_falls_back_to_the_database(make_app):
    app = make_app(**LOW, REDIS_URL="redis://127.0.0.1:9/0")
    user = Factory(app).user(Role.COMPANY)
    for _ in range(5):
        assert sign_in(app.test_client(), user.email, "wrong").status_code == 422
    assert sign_in(app.test_client(), user.email, PASSWORD).status_code == 429


def test_defaults_are_sensible():
    cfg = create_app(dict(TESTING=True)).config
    assert cfg["THROTTLE_ENABLED"] is True
    assert (cfg["LOGIN_LIMIT_PER_ACCOUNT"], cfg["LOGIN_WINDOW_MINUTES"]) == (5, 15)
    assert cfg["LOGIN_LIMIT_PER_ADDRESS"] == 30
