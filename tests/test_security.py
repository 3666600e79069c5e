"""CSRF on every form, headers, escaping, secrets from the environment."""

import pytest

from board import create_app
from board.config import ConfigError
from board.models import Role
from tests.conftest import csrf_token_from
from tests.factories import Factory


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
    resp = client.post("/login", data={"email": user.email, "password": "password123", "csrf_token": token})
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
    client.post("/login", data={"email": user.email, "password": "password123", "csrf_token": token})
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


def test_secret_key_is_required_outside_development(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"BOARD_ENV": "production"})
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert create_app({"BOARD_ENV": "production"}).config["SECRET_KEY"] == "from-the-environment"
    assert create_app({"BOARD_ENV": "development"}).config["SECRET_KEY"]


def test_api_errors_are_json(app, make, login):
    c = login(app.test_client(), make.user(Role.SUPPLIER))
    bad = c.post("/api/suggest", data="not json", content_type="text/plain")
    assert bad.status_code == 400 and "error" in bad.json
    wrong = c.post("/api/suggest", json={"title": 5})
    assert wrong.status_code == 400
    assert app.test_client().post("/api/suggest", json={}).status_code == 401
