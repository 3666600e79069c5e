"""CSRF on every form, headers, escaping, secrets from the environment."""

import pytest

from board import create_app
from board.config import ConfigError
from board.models import Role
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, Factory


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def csrf_make(csrf_app):
    return Factory(csrf_app)


def test_forms_without_a_token_are_refused(csrf_app):
    client = csrf_app.test_client()
    resp = client.post("/signup", data={"role": "company", "organization": "某公司", "display_name": "x",
                                        "email": "x@example.com", "password": "longenough1",
                                        "confirm": "longenough1"})
    assert resp.status_code == 400
    assert "表单已过期" in resp.get_data(as_text=True)


def test_forms_with_the_token_work_and_sign_out_needs_it(csrf_app, csrf_make):
    user = csrf_make.user(Role.COMPANY)
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    assert client.post("/logout").status_code == 400
    assert client.get("/company/").status_code == 200  # still signed in
    token = csrf_token_from(client.get("/company/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    resp = client.get("/company/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_api_needs_the_csrf_header(csrf_app, csrf_make):
    user = csrf_make.user(Role.COMPANY)
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    page = client.get("/company/demands/new").get_data(as_text=True)
    assert client.post("/api/suggest", json={"title": "CBTC"}).status_code == 400
    ok = client.post("/api/suggest", json={"title": "CBTC信号系统"},
                     headers={"X-CSRFToken": csrf_token_from(page)})
    assert ok.status_code == 200 and ok.json["segment"]["code"] == "control"


def test_security_headers(client):
    resp = client.get("/")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_user_text_is_escaped(app, make, login):
    user = make.user(Role.COMPANY)
    d = make.demand(user, title="<script>alert(1)</script>站台门", description="<b>粗体</b> 屏蔽门改造需求说明")
    html = app.test_client().get(f"/demands/{d.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert "<b>粗体</b>" not in html


GOOD_KEY = "9f2c4e7a1b8d3f6e0a5c2b9d4e7f1a3c6b8e0d2f5a7c9e1b"


def test_secret_key_is_required_outside_development(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"BOARD_ENV": "production"})
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    assert create_app({"BOARD_ENV": "production"}).config["SECRET_KEY"] == GOOD_KEY
    assert create_app({"BOARD_ENV": "development"}).config["SECRET_KEY"]


@pytest.mark.parametrize("key", [
    "dev", "changeme", "secret", "Secret-Key", "test-secret", "from-the-environment",
    "short-but-random-Qx81", "x" * 40, "ab" * 20,
])
def test_production_refuses_a_weak_secret_key_and_says_how_to_make_one(monkeypatch, key):
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match=r"SECRET_KEY .*secrets\.token_hex\(32\)"):
        create_app({"BOARD_ENV": "production"})
    assert create_app({"BOARD_ENV": "development"}).config["SECRET_KEY"] == key


def test_gunicorn_entry_point_refuses_a_weak_key(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "BOARD_ENV")}
    env.update(SECRET_KEY="dev", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    done = subprocess.run([sys.executable, "-c", "import board.wsgi"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY is a well-known example value" in done.stderr
    assert "token_hex(32)" in done.stderr


@pytest.mark.parametrize("secure", [True, False])
def test_session_cookie_is_host_prefixed_secure_httponly_lax_over_https(make_app, make, secure):
    app = make_app(SESSION_COOKIE_SECURE=secure)
    user = Factory(app).user(Role.COMPANY)
    client = app.test_client()
    base = "https://localhost" if secure else "http://localhost"
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD},
                       base_url=base)
    assert resp.status_code == 302
    cookie = [h for h in resp.headers.getlist("Set-Cookie") if "session=" in h][0]
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert not any(a.startswith("domain=") for a in attrs)
    if secure:
        assert cookie.startswith("__Host-session=") and "secure" in attrs
        assert client.get("/company/", base_url=base).status_code == 200
    else:
        assert cookie.startswith("session=") and "secure" not in attrs
    # The language cookie follows the same rules, and is read back under its name.
    resp = client.post("/lang", data={"lang": "en", "next": "/"}, base_url=base)
    cookie = [h for h in resp.headers.getlist("Set-Cookie") if "lang=" in h][0]
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert cookie.startswith("__Host-lang=en") if secure else cookie.startswith("lang=en")
    assert ("secure" in attrs) is secure
    client.post("/logout", base_url=base)
    assert 'lang="en"' in client.get("/", base_url=base).get_data(as_text=True)


def test_api_errors_are_json(app, make, login):
    c = login(app.test_client(), make.user(Role.SUPPLIER))
    bad = c.post("/api/suggest", data="not json", content_type="text/plain")
    assert bad.status_code == 400 and "error" in bad.json
    wrong = c.post("/api/suggest", json={"title": 5})
    assert wrong.status_code == 400
    assert app.test_client().post("/api/suggest", json={}).status_code == 401
