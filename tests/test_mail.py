"""``flask send-mail`` against a real SMTP server (aiosmtpd on 127.0.0.1): what is sent, to
whom, in which language; retries after a refused connection; the outbox without a server;
daily digests; reminders and deadline notices written once and only once."""

from __future__ import annotations

import datetime as dt
import email
import re
import smtplib
import socket
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from board.extensions import db
from board.models import (
    Demand,
    Invitation,
    MailStatus,
    Notification,
    OutboundMail,
    Reply,
    ReplyStatus,
    Role,
    User,
    utcnow,
)
from board.services import mailer, notices, rights
from tests.factories import Factory

BOARD_URL = "https://board.park.example"


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for rcpts, m in self.received if address in rcpts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_FROM="board@park.example",
                    BOARD_URL=BOARD_URL)


def send_mail(app) -> str:
    result = app.test_cli_runner().invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    return result.output


def set_fields(app, model, pk, **fields):
    with app.app_context():
        row = db.session.get(model, pk)
        for name, value in fields.items():
            setattr(row, name, value)
        db.session.commit()


def notify(app, users, kind, params, link=None):
    """Write notices the way a request does (the e-mail is queued with them)."""
    with app.test_request_context(base_url=BOARD_URL):
        notices.notify([db.session.get(User, u.id) for u in users], kind, params, link)
        db.session.commit()


def clear_notices(app):
    """Forget the notices and mail the set-up wrote (new replies, publications...)."""
    with app.app_context():
        db.session.execute(sa.delete(OutboundMail))
        db.session.execute(sa.delete(Notification))
        db.session.commit()


def mails(app, **where) -> list[OutboundMail]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboundMail).filter_by(**where).order_by(OutboundMail.id)).all()
        for r in rows:
            db.session.expunge(r)
        return rows


def parts(message) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in message.iter_parts()}


INVITATION = {"org": {"zh": "京城轨道运营", "en": "Jingcheng Rail"}, "demand": "站台门改造"}


def test_each_reader_gets_the_notice_in_their_language(mail_app, smtp):
    make = Factory(mail_app)
    en = make.user(Role.SUPPLIER, email="peter.wu@example.com", display_name="Peter Wu")
    zh = make.user(Role.SUPPLIER, email="zhao.gong@example.com", display_name="赵工")
    set_fields(mail_app, User, en.id, locale="en")
    notify(mail_app, [en, zh], "invitation", INVITATION, "/demands/7")

    out = send_mail(mail_app)
    assert "2 sent" in out and out.count("\n") == 1

    [to_en] = smtp.to("peter.wu@example.com")
    assert to_en["From"] == "board@park.example" and to_en["To"] == "peter.wu@example.com"
    assert to_en["Subject"] == "An invitation to reply · Rail Transit Matchmaking Board"
    assert to_en.get_content_type() == "multipart/alternative"
    body = parts(to_en)
    assert set(body) == {"text/plain", "text/html"}
    assert "Hello Peter Wu," in body["text/plain"]
    assert "Jingcheng Rail invites you to reply to the demand “站台门改造”." in body["text/plain"]
    assert f"{BOARD_URL}/demands/7" in body["text/plain"]
    assert f'href="{BOARD_URL}/demands/7"' in body["text/html"]
    assert f"{BOARD_URL}/account/notices" in body["text/plain"]

    [to_zh] = smtp.to("zhao.gong@example.com")
    assert to_zh["Subject"] == "回应邀请 · 融通对接板"  # a UTF-8 subject, decoded
    body = parts(to_zh)
    assert "赵工，您好：" in body["text/plain"]
    assert "京城轨道运营 邀请您回应需求“站台门改造”。" in body["text/plain"]
    assert "京城轨道运营 邀请您回应需求“站台门改造”。" in body["text/html"]
    assert f'href="{BOARD_URL}/demands/7"' in body["text/html"]

    sent = mails(mail_app)
    assert [m.status for m in sent] == [MailStatus.SENT, MailStatus.SENT]
    assert all(m.sent_at and m.attempts == 1 and m.last_error is None for m in sent)
    # Sent mail is not sent again.
    assert "0 sent" in send_mail(mail_app) and len(smtp.received) == 2


def test_a_refused_connection_is_retried_later_then_given_up(make_app, smtp, login):
    closed = free_port()  # nothing listens there
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed, MAIL_MAX_ATTEMPTS=3, BOARD_URL=BOARD_URL)
    make = Factory(app)
    user = make.user(Role.COMPANY, email="li.na@example.com")
    notify(app, [user], "invitation", INVITATION, "/demands/7")

    before = utcnow()
    assert "1 to retry" in send_mail(app)
    [m] = mails(app)
    assert m.status == MailStatus.QUEUED and m.attempts == 1
    assert "ConnectionRefusedError" in m.last_error
    first_wait = m.next_attempt_at - before
    assert dt.timedelta(minutes=4) < first_wait <= dt.timedelta(minutes=6)

    # Not due yet: the next run leaves it alone.
    assert "0 to retry" in send_mail(app)
    assert mails(app)[0].attempts == 1

    set_fields(app, OutboundMail, m.id, next_attempt_at=utcnow() - dt.timedelta(seconds=1))
    before = utcnow()
    send_mail(app)
    m = mails(app)[0]
    assert m.attempts == 2 and m.status == MailStatus.QUEUED
    assert m.next_attempt_at - before > first_wait + dt.timedelta(minutes=4)  # twice as long

    set_fields(app, OutboundMail, m.id, next_attempt_at=utcnow() - dt.timedelta(seconds=1))
    assert "1 failed" in send_mail(app)
    m = mails(app)[0]
    assert m.status == MailStatus.FAILED and m.attempts == 3 and m.next_attempt_at is None

    # Staff see the failure, with its error and attempts, and send it again.
    staff = login(app.test_client(), make.user(Role.STAFF))
    page = staff.get("/admin/mail?status=failed").get_data(as_text=True)
    assert "li.na@example.com" in page and "ConnectionRefusedError" in page
    assert f"/admin/mail/{m.id}/retry" in page
    assert staff.get("/admin/mail?status=sent").get_data(as_text=True).count("li.na@example.com") == 0
    resp = staff.post(f"/admin/mail/{m.id}/retry", data={"next": "/admin/mail?status=failed"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/mail?status=failed"
    m = mails(app)[0]
    assert m.status == MailStatus.QUEUED and m.attempts == 0
    # Only a failed mail can be retried.
    staff.post(f"/admin/mail/{m.id}/retry")
    assert mails(app)[0].status == MailStatus.QUEUED
    assert staff.post("/admin/mail/999999/retry").status_code == 404

    # The server is back: the mail goes out.
    app.config["MAIL_PORT"] = smtp.port
    assert "1 sent" in send_mail(app)
    assert mails(app)[0].status == MailStatus.SENT
    assert len(smtp.to("li.na@example.com")) == 1


def test_an_error_never_records_the_password(app):
    with app.app_context():
        mail = OutboundMail(to_email="a@example.com", kind="invitation", lang="zh", subject="s",
                            body_text="t", body_html="h", status=MailStatus.QUEUED, attempts=0)
        cfg = dict(app.config, MAIL_PASSWORD="s3cret-pass", MAIL_MAX_ATTEMPTS=5)
        exc = smtplib.SMTPAuthenticationError(535, b"5.7.8 rejected: s3cret-pass")
        mailer.record_failure(mail, exc, utcnow(), cfg)
        assert "s3cret-pass" not in mail.last_error and "535" in mail.last_error


def test_one_refused_address_does_not_stop_the_others(mail_app, smtp):
    make = Factory(mail_app)
    users = [make.user(Role.SUPPLIER, email=f"u{i}@example.com") for i in range(3)]
    notify(mail_app, users, "invitation", INVITATION, "/demands/7")
    smtp.refuse.add("u1@example.com")
    out = send_mail(mail_app)
    assert "2 sent, 1 to retry" in out
    assert {m.to_email: m.status for m in mails(mail_app)} == {
        "u0@example.com": MailStatus.SENT, "u1@example.com": MailStatus.QUEUED,
        "u2@example.com": MailStatus.SENT}
    assert "No such mailbox" in mails(mail_app)[1].last_error


def test_without_a_mail_server_mail_stays_in_the_outbox(make_app, smtp, login):
    app = make_app(MAIL_SERVER=None)
    make = Factory(app)
    user = make.user(Role.COMPANY, email="wang@example.com")
    notify(app, [user], "invitation", {"org": "示例需求方", "demand": "<script>alert(1)</script>"},
           "/demands/7")
    out = send_mail(app)
    assert "0 sent" in out and "outbox" in out
    [m] = mails(app)
    assert m.status == MailStatus.OUTBOX and m.attempts == 0 and smtp.received == []

    staff = login(app.test_client(), make.user(Role.STAFF))
    page = staff.get("/admin/mail?status=outbox").get_data(as_text=True)
    assert "wang@example.com" in page and f"/admin/mail/{m.id}" in page and "回应邀请" in page
    # Read in full: the text part, escaped; the stored HTML is never shown as HTML.
    page = staff.get(f"/admin/mail/{m.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "示例需求方 邀请您回应需求" in page and "/demands/7" in page
    assert 'style="font-family: sans-serif' not in page
    assert staff.get("/admin/mail/999999").status_code == 404
    assert "wang@example.com" not in staff.get("/admin/mail?status=queued").get_data(as_text=True)
    assert staff.get("/admin/mail?status=nonsense").status_code == 404
    assert staff.get("/admin/mail?page=abc").status_code == 200


def test_the_staff_mail_list_is_newest_first_and_paginated(make_app, login):
    app = make_app()
    make = Factory(app)
    with app.app_context():
        start = utcnow()
        for i in range(35):
            db.session.add(OutboundMail(
                to_email=f"r{i:02d}@example.com", kind="invitation", lang="en", subject=f"subject {i}",
                body_text="text", body_html="<p>html</p>", status=MailStatus.OUTBOX,
                created_at=start + dt.timedelta(minutes=i)))
        db.session.commit()
    staff = login(app.test_client(), make.user(Role.STAFF))
    first = staff.get("/admin/mail").get_data(as_text=True)
    found = re.findall(r"r(\d\d)@example\.com", first)
    assert found[0] == "34" and len(found) == 30
    second = staff.get("/admin/mail?page=2").get_data(as_text=True)
    assert re.findall(r"r(\d\d)@example\.com", second) == ["04", "03", "02", "01", "00"]


def test_a_digest_gathers_the_days_notices_into_one_mail(mail_app, smtp, login):
    make = Factory(mail_app)
    reader = make.user(Role.SUPPLIER, email="digest@example.com", display_name="Anna")
    set_fields(mail_app, User, reader.id, locale="en", email_digest=True, email_muted=["message"])
    notify(mail_app, [reader], "invitation", INVITATION, "/demands/7")
    notify(mail_app, [reader], "reply_status", {"demand": "站台门改造", "status": {"zh": "入围", "en": "Shortlisted"}},
           "/supplier/replies")
    notify(mail_app, [reader], "message", {"org": "Jingcheng Rail", "demand": "站台门改造"}, "/demands/7")
    assert mails(mail_app) == []  # a digest reader gets no mail per notice

    assert "1 digests" in send_mail(mail_app)
    [digest] = smtp.to("digest@example.com")
    assert digest["Subject"] == "Your notices of the day · Rail Transit Matchmaking Board"
    body = parts(digest)
    text = body["text/plain"]
    assert "Here are 2 notices from the board since the last digest." in text
    assert "Jingcheng Rail invites you to reply to the demand “站台门改造”." in text
    assert "Your reply to “站台门改造” was answered: Shortlisted." in text
    assert "wrote about" not in text  # muted: in the app only
    assert f"{BOARD_URL}/supplier/replies" in text and f'href="{BOARD_URL}/demands/7"' in body["text/html"]

    # Once a day: a new notice waits for tomorrow's digest.
    notify(mail_app, [reader], "invitation", {"org": "Another Co", "demand": "车辆段改造"}, "/demands/8")
    assert "0 digests" in send_mail(mail_app) and len(smtp.to("digest@example.com")) == 1
    with mail_app.app_context():
        db.session.execute(sa.update(Notification).where(Notification.digested_at.is_not(None))
                           .values(digested_at=utcnow() - dt.timedelta(hours=25)))
        db.session.commit()
    assert "1 digests" in send_mail(mail_app)
    second = smtp.to("digest@example.com")[1]
    text = parts(second)["text/plain"]
    assert "Here is 1 notice" in text and "Another Co invites you" in text and "Jingcheng" not in text

    # The muted notice is in the app all the same.
    client = login(mail_app.test_client(), reader)
    page = client.get("/account/notices", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Jingcheng Rail wrote about the demand “站台门改造”." in page


def _replied_demand(app, make, days_ago: int):
    """A published demand of a two-member company with one reply sent ``days_ago``."""
    company = make.user(Role.COMPANY)
    colleague = make.user(Role.COMPANY, org=make_org(app, company))
    demand = make.demand(company)
    reply = make.reply(make.user(Role.SUPPLIER), demand)
    set_fields(app, Reply, reply.id, created_at=utcnow() - dt.timedelta(days=days_ago))
    return company, colleague, demand, reply


def make_org(app, user):
    from board.models import Organization

    with app.app_context():
        org = db.session.get(Organization, user.organization_id)
        db.session.expunge(org)
        return org


def test_a_waiting_reply_reminds_the_company_once_and_only_once(mail_app, smtp):
    make = Factory(mail_app)
    days = mail_app.config["REPLY_REMINDER_DAYS"]
    company, colleague, demand, old = _replied_demand(mail_app, make, days + 1)
    set_fields(mail_app, User, colleague.id, locale="en")
    _c, _c2, _d, fresh = _replied_demand(mail_app, make, days - 1)
    _c, _c2, _d, answered = _replied_demand(mail_app, make, days + 3)
    set_fields(mail_app, Reply, answered.id, status=ReplyStatus.SHORTLISTED, answered_at=utcnow())
    clear_notices(mail_app)

    out = send_mail(mail_app)
    assert out.startswith("1 reply reminders") and "2 sent" in out
    with mail_app.app_context():
        told = db.session.scalars(sa.select(Notification).where(Notification.kind == "reply_reminder")).all()
        assert sorted(n.user_id for n in told) == sorted([company.id, colleague.id])
        assert told[0].params["reply_id"] == old.id
        assert db.session.get(Reply, old.id).reminded_at is not None
        assert db.session.get(Reply, fresh.id).reminded_at is None
        assert db.session.get(Reply, answered.id).reminded_at is None
    [zh] = smtp.to(company.email)
    assert zh["Subject"].startswith("有回应等待您答复")
    assert f"您的需求“站台门改造”有一条回应已等待答复 {days + 1} 天。" in parts(zh)["text/plain"]
    [en] = smtp.to(colleague.email)
    text = parts(en)["text/plain"]
    assert f"has waited {days + 1} days for your answer" in text
    assert f"{BOARD_URL}/company/demands/{demand.id}#reply-{old.id}" in text

    # Later runs remind nobody again.
    assert send_mail(mail_app).startswith("0 reply reminders")
    assert send_mail(mail_app).startswith("0 reply reminders")
    with mail_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                 .where(Notification.kind == "reply_reminder")) == 2
    assert len(smtp.received) == 2


def test_a_deadline_two_days_away_is_announced_once(mail_app, smtp):
    make = Factory(mail_app)
    with mail_app.app_context():
        in_two_days = rights.local_date(utcnow()) + dt.timedelta(days=2)
    company = make.user(Role.COMPANY, email="poster@example.com")
    demand = make.demand(company, deadline=in_two_days)
    later = make.demand(company, title="站台门维保", deadline=in_two_days + dt.timedelta(days=1))
    matched = make.user(Role.SUPPLIER, email="matched@example.com")
    make.capability(matched)  # platform screen doors: matches both demands
    invited = make.user(Role.SUPPLIER, email="invited@example.com")
    replied = make.user(Role.SUPPLIER, email="replied@example.com")
    make.capability(replied)
    make.reply(replied, demand)
    bystander = make.user(Role.SUPPLIER, email="bystander@example.com")
    make.capability(bystander, title="职工食堂餐饮外包", description="为园区食堂提供午餐。", keywords="餐饮")
    with mail_app.app_context():
        db.session.add(Invitation(demand_id=demand.id, organization_id=invited.organization_id))
        db.session.commit()
    clear_notices(mail_app)

    assert "1 deadline notices" in send_mail(mail_app)
    with mail_app.app_context():
        told = db.session.scalars(sa.select(Notification).where(Notification.kind == "deadline_soon")).all()
        emails = {db.session.get(User, n.user_id).email: n for n in told}
        assert set(emails) == {"poster@example.com", "matched@example.com", "invited@example.com"}
        assert {n.params["demand_id"] for n in told} == {demand.id}
        assert emails["matched@example.com"].link == f"/demands/{demand.id}"
        assert emails["poster@example.com"].link == f"/company/demands/{demand.id}"
    [m] = smtp.to("matched@example.com")
    assert "需求“站台门改造”将于" in parts(m)["text/plain"] and str(in_two_days.year) in parts(m)["text/plain"]

    assert "0 deadline notices" in send_mail(mail_app)
    with mail_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                 .where(Notification.kind == "deadline_soon")) == 3
        assert db.session.get(Demand, later.id).deadline == in_two_days + dt.timedelta(days=1)
