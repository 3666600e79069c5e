"""Password reset by e-mail, password and e-mail changes, and the contact-the-park page.

Every flow is followed through the e-mail it queues: links are read from the mail's text."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import AccountToken, LoginSession, OutboundMail, Role, TokenPurpose, User
from board.services import accounts
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, Factory

LINK = re.compile(
    r"https?://[^/\s]+(/(?:password/reset|account/email/confirm|account/confirm)/[A-Za-z0-9_-]+)")
NEW_PASSWORD = "  a new pass phrase "  # kept exactly as typed, spaces included


def mails(app, **where) -> list[dict]:
    """The queued e-mails (oldest first) matching the given column values."""
    with app.app_context():
        q = sa.select(OutboundMail).order_by(OutboundMail.id)
        for column, value in where.items():
            q = q.where(getattr(OutboundMail, column) == value)
        return [
            {c: getattr(m, c) for c in ("to_email", "user_id", "kind", "lang", "subject",
                                         "body_text", "body_html")}
            for m in db.session.scalars(q)
        ]


def link_in(mail: dict) -> str:
    m = LINK.search(mail["body_text"])
    assert m, mail["body_text"]
    assert m.group(0) in mail["body_html"]
    return m.group(1)


def set_user(app, user, **values) -> None:
    with app.app_context():
        u = db.session.get(User, user.id)
        for k, v in values.items():
            setattr(u, k, v)
        db.session.commit()


def signed_in(client, path="/account/password") -> bool:
    return client.get(path).status_code == 200


def request_reset(client, email: str):
    return client.post("/password/forgot", data={"email": email})


def text(resp) -> str:
    return resp.get_data(as_text=True)


# -- password reset -----------------------------------------------------------------------
def test_sign_in_page_links_to_the_forgotten_password_page(client):
    html = text(client.get("/login"))
    assert 'href="/password/forgot"' in html and "忘记密码？" in html
    assert client.get("/password/forgot").status_code == 200


def test_forgot_gives_the_same_answer_for_known_and_unknown_addresses(app, client, make):
    user = make.user(Role.COMPANY, email="known@example.com")
    known = request_reset(client, "Known@Example.com ")
    page_known = text(client.get(known.headers["Location"]))
    unknown = request_reset(client, "nobody@example.com")
    page_unknown = text(client.get(unknown.headers["Location"]))
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/password/forgot"
    assert "如果 known@example.com 已注册账户" in page_known
    # The same page, but for the address and the CSRF token (which carries the second it was made).
    token = re.compile(r'name="csrf[-_]token"[^>]*>')
    assert token.sub("", page_known.replace("known@example.com", "X")) == token.sub(
        "", page_unknown.replace("nobody@example.com", "X"))
    sent = mails(app)
    assert [(m["to_email"], m["kind"], m["user_id"]) for m in sent] == [
        ("known@example.com", "password_reset", user.id)]


def test_reset_mail_is_in_the_users_language(app, client, make):
    user = make.user(Role.SUPPLIER)
    set_user(app, user, locale="en")
    request_reset(client, user.email)
    (mail,) = mails(app, kind="password_reset")
    assert mail["lang"] == "en"
    assert mail["subject"].startswith("Reset your password")
    assert "within 2 hours" in mail["body_text"]
    user_zh = make.user(Role.SUPPLIER)
    request_reset(client, user_zh.email)
    mail_zh = mails(app, to_email=user_zh.email)[0]
    assert mail_zh["lang"] == "zh" and mail_zh["subject"].startswith("重设密码")


def test_reset_end_to_end_single_use_and_every_session_ended(app, make, login):
    user = make.user(Role.COMPANY)
    earlier = login(app.test_client(), user)
    assert signed_in(earlier)
    client = app.test_client()
    request_reset(client, user.email)
    path = link_in(mails(app, kind="password_reset")[0])
    with app.app_context():
        row = db.session.scalar(sa.select(AccountToken))
        assert row.purpose == TokenPurpose.PASSWORD_RESET
        assert path.rsplit("/", 1)[1] not in row.token_hash  # only the hash is stored
        assert row.expires_at - row.created_at == dt.timedelta(hours=2)

    page = client.get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    differ = client.post(path, data={"password": NEW_PASSWORD, "confirm": "something else"})
    assert differ.status_code == 422 and "两次输入的密码不一致" in text(differ)
    short = client.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert "请用新密码登录" in text(client.get("/login"))

    assert not signed_in(earlier)  # the earlier session ended
    with app.app_context():
        assert all(s.revoked_at for s in db.session.scalars(sa.select(LoginSession)))
    old = app.test_client().post("/login", data={"email": user.email, "password": PASSWORD})
    assert old.status_code == 422
    stripped = app.test_client().post(
        "/login", data={"email": user.email, "password": NEW_PASSWORD.strip()})
    assert stripped.status_code == 422
    login(app.test_client(), user, NEW_PASSWORD)

    again = client.post(path, data={"password": "another one 123", "confirm": "another one 123"})
    assert again.status_code == 410
    assert "此链接已被使用" in text(again)
    assert client.get(path).status_code == 410
    login(app.test_client(), user, NEW_PASSWORD)  # unchanged by the second try


def test_an_expired_link_is_refused(app, client, make, login):
    user = make.user(Role.SUPPLIER)
    request_reset(client, user.email)
    path = link_in(mails(app)[0])
    with app.app_context():
        row = db.session.scalar(sa.select(AccountToken))
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        db.session.commit()
    resp = client.get(path)
    assert resp.status_code == 410 and "此链接已过期" in text(resp)
    assert 'href="/password/forgot"' in text(resp)
    post = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert post.status_code == 410
    login(app.test_client(), user)  # the old password still works


def test_a_new_request_voids_the_older_link(app, client, make, login):
    user = make.user(Role.COMPANY)
    request_reset(client, user.email)
    request_reset(client, user.email)  # within a minute: same answer, no second mail
    assert len(mails(app)) == 1
    with app.app_context():  # a while later
        row = db.session.scalar(sa.select(AccountToken))
        row.created_at -= dt.timedelta(minutes=5)
        db.session.commit()
    request_reset(client, user.email)
    first, second = (link_in(m) for m in mails(app))
    assert first != second
    assert client.get(first).status_code == 410
    assert client.post(first, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 410
    assert client.post(second, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    login(app.test_client(), user, NEW_PASSWORD)


def test_unknown_links_are_a_404_in_the_users_language(client):
    resp = client.get("/password/reset/not-a-token", headers={"Accept-Language": "en"})
    assert resp.status_code == 404
    html = text(resp)
    assert "This link is not valid" in html and 'lang="en"' in html
    assert client.get("/password/reset/" + "x" * 300).status_code == 404
    assert client.get("/account/email/confirm/not-a-token").status_code == 404


def test_demo_and_disabled_accounts_get_no_reset_mail(make_app):
    app = make_app(BOARD_DEMO=True)
    make = Factory(app)
    demo = make.user(Role.COMPANY, is_demo=True)
    disabled = make.user(Role.SUPPLIER)
    with app.app_context():
        accounts.set_active(db.session.get(User, disabled.id), False)
        db.session.commit()
    client = app.test_client()
    answers = {request_reset(client, u.email).headers["Location"] for u in (demo, disabled)}
    assert answers == {"/password/forgot"}
    assert mails(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountToken)) == 0


def test_a_reset_link_stops_working_when_the_account_is_disabled(app, client, make):
    user = make.user(Role.COMPANY)
    request_reset(client, user.email)
    path = link_in(mails(app)[0])
    set_user(app, user, active=False)
    assert client.get(path).status_code == 404


# -- password change --------------------------------------------------------------------
def test_password_change_needs_the_current_password_and_ends_other_sessions(app, make, login):
    user = make.user(Role.SUPPLIER)
    here = login(app.test_client(), user)
    other = login(app.test_client(), user)
    page = here.get("/account/password")
    assert page.status_code == 200 and "修改密码" in text(page)

    wrong = here.post("/account/password", data={
        "current": "not-my-password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 422
    assert re.search(r'id="current-error"[^>]*>\s*<li>当前密码不正确', text(wrong))
    missing = here.post("/account/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert missing.status_code == 422
    assert signed_in(other)

    done = here.post("/account/password", data={
        "current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/account/password"
    assert "密码已修改" in text(here.get("/account/password"))
    assert signed_in(here)  # the current session is kept
    assert not signed_in(other)
    assert app.test_client().post(
        "/login", data={"email": user.email, "password": PASSWORD}).status_code == 422
    login(app.test_client(), user, NEW_PASSWORD)


def test_password_change_voids_links_mailed_earlier(app, make, login):
    user = make.user(Role.COMPANY)
    client = login(app.test_client(), user)
    request_reset(app.test_client(), user.email)
    path = link_in(mails(app)[0])
    client.post("/account/password", data={
        "current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert app.test_client().get(path).status_code == 410


def test_account_pages_need_a_sign_in(client):
    for path in ("/account/password", "/account/email"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")
    assert client.post("/account/password", data={}).status_code == 302


def test_demo_accounts_cannot_change_password_or_email(make_app, login):
    app = make_app(BOARD_DEMO=True)
    user = Factory(app).user(Role.COMPANY, is_demo=True)
    client = login(app.test_client(), user)
    assert "演示账户为多人共用" in text(client.get("/account/password"))
    resp = client.post("/account/password", data={
        "current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 422
    resp = client.post("/account/email", data={"email": "mine@example.com", "password": PASSWORD})
    assert resp.status_code == 422 and mails(app) == []


# -- e-mail change ------------------------------------------------------------------------
def test_email_changes_only_through_the_link(app, make, login):
    user = make.user(Role.COMPANY, email="old@example.com")
    make.user(Role.SUPPLIER, email="taken@example.com")
    here = login(app.test_client(), user)
    other = login(app.test_client(), user)

    taken = here.post("/account/email", data={"email": "Taken@example.com", "password": PASSWORD})
    assert taken.status_code == 422
    assert re.search(r'id="email-error"[^>]*>\s*<li>该邮箱已注册', text(taken))
    wrong = here.post("/account/email", data={"email": "new@example.com", "password": "nope-nope"})
    assert wrong.status_code == 422 and "当前密码不正确" in text(wrong)
    same = here.post("/account/email", data={"email": "old@example.com", "password": PASSWORD})
    assert same.status_code == 422
    assert mails(app) == []

    asked = here.post("/account/email", data={"email": "New@Example.com", "password": PASSWORD})
    assert asked.status_code == 302
    page = text(here.get("/account/email"))
    assert "new@example.com" in page and "正在等待确认" in page
    confirm, notice = mails(app)
    assert (confirm["to_email"], confirm["kind"]) == ("new@example.com", "email_change")
    assert (notice["to_email"], notice["kind"]) == ("old@example.com", "email_change_notice")
    assert "new@example.com" in notice["body_text"] and not LINK.search(notice["body_text"])
    path = link_in(confirm)

    # Nothing has changed yet.
    login(app.test_client(), user)
    with app.app_context():
        assert db.session.get(User, user.id).email == "old@example.com"

    shown = here.get(path)
    assert shown.status_code == 200 and "new@example.com" in text(shown)
    with app.app_context():  # opening the page alone changes nothing
        assert db.session.get(User, user.id).email == "old@example.com"
    done = here.post(path)
    assert done.status_code == 302 and done.headers["Location"] == "/account/email"
    with app.app_context():
        assert db.session.get(User, user.id).email == "new@example.com"
    assert signed_in(here) and not signed_in(other)
    assert app.test_client().post(
        "/login", data={"email": "old@example.com", "password": PASSWORD}).status_code == 422
    assert app.test_client().post(
        "/login", data={"email": "new@example.com", "password": PASSWORD}).status_code == 302
    assert here.post(path).status_code == 410  # single use


def test_email_link_works_for_anyone_holding_it_and_ends_every_session(app, make, login):
    user = make.user(Role.SUPPLIER)
    here = login(app.test_client(), user)
    set_user(app, user, locale="en")
    here.post("/account/email", data={"email": "moved@example.com", "password": PASSWORD})
    confirm, notice = mails(app)
    assert confirm["lang"] == notice["lang"] == "en"
    assert confirm["subject"].startswith("Confirm your new e-mail address")
    stranger = app.test_client()
    done = stranger.post(link_in(confirm))
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert not signed_in(here)
    with app.app_context():
        assert db.session.get(User, user.id).email == "moved@example.com"


def test_email_link_is_refused_when_the_address_was_taken_meanwhile(app, make, login):
    user = make.user(Role.COMPANY, email="first@example.com")
    here = login(app.test_client(), user)
    here.post("/account/email", data={"email": "wanted@example.com", "password": PASSWORD})
    path = link_in(mails(app)[0])
    make.user(Role.SUPPLIER, email="wanted@example.com")
    resp = here.post(path)
    assert resp.status_code == 409
    assert "邮箱 wanted@example.com 现已被其他账户使用" in text(resp)
    with app.app_context():
        assert db.session.get(User, user.id).email == "first@example.com"
    assert signed_in(here)


def test_a_new_email_request_voids_the_older_link(app, make, login):
    user = make.user(Role.COMPANY)
    here = login(app.test_client(), user)
    here.post("/account/email", data={"email": "one@example.com", "password": PASSWORD})
    here.post("/account/email", data={"email": "two@example.com", "password": PASSWORD})
    first, second = (link_in(m) for m in mails(app, kind="email_change"))
    assert here.post(first).status_code == 410
    assert here.post(second).status_code == 302
    with app.app_context():
        assert db.session.get(User, user.id).email == "two@example.com"


# -- contact the park ------------------------------------------------------------------------
CONTACT = {
    "name": "刘先生",
    "email": "visitor@example.org",
    "organization": "某轨道研究院",
    "subject": "关于对接活动\r\nBcc: x@example.com",
    "message": "请问下一次需求发布会在什么时候举办？\n谢谢。",
}


def test_contact_page_mails_every_active_staff_member_in_their_language(app, client, make):
    staff_zh = make.user(Role.STAFF, email="staff.zh@example.com")
    staff_en = make.user(Role.STAFF, email="staff.en@example.com")
    set_user(app, staff_en, locale="en")
    gone = make.user(Role.STAFF, email="gone@example.com")
    set_user(app, gone, active=False)
    make.user(Role.COMPANY, email="member@example.com")

    assert 'href="/contact"' in text(client.get("/"))  # the footer links to it
    resp = client.post("/contact", data=CONTACT)
    assert resp.status_code == 302 and resp.headers["Location"] == "/contact"
    assert "谢谢！您的留言已送达园区工作人员" in text(client.get("/contact"))

    sent = {m["to_email"]: m for m in mails(app)}
    assert set(sent) == {"staff.zh@example.com", "staff.en@example.com"}
    zh, en = sent["staff.zh@example.com"], sent["staff.en@example.com"]
    assert (zh["lang"], zh["user_id"]) == ("zh", staff_zh.id)
    assert zh["subject"].startswith("联系园区留言：关于对接活动 Bcc: x@example.com")
    assert "\n" not in zh["subject"]
    assert en["lang"] == "en" and en["subject"].startswith("Contact form: 关于对接活动")
    for mail in (zh, en):
        assert "visitor@example.org" in mail["body_text"]
        assert "请问下一次需求发布会在什么时候举办？\n谢谢。" in mail["body_text"]
        assert "某轨道研究院" in mail["body_text"]
        assert 'href="mailto:visitor%40example.org"' in mail["body_html"]
    assert "Reply to: visitor@example.org" in en["body_text"]
    assert "回复邮箱： visitor@example.org" in zh["body_text"]


def test_contact_form_refuses_empty_and_overlong_text_at_its_field(app, client, make):
    make.user(Role.STAFF)
    blank = client.post("/contact", data=dict(CONTACT, message=" \n\u200b\t "))
    assert blank.status_code == 422
    assert re.search(r'id="message-error"[^>]*>\s*<li>此项为必填项', text(blank))
    long = client.post("/contact", data=dict(CONTACT, message="长" * 5001))
    assert long.status_code == 422 and 'id="message-error"' in text(long)
    bad = client.post("/contact", data=dict(CONTACT, email="not-an-address"))
    assert bad.status_code == 422 and 'id="email-error"' in text(bad)
    assert client.post("/contact", data=dict(CONTACT, subject="   ")).status_code == 422
    assert mails(app) == []
    assert client.post("/contact", data=dict(CONTACT, organization="")).status_code == 302


def test_contact_form_says_so_when_nobody_can_receive_it(app, client):
    resp = client.post("/contact", data=CONTACT)
    assert resp.status_code == 503 and "暂时无法接收留言" in text(resp)
    assert 'value="visitor@example.org"' in text(resp)  # what was typed is kept


def test_contact_form_is_filled_in_for_a_signed_in_member(app, make, login):
    user = make.user(Role.COMPANY, display_name="王工")
    html = text(login(app.test_client(), user).get("/contact"))
    assert 'value="王工"' in html and f'value="{user.email}"' in html


# -- CSRF -------------------------------------------------------------------------------------
@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def test_account_forms_need_the_csrf_token(csrf_app):
    make = Factory(csrf_app)
    user = make.user(Role.COMPANY)
    make.user(Role.STAFF)
    client = csrf_app.test_client()
    assert client.post("/password/forgot", data={"email": user.email}).status_code == 400
    assert client.post("/contact", data=CONTACT).status_code == 400
    assert mails(csrf_app) == []
    token = csrf_token_from(text(client.get("/password/forgot")))
    resp = client.post("/password/forgot", data={"email": user.email, "csrf_token": token})
    assert resp.status_code == 302
    path = link_in(mails(csrf_app)[0])
    form = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(path, data=form).status_code == 400
    token = csrf_token_from(text(client.get(path)))
    assert client.post(path, data=dict(form, csrf_token=token)).status_code == 302


# -- a new account's address ---------------------------------------------------------------
SIGN_UP = {"role": "company", "organization": "某新注册机构", "organization_kind": "enterprise",
           "display_name": "新用户", "email": "fresh@example.com", "password": "a fresh passphrase",
           "confirm": "a fresh passphrase"}


def sign_in_status(app, email="fresh@example.com", password="a fresh passphrase") -> int:
    return app.test_client().post("/login", data={"email": email, "password": password}).status_code


def test_a_signed_up_account_signs_in_only_after_its_link_is_pressed(app):
    assert app.test_client().post("/signup", data=SIGN_UP).status_code == 302
    (mail,) = mails(app, kind="confirm_address")
    assert mail["to_email"] == "fresh@example.com" and "72" in mail["body_text"]
    path = link_in(mail)
    assert sign_in_status(app) == 422
    page = app.test_client().get(path)
    assert page.status_code == 200 and "确认邮箱地址" in text(page)
    assert page.headers["Cache-Control"] == "no-store"
    assert sign_in_status(app) == 422  # opening the page (a mail scanner) confirms nothing
    done = app.test_client().post(path)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert sign_in_status(app) == 302
    assert app.test_client().post(path).status_code == 410  # single use
    assert app.test_client().get("/account/confirm/not-a-token").status_code == 404


def test_a_confirmation_link_expires_and_a_password_reset_confirms_instead(app):
    app.test_client().post("/signup", data=SIGN_UP)
    path = link_in(mails(app, kind="confirm_address")[0])
    with app.app_context():
        db.session.execute(sa.update(AccountToken).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
        db.session.commit()
    gone = app.test_client().post(path)
    assert gone.status_code == 410 and "/password/forgot" in text(gone)
    assert sign_in_status(app) == 422
    request_reset(app.test_client(), "fresh@example.com")
    reset = link_in(mails(app, kind="password_reset")[0])
    app.test_client().post(reset, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert sign_in_status(app, password=NEW_PASSWORD) == 302


def test_signing_up_again_with_an_unconfirmed_address_sends_a_new_link(app):
    app.test_client().post("/signup", data=SIGN_UP)
    again = dict(SIGN_UP, organization="另一个名称", password="another passphrase",
                 confirm="another passphrase")
    assert app.test_client().post("/signup", data=again).status_code == 302
    first, second = (link_in(m) for m in mails(app, kind="confirm_address"))
    assert app.test_client().post(first).status_code == 410  # the newer link replaced it
    assert app.test_client().post(second).status_code == 302
    # Nothing of the second attempt was kept: the first password signs in.
    assert sign_in_status(app, password="another passphrase") == 422
    assert sign_in_status(app) == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
