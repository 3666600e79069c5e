"""Input hygiene in one place: invisible text is empty, line breaks are one kind, limits are
counted and said instead of cut, past dates are refused where they make no sense."""

import datetime as dt
import re

import pytest

from board.extensions import db
from board.models import Demand, Organization, Role, User
from tests.factories import board_today

INVISIBLE = ["\u200b\u200b\u200b", "\ufeff", "\u2060\u200b", "\u200d\u200c", " \u3000\u200b ", "\u202e\u202c"]
DEMAND = {"title": "站台门改造", "description": "既有线路站台门（屏蔽门）改造与维护。", "segment": "equipment",
          "visibility": "public"}


def _error_at(html: str, field_id: str) -> bool:
    return bool(re.search(rf'<div class="field[^"]*has-error[^"]*">\s*<label for="{field_id}"', html))


@pytest.mark.parametrize("blank", INVISIBLE)
def test_invisible_names_and_titles_are_empty(app, client, make, login, blank):
    resp = client.post("/signup", data={
        "role": "company", "organization": blank, "organization_kind": "enterprise",
        "display_name": blank, "email": "x@example.com", "password": "a-long-passphrase",
        "confirm": "a-long-passphrase"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert _error_at(html, "organization") and _error_at(html, "display_name")
    c = login(app.test_client(), make.user(Role.COMPANY))
    resp = c.post("/company/demands/new", data=dict(DEMAND, title=blank))
    assert resp.status_code == 422 and _error_at(resp.get_data(as_text=True), "title")
    with app.app_context():
        assert db.session.query(Demand).count() == 0
        assert db.session.query(Organization).filter(Organization.name.like("%\u200b%")).count() == 0


def test_text_is_stored_without_invisible_characters_and_with_one_kind_of_line_break(app, make, login):
    c = login(app.test_client(), make.user(Role.COMPANY))
    c.post("/company/demands/new", data=dict(
        DEMAND, title="\ufeff站台\u200b门改造\u200b", description="第一行\r\n第二行\r第三行，共三行内容。"))
    with app.app_context():
        d = db.session.query(Demand).one()
        assert d.title == "站台门改造"
        assert d.description == "第一行\n第二行\n第三行，共三行内容。"


def test_limited_fields_count_instead_of_cutting(app, make, login):
    c = login(app.test_client(), make.user(Role.COMPANY))
    html = c.get("/company/demands/new").get_data(as_text=True)
    title = re.search(r'<input[^>]*id="title"[^>]*>', html).group(0)
    assert not re.search(r"\smaxlength=", title) and 'data-maxlength="200"' in title
    assert 'id="title-count"' in html
    # The server's limit stays authoritative, with the message at the field.
    resp = c.post("/company/demands/new", data=dict(DEMAND, title="长" * 201))
    assert resp.status_code == 422 and _error_at(resp.get_data(as_text=True), "title")


def test_a_reply_by_date_in_the_past_is_refused_at_its_field(app, make, login):
    company = make.user(Role.COMPANY)
    c = login(app.test_client(), company)
    yesterday = (board_today() - dt.timedelta(days=1)).isoformat()
    resp = c.post("/company/demands/new", data=dict(DEMAND, deadline=yesterday))
    assert resp.status_code == 422 and _error_at(resp.get_data(as_text=True), "deadline")
    today = board_today().isoformat()
    assert c.post("/company/demands/new", data=dict(DEMAND, deadline=today)).status_code == 302
    # A demand whose date has since passed can still be edited without changing it.
    with app.app_context():
        d = db.session.query(Demand).one()
        d.deadline = board_today() - dt.timedelta(days=3)
        db.session.commit()
        old = d.deadline.isoformat()
    resp = c.post(f"/company/demands/{d.id}/edit", data=dict(DEMAND, title="站台门改造二期", deadline=old))
    assert resp.status_code == 302


def test_passwords_are_kept_exactly_as_typed(app, client):
    pw = "  spaced\u200bpassphrase  "
    client.post("/signup", data={
        "role": "supplier", "organization": "空格测试机构", "organization_kind": "enterprise",
        "display_name": "钱工", "email": "pw@example.com", "password": pw, "confirm": pw})
    with app.app_context():
        user = db.session.query(User).filter_by(email="pw@example.com").one()
        assert user.check_password(pw) and not user.check_password(pw.strip())


def test_a_failed_page_says_nothing_was_saved_only_after_a_form(app, make, login, monkeypatch):
    from board.views import public

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(public.demands, "search_published", boom)
    resp = app.test_client().get("/", headers={"Accept-Language": "en"})
    assert resp.status_code == 500
    html = resp.get_data(as_text=True)
    assert "Nothing you entered was saved" not in html
    # The way back does not lead to the page that just failed.
    assert 'class="btn" href="/event"' in html
    c = login(app.test_client(), make.user(Role.COMPANY))
    monkeypatch.setattr("board.services.demands.create", boom)
    resp = c.post("/company/demands/new", data=DEMAND, headers={"Accept-Language": "en"})
    assert resp.status_code == 500 and "Nothing you entered was saved" in resp.get_data(as_text=True)
