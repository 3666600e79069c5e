"""Throttles from outside, and the session settings a production start gets.

The module's server sits behind a proxy on loopback (``TRUSTED_PROXIES=127.0.0.1``), so each
test plays clients at addresses of its own through ``X-Forwarded-For``; a second server
trusts no proxy, as the board does by default."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.factories import PASSWORD
from tests.security.server import Client, gunicorn

# Production's per-account limits; smaller per-address ones, so that reaching them is quick.
LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS, SIGNUPS_PER_ADDRESS = 5, 10, 5
RESETS_PER_ACCOUNT, SUGGESTIONS_PER_ACCOUNT = 5, 20
SERVER_ENV = {"TRUSTED_PROXIES": "127.0.0.1", "LOGIN_LIMIT_PER_ACCOUNT": LOGIN_PER_ACCOUNT,
              "LOGIN_LIMIT_PER_ADDRESS": LOGIN_PER_ADDRESS,
              "SIGNUP_LIMIT_PER_ADDRESS": SIGNUPS_PER_ADDRESS,
              "RESET_LIMIT_PER_ACCOUNT": RESETS_PER_ACCOUNT,
              "SUGGEST_LIMIT_PER_ACCOUNT": SUGGESTIONS_PER_ACCOUNT,
              # Windows are fixed: a day each, so that none ends in the middle of a test.
              **{f"{k}_WINDOW_MINUTES": 1440 for k in ("LOGIN", "SIGNUP", "RESET", "SUGGEST")}}


def at(world, address: str, **kw) -> Client:
    """A visitor the trusted proxy reports at ``address``."""
    return world.client(headers={"X-Forwarded-For": address}, **kw)


def _login(c: Client, email: str, password: str):
    return c.sign_in(email, password)


def _is_throttled(resp, lang="zh"):
    assert resp.status == 429, (resp.status, resp.text[:300])
    assert int(resp.headers.get("retry-after", "0")) > 0
    text = resp.text
    assert ("请" in text and "分钟" in text or "秒" in text) if lang == "zh" else (
        "try again" in text.lower() or "wait" in text.lower()), text[:500]


def test_wrong_passwords_lock_the_account_for_every_address(world):
    email = world.users["supplier_b"].email
    for i in range(LOGIN_PER_ACCOUNT):
        resp = _login(at(world, f"198.51.100.{i + 1}"), email, f"wrong-password-{i}")
        assert resp.status == 422, (i, resp.status)
    # The right password, from an address that never failed, is now refused too.
    _is_throttled(_login(at(world, "198.51.100.200"), email, PASSWORD))
    en = world.client(headers={"X-Forwarded-For": "198.51.100.201", "Accept-Language": "en"})
    _is_throttled(_login(en, email, PASSWORD), lang="en")
    # Another account is not affected.
    assert _login(at(world, "198.51.100.202"), world.users["company_b"].email, PASSWORD).status == 302


def test_many_accounts_from_one_address_are_slowed(world):
    here = "203.0.113.50"
    for i in range(LOGIN_PER_ADDRESS):
        resp = _login(at(world, here), f"nobody{i}@example.com", "wrong-password-x")
        assert resp.status == 422, (i, resp.status)
    _is_throttled(_login(at(world, here), world.users["both"].email, PASSWORD))
    # The same account from another address signs in.
    assert _login(at(world, "203.0.113.51"), world.users["both"].email, PASSWORD).status == 302


def test_an_address_added_in_front_of_the_proxys_does_not_escape(world):
    """The proxy appends the real peer; only that last hop counts."""
    real = "192.0.2.77"
    for i in range(LOGIN_PER_ADDRESS):
        c = at(world, f"10.9.{i}.1, {real}")
        assert _login(c, f"other{i}@example.com", "wrong-password-x").status == 422
    _is_throttled(_login(at(world, f"10.9.250.1, {real}"), world.users["staff"].email, PASSWORD))


def test_sign_ups_from_one_address_are_slowed(world):
    here = "203.0.113.90"
    for i in range(SIGNUPS_PER_ADDRESS + 1):
        c = at(world, here)
        page = c.get("/signup")
        resp = c.submit(page, page.form("/signup", "email"), role="company",
                        organization=f"节流测试机构{uuid.uuid4().hex[:6]}", display_name="节流",
                        email=f"throttle-{uuid.uuid4().hex[:8]}@example.com",
                        password="correct horse battery staple", confirm="correct horse battery staple")
        if i < SIGNUPS_PER_ADDRESS:
            assert resp.status in (200, 302), (i, resp.status, resp.text[:300])
        else:
            _is_throttled(resp)


def test_password_reset_requests_are_slowed_per_account(world):
    email = world.users["company"].email
    for i in range(RESETS_PER_ACCOUNT + 1):
        c = at(world, f"198.18.0.{i + 1}")
        page = c.get("/password/forgot")
        resp = c.submit(page, page.form("/password/forgot", "email"), email=email)
        if i < RESETS_PER_ACCOUNT:
            assert resp.status in (200, 302), (i, resp.status)
        else:
            _is_throttled(resp)


def test_the_suggestion_api_is_slowed_per_account(world):
    c = world.signed_in("company", headers={"X-Forwarded-For": "198.18.1.1"})
    token = c.csrf("/company/demands/new")
    for i in range(SUGGESTIONS_PER_ACCOUNT):
        resp = c.post("/api/suggest", json={"title": f"CBTC信号系统 {i}"}, headers={"X-CSRFToken": token})
        assert resp.status == 200, (i, resp.status, resp.text[:200])
    resp = c.post("/api/suggest", json={"title": "CBTC"}, headers={"X-CSRFToken": token})
    assert resp.status == 429 and int(resp.headers["retry-after"]) > 0
    assert "error" in resp.json()


@pytest.fixture(scope="module")
def strict(world, tmp_path_factory):
    """The same database behind a second server: no trusted proxy, Secure cookies, CSRF tokens
    that last three seconds, five failed sign-ins per address."""
    url = world.server.env["DATABASE_URL"]
    tmp = tmp_path_factory.mktemp("strict")
    with gunicorn(url, tmp, workers=1, SESSION_COOKIE_SECURE=1, WTF_CSRF_TIME_LIMIT=3,
                  LOGIN_LIMIT_PER_ADDRESS=5, LOGIN_WINDOW_MINUTES=1440) as server:
        yield server


def by_hand(server, **headers) -> Client:
    """A visitor of the Secure-cookie server: the cookie is sent by hand over plain HTTP."""
    c = Client(server.base, headers=headers)
    name, raw = _cookie(c.get("/login"))
    c.headers["Cookie"] = raw.split(";", 1)[0]
    return c


def test_forwarded_addresses_from_an_untrusted_peer_are_ignored(world, strict):
    for i in range(5):
        c = by_hand(strict, **{"X-Forwarded-For": f"100.64.0.{i}"})
        assert c.sign_in(f"ghost{i}@example.com", "wrong-password-x").status == 422
    c = by_hand(strict, **{"X-Forwarded-For": "100.64.9.9"})
    resp = c.sign_in(world.users["supplier"].email, PASSWORD)
    assert resp.status == 429


def _cookie(resp) -> tuple[str, str]:
    raw = resp.headers.get("set-cookie", "")
    assert raw, "no cookie set"
    return raw.split(";", 1)[0].split("=", 1)[0], raw


def test_the_session_cookie_is_host_only_secure_and_httponly(strict):
    resp = Client(strict.base).get("/login")
    name, raw = _cookie(resp)
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in raw.split(";")[1:]}
    assert name.startswith("__Host-"), raw
    assert "secure" in attrs and "httponly" in attrs, raw
    assert attrs.get("samesite", "").lower() == "samesite=lax", raw
    assert attrs.get("path") == "Path=/" and "domain" not in attrs, raw


def test_a_csrf_token_expires(strict):
    c = by_hand(strict)
    page = c.get("/login")
    form = page.form("/login", "email")
    time.sleep(4)
    resp = c.submit(page, form, email="late@example.com", password="whatever-password")
    assert resp.status == 400 and "表单已过期" in resp.text
