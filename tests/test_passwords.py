"""Passwords: at least 8 characters, long passphrases kept exactly as typed, the common ones
refused everywhere a password is set (sign-up, change, reset, staff-made accounts, the CLI);
scrypt for new hashes while older hashes keep working. Sign-up says nothing about which
addresses have accounts: the owner of a known one is e-mailed instead."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from board import create_app
from board.extensions import db
from board.models import OutboundMail, Role, TokenPurpose, User, utcnow
from board.services import accounts, passwords, tokens
from board.services.errors import Invalid
from tests.factories import PASSWORD

COMMON = ["password123", "12345678", "qwertyuiop", "Password123", "iloveyou", " 12345678 "]
MESSAGE_ZH = "最常见的密码之一"
PASSPHRASE = "  the Quick brown 火车 jumps over 7 lazy turnouts; " + "x" * 77 + "  "


def signup(client, email="li@example.com", password="a-long-passphrase", org="北京某轨道科技有限公司",
           lang="zh-CN"):
    return client.post("/signup", data={
        "role": "supplier", "organization": org, "organization_kind": "enterprise",
        "display_name": "李工", "email": email, "password": password, "confirm": password},
        headers={"Accept-Language": lang})


def test_the_shipped_list_is_large_names_its_source_and_spares_the_test_password():
    common = passwords.common()
    assert len(common) >= 3000
    with open(passwords.COMMON_PATH, encoding="utf-8") as fh:
        header = fh.readline()
    assert header.startswith("# ") and "Source:" in header
    assert "password123" in common and "12345678" in common
    assert not passwords.is_common(PASSWORD)


@pytest.mark.parametrize("pw", COMMON)
def test_sign_up_refuses_a_common_password_in_place(app, client, pw):
    resp = signup(client, password=pw)
    assert resp.status_code == 422
    assert MESSAGE_ZH in resp.get_data(as_text=True)
    with app.app_context():
        assert accounts.find_user("li@example.com") is None


def test_passwords_from_8_to_128_characters_are_kept_exactly_as_typed(app, client):
    assert len(PASSPHRASE) == 128
    assert signup(client, password="short7!").status_code == 422
    assert signup(client, password=PASSPHRASE).status_code == 302
    from tests.test_accounts import confirm_address

    confirm_address(client, app, "li@example.com")
    assert client.post("/login", data={"email": "li@example.com",
                                       "password": PASSPHRASE.strip()}).status_code == 422
    assert client.post("/login", data={"email": "li@example.com",
                                       "password": PASSPHRASE}).status_code == 302


def test_changing_and_resetting_refuse_common_passwords(app, make, login):
    user = make.user(Role.SUPPLIER)
    c = login(app.test_client(), user)
    resp = c.post("/account/password", data={"current": PASSWORD, "password": "iloveyou1",
                                             "confirm": "iloveyou1"})
    assert resp.status_code == 422 and MESSAGE_ZH in resp.get_data(as_text=True)
    with app.test_request_context():
        token = tokens.issue(db.session.get(User, user.id), TokenPurpose.PASSWORD_RESET)
        db.session.commit()
    resp = app.test_client().post(f"/password/reset/{token}",
                                  data={"password": "password1", "confirm": "password1"})
    assert resp.status_code == 422 and MESSAGE_ZH in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).check_password(PASSWORD)


def test_staff_made_accounts_and_the_cli_refuse_common_passwords(app, make, login):
    staff = make.user(Role.STAFF)
    org = make.org("通号测试机构")
    c = login(app.test_client(), staff)
    resp = c.post(f"/admin/organizations/{org.id}", data={
        "role": "company", "display_name": "成员", "email": "m@example.com",
        "password": "password123"})
    assert resp.status_code == 422 and MESSAGE_ZH in resp.get_data(as_text=True)
    result = app.test_cli_runner().invoke(
        args=["create-staff", "ops@example.com", "--password", "12345678"])
    assert result.exit_code != 0 and "most common" in result.output
    with app.app_context():
        assert accounts.find_user("m@example.com") is None
        assert accounts.find_user("ops@example.com") is None
        with pytest.raises(Invalid):
            accounts.create_user(email="s@example.com", password="qwerty123", role=Role.STAFF,
                                 display_name="s")


def test_new_hashes_are_scrypt_and_older_hashes_still_work(make_app):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["PASSWORD_HASH_METHOD"] == "scrypt"
    with app.app_context():
        db.create_all()
        user = accounts.create_user(email="a@example.com", password=PASSWORD, role=Role.STAFF,
                                    display_name="a")
        assert user.password_hash.startswith("scrypt:")
        old = User(email="b@example.com", display_name="b", role=Role.STAFF,
                   email_confirmed_at=utcnow())
        old.set_password(PASSWORD, "pbkdf2:sha256:600000")
        db.session.add(old)
        db.session.commit()
        assert accounts.authenticate("b@example.com", PASSWORD, False) is not None
        assert accounts.authenticate("a@example.com", PASSWORD, False) is not None


# -- sign-up without enumeration --------------------------------------------------------
def answer(resp, client) -> tuple:
    """What a visitor sees: status, where it leads and the page it shows."""
    page = client.get(resp.headers["Location"]).get_data(as_text=True) if resp.status_code == 302 else ""
    page = re.sub(r'name="csrf[-_]token"[^>]*>', "", page)
    return resp.status_code, resp.headers.get("Location"), page.replace("known@example.com", "X").replace(
        "new@example.com", "X")


def test_sign_up_answers_alike_for_new_and_known_addresses(app, make):
    owner = make.user(Role.COMPANY, email="known@example.com")
    known = app.test_client()
    fresh = app.test_client()
    a = answer(signup(known, email="known@example.com", org="甲机构"), known)
    b = answer(signup(fresh, email="new@example.com", org="乙机构"), fresh)
    assert a == b
    assert a[0] == 302 and a[1].endswith("/login") and "我们已向 X 发送了一封邮件" in a[2]
    with app.app_context():
        # Nothing was created for the known address; its owner was told by e-mail.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
            User.email == "known@example.com")) == 1
        assert db.session.get(User, owner.id).check_password(PASSWORD)
        mails = {m.to_email: m for m in db.session.scalars(sa.select(OutboundMail))}
        assert set(mails) == {"known@example.com", "new@example.com"}
        told = mails["known@example.com"]
        assert told.kind == "signup_attempt" and told.user_id == owner.id
        assert "已有账号" in told.body_text and "/password/forgot" in told.body_text
        assert mails["new@example.com"].kind == "confirm_address"
        assert accounts.find_user("new@example.com").organization.name == "乙机构"
    # Signing in with the password just chosen says nothing either: the known address's
    # owner keeps their own password, and the new account waits for its link.
    tried = [c.post("/login", data={"email": email, "password": "a-long-passphrase"})
             for c, email in ((known, "known@example.com"), (fresh, "new@example.com"))]
    assert [r.status_code for r in tried] == [422, 422]
    shown = [r.get_data(as_text=True).replace(e, "X") for r, e in
             zip(tried, ("known@example.com", "new@example.com"), strict=True)]
    assert "邮箱或密码不正确" in shown[0]
    assert re.sub(r'name="csrf[-_]token"[^>]*>', "", shown[0]) == re.sub(
        r'name="csrf[-_]token"[^>]*>', "", shown[1])


def test_sign_up_with_a_known_address_in_english_mails_the_owner_in_their_language(app, make):
    owner = make.user(Role.COMPANY, email="known@example.com")
    with app.app_context():
        db.session.get(User, owner.id).locale = "en"
        db.session.commit()
    resp = signup(app.test_client(), email="KNOWN@example.com", lang="zh-CN")
    assert resp.status_code == 302
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboundMail)).one()
        assert mail.lang == "en" and "tried to sign up" in mail.subject
        assert "nothing was created" in mail.body_text


def test_a_new_member_is_asked_to_confirm_in_the_language_they_signed_up_in(app):
    assert signup(app.test_client(), email="new@example.com", lang="en").status_code == 302
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboundMail)).one()
        assert mail.kind == "confirm_address" and mail.lang == "en"
        assert "confirm that the address is yours" in mail.body_text
        assert accounts.find_user("new@example.com").locale == "en"
