"""Conversations on a reply: messages and meetings between the two parties, read by staff,
hidden from everyone else; calendar files; the staff calendar; anonymous posters."""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import (
    Meeting,
    MeetingStatus,
    Message,
    Notification,
    Organization,
    OutboundMail,
    Outcome,
    OutcomeKind,
    Reply,
    ReplyStatus,
    Role,
    User,
    utcnow,
)
from board.services import ics, replies

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Cast:
    co: User  # the company that posted the demand
    co2: User  # a colleague at that company
    sup: User  # the supplier that replied
    sup2: User  # a colleague at that supplier
    other_sup: User
    other_co: User
    staff: User
    company_org: Organization
    supplier_org: Organization
    demand_id: int
    reply_id: int


def cast(make, anonymous: bool = False) -> Cast:
    company_org = make.org("隐名城轨集团" if anonymous else "京城轨道运营公司", name_en="Hidden Metro Group")
    supplier_org = make.org("丁信号设备有限公司")
    co = make.user(Role.COMPANY, org=company_org, display_name="陈主任", email="chen@metro.example")
    co2 = make.user(Role.COMPANY, org=company_org, display_name="Anna Liu")
    sup = make.user(Role.SUPPLIER, org=supplier_org, display_name="Peter Wu")
    sup2 = make.user(Role.SUPPLIER, org=supplier_org, display_name="赵工")
    other_sup = make.user(Role.SUPPLIER)
    other_co = make.user(Role.COMPANY)
    staff = make.user(Role.STAFF)
    d = make.demand(co, title="站台门安全联动升级", visibility="anonymous" if anonymous else "public",
                    contact_email="hidden.contact@metro.example")
    r = make.reply(sup, d)
    return Cast(co, co2, sup, sup2, other_sup, other_co, staff, company_org, supplier_org, d.id, r.id)


def local_input(days: float = 3, hour: int = 10) -> str:
    """A datetime-local value on the board's clock, some days from now."""
    day = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:30"


def as_utc(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=SHANGHAI).astimezone(dt.UTC)


def proposal(**changes) -> dict:
    data = {"option_1": local_input(3, 10), "option_2": local_input(4, 15), "option_3": "",
            "duration": "90", "place": "丰台科技园 3号楼, 会议室 A; 二层",
            "online_link": "https://meet.example.com/room/42", "note": "请带上\n改造方案，谢谢"}
    data.update(changes)
    return data


def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def notices_of(app, user: User, kind: str) -> list[Notification]:
    with app.app_context():
        return list(db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
            .order_by(Notification.id)))


def meetings_of(app, reply_id: int) -> list[Meeting]:
    with app.app_context():
        items = list(db.session.scalars(
            sa.select(Meeting).where(Meeting.reply_id == reply_id).order_by(Meeting.id)))
        for m in items:
            db.session.expunge(m)
        return items


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def move_to_past(app, meeting_id: int, hours: int = 2) -> None:
    with app.app_context():
        m = db.session.get(Meeting, meeting_id)
        m.starts_at = utcnow() - dt.timedelta(hours=hours)
        db.session.commit()


# -- who reads and writes --------------------------------------------------------------
def test_the_parties_read_and_write_staff_read_nobody_else(app, make, login):
    c = cast(make)
    url = f"/replies/{c.reply_id}"
    co, sup = login(app.test_client(), c.co), login(app.test_client(), c.sup)
    staff = login(app.test_client(), c.staff)

    assert co.post(f"{url}/messages", data={"body": "您好，请介绍一下改造周期。"}).status_code == 302
    assert sup.post(f"{url}/messages", data={"body": "大约三个月，可以分站实施。"}).status_code == 302
    for client in (co, sup, staff, login(app.test_client(), c.co2), login(app.test_client(), c.sup2)):
        page = text_of(client.get(url))
        assert "您好，请介绍一下改造周期。" in page and "大约三个月，可以分站实施。" in page
        assert page.index("您好，请介绍一下改造周期。") < page.index("大约三个月，可以分站实施。")
    # Staff read but do not write: no form, and a POST is refused.
    assert 'name="body"' not in staff.get(url).get_data(as_text=True)
    assert staff.post(f"{url}/messages", data={"body": "园区插话"}).status_code == 403
    assert count(app, Message) == 2

    # Another supplier, another company: not found, for reading and writing alike.
    for user in (c.other_sup, c.other_co):
        other = login(app.test_client(), user)
        assert other.get(url).status_code == 404
        assert other.post(f"{url}/messages", data={"body": "我也想说两句"}).status_code == 404
        assert other.post(f"{url}/meetings", data=proposal()).status_code == 404
    assert count(app, Message) == 2
    # Guessed ids.
    assert co.get("/replies/999999").status_code == 404
    assert co.get(f"{url}/meetings/999999.ics").status_code == 404
    assert co.post(f"{url}/meetings/999999/accept", data={"option": "0"}).status_code == 404
    # Signed out: to the sign-in page.
    resp = app.test_client().get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_reply_cards_link_to_the_conversation(app, make, login):
    c = cast(make)
    link = f'href="/replies/{c.reply_id}"'
    page = login(app.test_client(), c.co).get(f"/company/demands/{c.demand_id}")
    assert link in page.get_data(as_text=True)
    assert link in login(app.test_client(), c.sup).get("/supplier/replies").get_data(as_text=True)


def test_messages_tell_the_other_party(app, make, login):
    c = cast(make)
    sup = login(app.test_client(), c.sup)
    resp = sup.post(f"/replies/{c.reply_id}/messages", data={"body": "我们下周可以到现场。"})
    assert resp.status_code == 302 and "#message-" in resp.headers["Location"]
    for user in (c.co, c.co2):
        (n,) = notices_of(app, user, "message")
        assert n.link.startswith(f"/replies/{c.reply_id}#message-")
        assert n.params["org"]["zh"] == "丁信号设备有限公司"
        assert n.params["demand"] == "站台门安全联动升级"
    assert notices_of(app, c.sup, "message") == [] and notices_of(app, c.sup2, "message") == []
    assert notices_of(app, c.other_sup, "message") == [] and notices_of(app, c.staff, "message") == []

    co = login(app.test_client(), c.co)
    co.post(f"/replies/{c.reply_id}/messages", data={"body": "好的。"})
    assert len(notices_of(app, c.sup, "message")) == len(notices_of(app, c.sup2, "message")) == 1
    assert notices_of(app, c.sup, "message")[0].params["org"]["zh"] == "京城轨道运营公司"


def test_a_message_is_checked_and_kept_once(app, make, login):
    c = cast(make)
    sup = login(app.test_client(), c.sup)
    url = f"/replies/{c.reply_id}/messages"
    for body in ("", "   \n\t ", "\u200b\u200b"):
        resp = sup.post(url, data={"body": body})
        assert resp.status_code == 422 and 'id="body-error"' in resp.get_data(as_text=True)
    resp = sup.post(url, data={"body": "长" * 4001})
    assert resp.status_code == 422 and 'id="body-error"' in resp.get_data(as_text=True)
    assert count(app, Message) == 0
    # The same message sent twice (a double click) is kept once.
    assert sup.post(url, data={"body": "  请查收方案。 "}).status_code == 302
    assert sup.post(url, data={"body": "请查收方案。"}).status_code == 302
    with app.app_context():
        assert db.session.scalars(sa.select(Message.body)).all() == ["请查收方案。"]
    assert len(notices_of(app, c.co, "message")) == 1


def test_a_withdrawn_reply_keeps_its_thread_read_only(app, make, login):
    c = cast(make)
    sup = login(app.test_client(), c.sup)
    sup.post(f"/replies/{c.reply_id}/messages", data={"body": "方案已发送。"})
    with app.app_context():
        replies.withdraw(db.session.get(User, c.sup.id), db.session.get(Reply, c.reply_id))
        db.session.commit()
    co = login(app.test_client(), c.co)
    for client in (sup, co):
        page = client.get(f"/replies/{c.reply_id}").get_data(as_text=True)
        assert "方案已发送。" in page and 'name="body"' not in page and 'name="option_1"' not in page
        assert client.post(f"/replies/{c.reply_id}/messages", data={"body": "还在吗？"}).status_code == 422
        assert client.post(f"/replies/{c.reply_id}/meetings", data=proposal()).status_code == 422
    assert count(app, Message) == 1 and count(app, Meeting) == 0


# -- meetings -----------------------------------------------------------------------
def test_propose_accept_calendar_file_and_held_once(app, make, login):
    c = cast(make)
    url = f"/replies/{c.reply_id}"
    sup, co = login(app.test_client(), c.sup), login(app.test_client(), c.co)
    data = proposal()
    resp = sup.post(f"{url}/meetings", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    (m,) = meetings_of(app, c.reply_id)
    assert m.status == MeetingStatus.PROPOSED and m.side == "supplier" and m.duration_minutes == 90
    # Stored in UTC, sorted; the board's clock is Asia/Shanghai.
    assert m.options == [as_utc(data["option_1"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         as_utc(data["option_2"]).strftime("%Y-%m-%dT%H:%M:%SZ")]
    for user in (c.co, c.co2):
        (n,) = notices_of(app, user, "meeting_request")
        assert n.link == f"{url}#meeting-{m.id}" and n.params["org"]["zh"] == "丁信号设备有限公司"
    assert notices_of(app, c.sup2, "meeting_request") == []

    # The company sees the times and answers; the supplier sees no answer form for its own request.
    page = co.get(url).get_data(as_text=True)
    assert 'name="option"' in page and "Asia" not in page
    assert 'name="option"' not in sup.get(url).get_data(as_text=True)
    assert sup.post(f"{url}/meetings/{m.id}/accept", data={"option": "0"}).status_code == 403
    assert co.post(f"{url}/meetings/{m.id}/accept", data={"option": "7"}).status_code == 422
    resp = co.post(f"{url}/meetings/{m.id}/accept", data={"option": "1"})
    assert resp.status_code == 302
    (m,) = meetings_of(app, c.reply_id)
    assert m.status == MeetingStatus.ACCEPTED and m.starts_at == as_utc(data["option_2"])
    for user in (c.sup, c.sup2):
        (n,) = notices_of(app, user, "meeting_answer")
        assert n.params["status"] == {"zh": "已接受", "en": "Accepted"}
        assert n.params["org"]["zh"] == "京城轨道运营公司"
    # Answering again: told it was already answered; nothing changes, no second notice.
    resp = co.post(f"{url}/meetings/{m.id}/accept", data={"option": "0"}, follow_redirects=True)
    assert resp.status_code == 200 and "已被答复或取消" in text_of(resp)
    resp = login(app.test_client(), c.co2).post(f"{url}/meetings/{m.id}/decline", data={"reason": ""})
    assert resp.status_code == 302
    assert meetings_of(app, c.reply_id)[0].starts_at == as_utc(data["option_2"])
    assert meetings_of(app, c.reply_id)[0].status == MeetingStatus.ACCEPTED
    assert len(notices_of(app, c.sup, "meeting_answer")) == 1

    # The calendar file: both parties and staff; nobody else.
    for user in (c.sup, c.co, c.staff):
        resp = login(app.test_client(), user).get(f"{url}/meetings/{m.id}.ics")
        assert resp.status_code == 200 and resp.mimetype == "text/calendar"
        assert "attachment" in resp.headers["Content-Disposition"]
    assert login(app.test_client(), c.other_sup).get(f"{url}/meetings/{m.id}.ics").status_code == 404
    raw = sup.get(f"{url}/meetings/{m.id}.ics").get_data()
    props = parse_ics(raw)
    start = as_utc(data["option_2"])
    assert props["DTSTART"] == start.strftime("%Y%m%dT%H%M%SZ")
    assert props["DTEND"] == (start + dt.timedelta(minutes=90)).strftime("%Y%m%dT%H%M%SZ")
    assert re.fullmatch(r"\d{8}T\d{6}Z", props["DTSTAMP"])
    assert props["UID"] == f"meeting-{m.id}@127.0.0.1"
    assert props["LOCATION"] == r"丰台科技园 3号楼\, 会议室 A\; 二层"
    assert props["URL"] == "https://meet.example.com/room/42"
    assert r"请带上\n改造方案，谢谢" in props["DESCRIPTION"]
    assert "京城轨道运营公司" in props["SUMMARY"] and "丁信号设备有限公司" in props["SUMMARY"]

    # Held: not before it starts; then once, however often it is posted.
    resp = co.post(f"{url}/meetings/{m.id}/held", follow_redirects=True)
    assert "尚未开始" in text_of(resp) and meetings_of(app, c.reply_id)[0].status == MeetingStatus.ACCEPTED
    move_to_past(app, m.id)
    assert co.post(f"{url}/meetings/{m.id}/held").status_code == 302
    assert sup.post(f"{url}/meetings/{m.id}/held").status_code == 302
    assert login(app.test_client(), c.staff).post(f"{url}/meetings/{m.id}/held").status_code == 302
    assert meetings_of(app, c.reply_id)[0].status == MeetingStatus.HELD
    with app.app_context():
        (o,) = db.session.scalars(sa.select(Outcome)).all()
        m = db.session.get(Meeting, m.id)
        assert o.kind == OutcomeKind.MEETING and o.meeting_id == m.id and o.reply_id == c.reply_id
        assert o.demand_id == c.demand_id and o.event_id is None
        assert (o.organization_a_id, o.organization_b_id) == (c.company_org.id, c.supplier_org.id)
        assert o.occurred_on == m.starts_at.astimezone(SHANGHAI).date()
    assert login(app.test_client(), c.other_co).post(f"{url}/meetings/{m.id}/held").status_code == 404
    # A held meeting still downloads.
    assert co.get(f"{url}/meetings/{m.id}.ics").status_code == 200


def parse_ics(raw: bytes) -> dict[str, str]:
    """Check the physical lines (CRLF, at most 75 octets, UTF-8 kept whole), unfold them and
    return the VEVENT's properties."""
    assert raw.endswith(b"\r\n")
    physical = raw.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in physical)
    assert all(len(line) <= 75 for line in physical), [len(line) for line in physical]
    for line in physical:
        line.decode("utf-8")  # no character cut in two
    text = raw.decode("utf-8").replace("\r\n ", "")
    lines = text.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    event = lines[lines.index("BEGIN:VEVENT") + 1 : lines.index("END:VEVENT")]
    props = dict(line.split(":", 1) for line in event)
    assert {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"} <= props.keys()
    return props


def test_decline_then_propose_again(app, make, login):
    c = cast(make)
    url = f"/replies/{c.reply_id}"
    co, sup = login(app.test_client(), c.co), login(app.test_client(), c.sup)
    assert co.post(f"{url}/meetings", data=proposal(place="", note="")).status_code == 302
    (m,) = meetings_of(app, c.reply_id)
    assert m.side == "company" and notices_of(app, c.sup, "meeting_request")
    resp = sup.post(f"{url}/meetings/{m.id}/decline", data={"reason": "时间冲突"})
    assert resp.status_code == 302
    (m,) = meetings_of(app, c.reply_id)
    assert m.status == MeetingStatus.DECLINED and m.decline_reason == "时间冲突" and m.starts_at is None
    (n,) = notices_of(app, c.co, "meeting_answer")
    assert n.params["status"] == {"zh": "已婉拒", "en": "Declined"}
    assert "时间冲突" in text_of(co.get(url))
    # No calendar file for a declined meeting; a new proposal is possible.
    assert co.get(f"{url}/meetings/{m.id}.ics").status_code == 404
    assert sup.post(f"{url}/meetings", data=proposal()).status_code == 302
    assert count(app, Meeting, Meeting.reply_id == c.reply_id) == 2


def test_cancel_by_the_proposing_side_only(app, make, login):
    c = cast(make)
    with app.app_context():
        db.session.get(User, c.co2.id).locale = "en"
        db.session.commit()
    url = f"/replies/{c.reply_id}"
    sup, co = login(app.test_client(), c.sup), login(app.test_client(), c.co)
    sup.post(f"{url}/meetings", data=proposal())
    (m,) = meetings_of(app, c.reply_id)
    assert co.post(f"{url}/meetings/{m.id}/cancel").status_code == 403
    assert login(app.test_client(), c.staff).post(f"{url}/meetings/{m.id}/cancel").status_code == 403
    assert login(app.test_client(), c.sup2).post(f"{url}/meetings/{m.id}/cancel").status_code == 302
    assert meetings_of(app, c.reply_id)[0].status == MeetingStatus.CANCELLED
    resp = co.post(f"{url}/meetings/{m.id}/accept", data={"option": "0"}, follow_redirects=True)
    assert "已被答复或取消" in text_of(resp)
    assert meetings_of(app, c.reply_id)[0].status == MeetingStatus.CANCELLED
    assert notices_of(app, c.sup, "meeting_answer") == []
    # The other party is told, in the app and by e-mail in each reader's language; the
    # cancelling side and outsiders are not.
    for user in (c.co, c.co2):
        (n,) = notices_of(app, user, "meeting_cancelled")
        assert n.link == f"{url}#meeting-{m.id}" and n.params["org"]["zh"] == "丁信号设备有限公司"
    for user in (c.sup, c.sup2, c.staff, c.other_co):
        assert notices_of(app, user, "meeting_cancelled") == []
    with app.app_context():
        mails = {mail.user_id: mail for mail in db.session.scalars(
            sa.select(OutboundMail).where(OutboundMail.kind == "meeting_cancelled"))}
    assert set(mails) == {c.co.id, c.co2.id}
    assert mails[c.co.id].lang == "zh" and "撤回了关于“站台门安全联动升级”的会面邀请" in mails[c.co.id].body_text
    assert mails[c.co2.id].lang == "en"
    assert "丁信号设备有限公司 withdrew its meeting request about “站台门安全联动升级”." in mails[c.co2.id].body_text
    assert f"{url}#meeting-{m.id}" in mails[c.co2.id].body_html
    page = text_of(co.get("/account/notices"))
    assert "丁信号设备有限公司 撤回了关于“站台门安全联动升级”的会面邀请。" in page


def test_one_open_proposal_at_a_time(app, make, login):
    c = cast(make)
    url = f"/replies/{c.reply_id}"
    sup, co = login(app.test_client(), c.sup), login(app.test_client(), c.co)
    assert sup.post(f"{url}/meetings", data=proposal()).status_code == 302
    for client in (sup, co):
        resp = client.post(f"{url}/meetings", data=proposal(option_1=local_input(9)))
        assert resp.status_code == 422 and "等待答复" in text_of(resp)
    assert count(app, Meeting) == 1
    assert 'name="option_1"' not in co.get(url).get_data(as_text=True)


def test_meeting_fields_are_checked_at_their_field(app, make, login):
    c = cast(make)
    sup = login(app.test_client(), c.sup)
    url = f"/replies/{c.reply_id}/meetings"
    past = (dt.datetime.now(SHANGHAI) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    cases = [
        (proposal(option_1=past), "option_1", "已经过去"),
        (proposal(option_2=past), "option_2", "已经过去"),
        (proposal(option_2=local_input(3, 10)), "option_2", None),  # the same time twice
        (proposal(option_1=""), "option_1", None),
        (proposal(option_1="明天上午"), "option_1", None),
        (proposal(option_1=local_input(500)), "option_1", None),
        (proposal(option_1="0001-01-01T00:00"), "option_1", "已经过去"),
        (proposal(option_1="9999-12-31T23:59"), "option_1", None),
        (proposal(duration="20"), "duration", None),
        (proposal(duration="300"), "duration", None),
        (proposal(duration="一小时"), "duration", None),
        (proposal(place="", online_link=""), "place", None),
        (proposal(online_link="ftp://files.example.com/x"), "online_link", None),
        (proposal(online_link="javascript:alert(1)"), "online_link", None),
        (proposal(place="地" * 301), "place", None),
        (proposal(note="注" * 1001), "note", None),
    ]
    for data, field, words in cases:
        resp = sup.post(url, data=data)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422, (field, data)
        assert f'id="{field}-error"' in html, (field, data)
        if words:
            error = re.search(rf'id="{field}-error">(.*?)</ul>', html, re.S).group(1)
            assert words in unescape(error)
    assert count(app, Meeting) == 0
    # Online only, or a place only: both fine.
    assert sup.post(url, data=proposal(place="")).status_code == 302


def test_two_answers_at_once_accept_once(app, make, login):
    c = cast(make)
    url = f"/replies/{c.reply_id}"
    login(app.test_client(), c.sup).post(f"{url}/meetings", data=proposal())
    (m,) = meetings_of(app, c.reply_id)
    clients = [login(app.test_client(), c.co), login(app.test_client(), c.co2)]
    statuses = run_together([
        lambda: clients[0].post(f"{url}/meetings/{m.id}/accept", data={"option": "0"}).status_code,
        lambda: clients[1].post(f"{url}/meetings/{m.id}/accept", data={"option": "1"}).status_code,
    ])
    assert statuses == [302, 302]
    assert meetings_of(app, c.reply_id)[0].status == MeetingStatus.ACCEPTED
    assert len(notices_of(app, c.sup, "meeting_answer")) == 1

    move_to_past(app, m.id)
    clients = [login(app.test_client(), c.co), login(app.test_client(), c.sup)]
    statuses = run_together([
        lambda: clients[0].post(f"{url}/meetings/{m.id}/held").status_code,
        lambda: clients[1].post(f"{url}/meetings/{m.id}/held").status_code,
    ])
    assert statuses == [302, 302]
    assert count(app, Outcome, Outcome.meeting_id == m.id) == 1


def run_together(calls):
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i):
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


# -- the staff calendar ---------------------------------------------------------------
def test_the_staff_calendar_lists_accepted_meetings(app, make, login):
    c = cast(make)
    url = f"/replies/{c.reply_id}"
    sup, co = login(app.test_client(), c.sup), login(app.test_client(), c.co)
    data = proposal()
    sup.post(f"{url}/meetings", data=data)
    (m,) = meetings_of(app, c.reply_id)
    staff = login(app.test_client(), c.staff)
    assert "站台门安全联动升级" not in text_of(staff.get("/admin/calendar"))  # not accepted yet
    co.post(f"{url}/meetings/{m.id}/accept", data={"option": "0"})

    page = text_of(staff.get("/admin/calendar"))
    assert "站台门安全联动升级" in page and "京城轨道运营公司" in page and "丁信号设备有限公司" in page
    assert f"/replies/{c.reply_id}/meetings/{m.id}.ics" in page
    month = data["option_1"][:7]
    assert "站台门安全联动升级" in text_of(staff.get(f"/admin/calendar?month={month}"))
    assert "站台门安全联动升级" not in text_of(staff.get("/admin/calendar?month=2001-01"))
    resp = staff.get("/admin/calendar?month=nonsense")
    assert resp.status_code == 200 and "2026-05" in text_of(resp)
    en = staff.get("/admin/calendar", headers={"Accept-Language": "en"})
    assert en.status_code == 200 and "Meeting calendar" in text_of(en)
    # A past meeting stays on the calendar, under "past".
    move_to_past(app, m.id, hours=24 * 3)
    assert "站台门安全联动升级" in text_of(staff.get("/admin/calendar"))
    for user in (c.co, c.sup):
        assert login(app.test_client(), user).get("/admin/calendar").status_code == 403


# -- anonymous demands ----------------------------------------------------------------
def test_the_anonymous_poster_stays_hidden_from_the_supplier(app, make, login):
    c = cast(make, anonymous=True)
    url = f"/replies/{c.reply_id}"
    co, sup = login(app.test_client(), c.co), login(app.test_client(), c.sup)
    co.post(f"{url}/messages", data={"body": "请先提供一份初步方案。"})
    co.post(f"{url}/meetings", data=proposal())
    (m,) = meetings_of(app, c.reply_id)
    sup.post(f"{url}/meetings/{m.id}/accept", data={"option": "0"})
    secrets = ("隐名城轨集团", "Hidden Metro Group", "陈主任", "chen@metro.example",
               "hidden.contact@metro.example")

    for lang in ("zh", "en"):
        headers = {"Accept-Language": lang}
        for user in (c.sup, c.sup2):
            client = login(app.test_client(), user)
            page = text_of(client.get(url, headers=headers))
            assert "请先提供一份初步方案。" in page
            assert not [s for s in secrets if s in page], lang
            ics_text = client.get(f"{url}/meetings/{m.id}.ics", headers=headers).get_data(as_text=True)
            assert not [s for s in secrets if s in ics_text.replace("\r\n ", "")]
    (n,) = notices_of(app, c.sup, "message")
    assert n.params["org"] == {"zh": "匿名发布方", "en": "Anonymous poster"}
    (n,) = notices_of(app, c.sup, "meeting_request")
    assert "隐名城轨集团" not in str(n.params)
    assert "隐名城轨集团" in text_of(co.get(url)) and "隐名城轨集团" in text_of(
        login(app.test_client(), c.staff).get(url))

    # Shortlisted: the supplier may now see who posted it.
    with app.app_context():
        replies.answer(db.session.get(User, c.co.id), db.session.get(Reply, c.reply_id),
                       ReplyStatus.SHORTLISTED)
        db.session.commit()
    assert "隐名城轨集团" in text_of(sup.get(url))


@pytest.mark.parametrize(
    "value,expected",
    [("a,b;c\\d", "a\\,b\\;c\\\\d"), ("one\ntwo\r\nthree", "one\\ntwo\\nthree"), ("纯文本", "纯文本")],
)
def test_ics_text_is_escaped(value, expected):
    assert ics.escape(value) == expected


def test_ics_lines_are_folded_at_75_octets():
    for line in ("DESCRIPTION:" + "站台门" * 40, "SUMMARY:" + "x" * 200, "LOCATION:" + "é" * 80):
        folded = ics.fold(line)
        parts = folded.split("\r\n")
        assert all(len(p.encode("utf-8")) <= 75 for p in parts)
        assert all(p.startswith(" ") for p in parts[1:])
        assert folded.replace("\r\n ", "") == line
    assert ics.fold("SHORT:ok") == "SHORT:ok"


# -- every state of a reply, every visitor, both languages ------------------------------
# Which visitors of the page sweep's board open the thread of each reply (the others get
# 404; a signed-out visitor the sign-in page). All replies come from supplier A.
THREAD_READERS = {
    "public": {"co_a", "co_a2", "sup_a", "sup_a2", "staff"},  # sent
    "anonymous": {"co_c", "sup_a", "sup_a2", "staff"},  # sent, to an anonymous demand
    "revealed": {"sup_a", "sup_a2", "staff"},  # shortlisted by an anonymous poster
    "unmatched": {"co_a", "co_a2", "sup_a", "sup_a2", "staff"},  # withdrawn
    "closed_published": {"co_a", "co_a2", "sup_a", "sup_a2", "staff"},  # declined
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_thread_pages_in_every_state(app, login, lang):
    from board.services import conversations
    from tests import test_sweep as sweep

    board = sweep.build_board(app)
    with app.app_context():
        reply_ids = {state: db.session.scalar(sa.select(Reply.id).where(
            Reply.demand_id == board.records[state][1])) for state in THREAD_READERS}
    with app.test_request_context():
        def user(role):
            return db.session.get(User, board.users[role].id)

        def reply(state):
            return db.session.get(Reply, reply_ids[state])

        soon = utcnow() + dt.timedelta(days=5)
        conversations.post_message(user("co_c"), reply("anonymous"), "请先提供一份初步方案。")
        m = conversations.propose(user("co_c"), reply("anonymous"), [soon], 60, place="丰台科技园")
        conversations.accept(user("sup_a"), m, 0)
        conversations.propose(user("co_c"), reply("anonymous"), [soon + dt.timedelta(days=1)], 30,
                              online_link="https://meet.example.com/a")
        conversations.post_message(user("sup_a"), reply("revealed"), "方案见附件。")
        conversations.post_message(user("co_a"), reply("public"), "欢迎来访。")
        db.session.commit()
        accepted = (reply_ids["anonymous"], m.id)

    clients = sweep.visitors(app, board, lang, login)
    secrets = sweep.secrets_of(app, board)
    with app.app_context():
        texts = sweep.stored_texts(lang)
        texts |= sweep.truncations(app, texts)
    remove = sweep.remover(texts)
    problems = []
    pages = [(f"/replies/{reply_ids[s]}", s, THREAD_READERS[s]) for s in THREAD_READERS]
    pages.append((f"/replies/{accepted[0]}/meetings/{accepted[1]}.ics", "anonymous",
                  THREAD_READERS["anonymous"]))
    for url, _state, readers in pages:
        for role in sweep.ROLES:
            resp = clients[role].get(url)
            body = resp.get_data(as_text=True)
            where = f"{lang} {role} {url}"
            want = 302 if role == "anon" else 200 if role in readers else 404
            if resp.status_code != want:
                problems.append(f"{where}: {resp.status_code}, expected {want}")
                continue
            if want != 200:
                continue
            for what, words in secrets.items():
                if role not in sweep.MAY_SEE[what]:
                    shown = sorted(w for w in words if w in body or w in unescape(body)
                                   or w in body.replace("\r\n ", ""))
                    if shown:
                        problems.append(f"{where}: shows the {what}: {shown}")
            if resp.mimetype == "text/html":
                wrong = sweep.wrong_language(remove(sweep.page_text(body)), lang)
                if wrong:
                    problems.append(f"{where}: words of the other language: {wrong}")
            else:
                assert resp.mimetype == "text/calendar"
    assert not problems, "\n".join(problems)
