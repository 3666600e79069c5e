"""Notices in the app: the list, the unread count in the header, opening and marking read,
e-mail settings; a user's notices are theirs alone."""

from __future__ import annotations

import re

import sqlalchemy as sa

from board.extensions import db
from board.models import MailStatus, Notification, OutboundMail, Role, User
from board.services import notices


def notify(app, users, kind, params, link=None) -> list[int]:
    with app.test_request_context():
        out = notices.notify([db.session.get(User, u.id) for u in users], kind, params, link)
        db.session.commit()
        return [n.id for n in out]


def notice(app, notice_id) -> Notification:
    with app.app_context():
        n = db.session.get(Notification, notice_id)
        db.session.expunge(n)
        return n


INVITATION = {"org": {"zh": "京城轨道运营", "en": "Jingcheng Rail"}, "demand": "站台门改造"}
MESSAGE = {"org": {"zh": "丁信号设备", "en": "Ding Signal"}, "demand": "站台门改造"}


def badge(html: str) -> str | None:
    m = re.search(r'class="count-badge"[^>]*>([^<]+)<', html)
    return m.group(1) if m else None


def test_the_list_and_the_unread_count_in_the_header(app, make, login):
    user = make.user(Role.SUPPLIER)
    first = notify(app, [user], "invitation", INVITATION, "/demands/7")[0]
    notify(app, [user], "message", MESSAGE, "/supplier/replies#reply-3")
    notify(app, [user], "demand_published", {"demand": "车辆段改造"}, None)
    client = login(app.test_client(), user)

    zh = client.get("/").get_data(as_text=True)
    assert badge(zh) == "3" and 'aria-label="通知，3 条未读"' in zh
    en = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert badge(en) == "3" and 'aria-label="Notices, 3 unread"' in en

    page = client.get("/account/notices").get_data(as_text=True)
    assert "京城轨道运营 邀请您回应需求“站台门改造”。" in page
    assert page.count('class="notice unread"') == 3
    page = client.get("/account/notices", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Ding Signal wrote about the demand “站台门改造”." in page
    # Newest first.
    assert page.index("车辆段改造") < page.index("Ding Signal") < page.index("Jingcheng Rail")

    # Opening one marks it read and follows its link.
    resp = client.get(f"/account/notices/{first}/open")
    assert resp.status_code == 302 and resp.headers["Location"] == "/demands/7"
    assert notice(app, first).read_at is not None
    assert badge(client.get("/").get_data(as_text=True)) == "2"
    # One without a link goes back to the list.
    with app.app_context():
        no_link = db.session.scalar(sa.select(Notification.id).where(Notification.link.is_(None)))
    resp = client.post(f"/account/notices/{no_link}/read")
    assert resp.status_code == 302 and resp.headers["Location"] == "/account/notices"
    assert badge(client.get("/").get_data(as_text=True)) == "1"

    resp = client.post("/account/notices/read")
    assert resp.status_code == 302
    html = client.get("/account/notices").get_data(as_text=True)
    assert badge(html) is None and "aria-label=\"通知，" not in html and 'class="notice unread"' not in html
    assert "没有未读通知。" in html


def test_one_count_query_per_page(app, make, login):
    user = make.user(Role.COMPANY)
    notify(app, [user], "invitation", INVITATION, "/demands/7")
    client = login(app.test_client(), user)
    counted = []

    def watch(conn, cursor, statement, *args):
        if "count(" in statement.lower() and "notification" in statement.lower():
            counted.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        for url in ("/", "/account/notices"):  # the list shares the header's count
            counted.clear()
            assert client.get(url).status_code == 200
            assert len([s for s in counted if "read_at IS NULL" in s]) == 1, url
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)


def test_notices_are_paginated(app, make, login):
    user = make.user(Role.COMPANY)
    for i in range(25):
        notify(app, [user], "demand_published", {"demand": f"需求{i:02d}"}, f"/company/demands/{i}")
    client = login(app.test_client(), user)
    first = client.get("/account/notices").get_data(as_text=True)
    assert first.count('class="notice unread"') == 20 and "需求24" in first and "需求04" not in first
    second = client.get("/account/notices?page=2").get_data(as_text=True)
    assert second.count('class="notice unread"') == 5 and "需求04" in second and "需求00" in second


def test_a_users_notices_are_never_anothers(app, make, login):
    owner, other = make.user(Role.SUPPLIER), make.user(Role.SUPPLIER)
    [mine] = notify(app, [owner], "invitation", INVITATION, "/demands/7")
    snoop = login(app.test_client(), other)

    assert "京城轨道运营" not in snoop.get("/account/notices").get_data(as_text=True)
    assert badge(snoop.get("/").get_data(as_text=True)) is None
    assert snoop.get(f"/account/notices/{mine}/open").status_code == 404
    assert snoop.post(f"/account/notices/{mine}/read").status_code == 404
    for guess in (mine + 1, 999999, 2**31 - 1):
        assert snoop.get(f"/account/notices/{guess}/open").status_code == 404
        assert snoop.post(f"/account/notices/{guess}/read").status_code == 404
    assert snoop.post("/account/notices/read").status_code == 302  # marks only its own
    assert notice(app, mine).read_at is None
    assert badge(login(app.test_client(), owner).get("/").get_data(as_text=True)) == "1"

    anonymous = app.test_client()
    for url in ("/account/notices", f"/account/notices/{mine}/open", "/account/settings"):
        resp = anonymous.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert anonymous.post(f"/account/notices/{mine}/read").status_code == 302
    assert notice(app, mine).read_at is None


def test_open_follows_only_a_local_link(app, make, login):
    user = make.user(Role.COMPANY)
    ids = [notify(app, [user], "demand_published", {"demand": "x"}, link)[0]
           for link in ("https://evil.example/", "//evil.example/x", "/\\evil.example")]
    client = login(app.test_client(), user)
    for notice_id in ids:
        resp = client.get(f"/account/notices/{notice_id}/open")
        assert resp.status_code == 302 and resp.headers["Location"] == "/account/notices"


def test_settings_choose_the_kinds_sent_by_email_and_the_digest(make_app, login):
    app = make_app(MAIL_SERVER="127.0.0.1")
    from tests.factories import Factory

    user = Factory(app).user(Role.SUPPLIER)
    client = login(app.test_client(), user)
    page = client.get("/account/settings").get_data(as_text=True)
    assert page.count('type="checkbox"') == len(notices.KINDS) + 1
    assert page.count("checked") == len(notices.KINDS)  # every kind by e-mail, no digest

    resp = client.post("/account/settings", data={"by_email": ["invitation", "reply_status"]})
    assert resp.status_code == 302
    with app.app_context():
        saved = db.session.get(User, user.id)
        assert set(saved.email_muted) == set(notices.KINDS) - {"invitation", "reply_status"}
        assert saved.email_digest is False

    # A muted kind is in the app but gets no e-mail.
    notify(app, [user], "message", MESSAGE, "/demands/7")
    notify(app, [user], "invitation", INVITATION, "/demands/7")
    with app.app_context():
        queued = db.session.scalars(sa.select(OutboundMail)).all()
        assert [(m.kind, m.status) for m in queued] == [("invitation", MailStatus.QUEUED)]
    listed = client.get("/account/notices").get_data(as_text=True)
    assert "丁信号设备 就需求“站台门改造”发来消息。" in listed and "京城轨道运营 邀请您" in listed

    resp = client.post("/account/settings", data={"by_email": ["message"], "digest": "y"})
    assert resp.status_code == 302
    with app.app_context():
        saved = db.session.get(User, user.id)
        assert saved.email_digest is True and "message" not in saved.email_muted
    html = client.get("/account/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.search(r'value="message"[^>]*checked|checked[^>]*value="message"', html)

    # An unknown kind is refused at its field, nothing saved.
    resp = client.post("/account/settings", data={"by_email": ["nonsense"]})
    assert resp.status_code == 422
    assert 'class="field choices has-error"' in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).email_digest is True
