"""Sign-up, sign-in, sign-out and server-side sessions."""

from board.extensions import db
from board.models import LoginSession, Organization, Role, User
from board.services import accounts
from tests.factories import PASSWORD


def confirm_address(client, app, email: str) -> None:
    """Follow the confirmation link mailed to ``email`` and press its button."""
    from tests.test_account_recovery import link_in, mails

    path = link_in(mails(app, to_email=email, kind="confirm_address")[-1])
    assert client.post(path).status_code == 302


def signup_data(**kw):
    data = {
        "role": "supplier",
        "organization": "北京某轨道科技有限公司",
        "organization_kind": "enterprise",
        "display_name": "李工",
        "email": "li@example.com",
        "password": "longenough1",
        "confirm": "longenough1",
    }
    data.update(kw)
    return data


def test_sign_up_creates_user_and_organisation_then_sign_in(client, app):
    resp = client.post("/signup", data=signup_data())
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/login")
    with app.app_context():
        user = accounts.find_user("LI@example.com ")
        assert user.role == Role.SUPPLIER
        assert user.organization.name == "北京某轨道科技有限公司"
    # The account signs in once the link mailed to the address is followed.
    resp = client.post("/login", data={"email": "li@example.com", "password": "longenough1"})
    assert resp.status_code == 422
    confirm_address(client, app, "li@example.com")
    resp = client.post("/login", data={"email": "li@example.com", "password": "longenough1"})
    assert resp.headers["Location"].endswith("/supplier/")
    assert client.get("/supplier/").status_code == 200


def test_sign_up_errors_are_shown_next_to_fields_and_input_is_kept(client, app):
    resp = client.post(
        "/signup",
        data=signup_data(email="not-an-email", confirm="different1", organization="X"),
        headers={"Accept-Language": "zh-CN"},
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'value="not-an-email"' in html
    assert "两次输入的密码不一致" in html
    assert "有效的电子邮件地址" in html
    with app.app_context():
        assert db.session.query(User).count() == 0
        assert db.session.query(Organization).count() == 0


def test_sign_up_refuses_an_existing_organisation_and_creates_nothing_for_a_taken_email(
        client, make, app):
    existing = make.user(Role.COMPANY, email="taken@example.com")
    resp = client.post("/signup", data=signup_data(email="taken@example.com"))
    assert resp.status_code == 302  # the same answer as for a new address (test_passwords.py)
    with app.app_context():
        org_name = db.session.get(Organization, existing.organization_id).name
    resp = client.post("/signup", data=signup_data(organization=org_name))
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.query(User).count() == 1


def test_wrong_password_gives_one_message_for_both_cases(client, make):
    user = make.user(Role.COMPANY)
    bad_pw = client.post("/login", data={"email": user.email, "password": "wrong-pass"})
    no_user = client.post("/login", data={"email": "nobody@example.com", "password": "wrong-pass"})
    assert bad_pw.status_code == no_user.status_code == 422
    assert "邮箱或密码不正确" in bad_pw.get_data(as_text=True)
    assert "邮箱或密码不正确" in no_user.get_data(as_text=True)


def test_login_follows_only_local_next(client, make):
    user = make.user(Role.COMPANY)
    ok = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": "/event"})
    assert ok.headers["Location"] == "/event"
    client.post("/logout")
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": hostile})
        assert "evil" not in resp.headers["Location"]
        client.post("/logout")


def test_sign_out_ends_the_session_on_the_server(app, make, login):
    user = make.user(Role.COMPANY)
    client = app.test_client()
    login(client, user)
    assert client.get("/company/").status_code == 200
    stolen = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    resp = thief.get("/company/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_sign_out_is_post_only(client, make, login):
    login(client, make.user(Role.COMPANY))
    assert client.get("/logout").status_code == 405
    assert client.get("/company/").status_code == 200


def test_disabling_an_account_ends_all_its_sessions(app, make, login):
    user = make.user(Role.SUPPLIER)
    a, b = app.test_client(), app.test_client()
    login(a, user)
    login(b, user)
    with app.app_context():
        accounts.set_active(db.session.get(User, user.id), False)
        db.session.commit()
        assert all(s.revoked_at is not None for s in db.session.query(LoginSession))
    for c in (a, b):
        resp = c.get("/supplier/")
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert a.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 422


def test_demo_accounts_work_only_in_demo_mode(make_app):
    demo_app = make_app(BOARD_DEMO=True)
    with demo_app.app_context():
        from board.services import seeding

        seeding.load_event()
        accs = seeding.load_demo_accounts()
        db.session.commit()
    company = next(a for a in accs if a["role"] == "company")
    c = demo_app.test_client()
    assert c.post("/login", data={"email": company["email"], "password": company["password"]}).status_code == 302
    # The same database served with demo mode off: no default account signs in,
    # and a session opened in demo mode no longer counts.
    demo_app.config["BOARD_DEMO"] = False
    resp = c.get("/company/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    resp = demo_app.test_client().post(
        "/login", data={"email": company["email"], "password": company["password"]}
    )
    assert resp.status_code == 422
