"""Collection rounds in the staff console: create, edit, open, close, carry open demands
over (with history and audit entries), the board's notice, and round-on-round figures."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import (
    AuditEntry,
    Demand,
    Match,
    MatchStatus,
    Organization,
    Outcome,
    OutcomeKind,
    Reply,
    Role,
    Round,
    RoundMove,
    User,
)
from board.services import funnel, replies, rounds
from tests.factories import board_today

TODAY = board_today()
DAY = dt.timedelta(days=1)

CATERING = {"title": "园区职工食堂餐饮外包", "description": "为园区职工食堂寻找餐饮承包商，负责工作日午餐供应。",
            "keywords": "餐饮", "segment": ""}


def add_round(app, name, opens_on, closes_on=None, **kw) -> int:
    with app.app_context():
        r = Round(name=name, opens_on=opens_on, closes_on=closes_on, **kw)
        db.session.add(r)
        db.session.commit()
        return r.id


def audit_actions(app, object_type="collection_round", object_id=None) -> list[str]:
    with app.app_context():
        q = sa.select(AuditEntry.action).where(AuditEntry.object_type == object_type)
        if object_id is not None:
            q = q.where(AuditEntry.object_id == object_id)
        return list(db.session.scalars(q.order_by(AuditEntry.id)))


def review(m: Match, status: MatchStatus, staff: User) -> None:
    """A staff decision on a stored match, as the review queue leaves it."""
    m.status, m.reviewed_by_id, m.reviewed_at = status, staff.id, dt.datetime.now(dt.UTC)
    if status == MatchStatus.DISMISSED:
        m.dismiss_reason = "方向不符"
    db.session.flush()


def set_round(app, demand_id, round_id) -> None:
    with app.app_context():
        db.session.get(Demand, demand_id).round_id = round_id
        db.session.commit()


# -- create and edit -------------------------------------------------------------------
def test_staff_create_and_edit_a_round_with_audit_entries(app, make, login):
    staff = make.user(Role.STAFF)
    c = login(app.test_client(), staff)
    assert c.get("/admin/rounds").status_code == 200
    form = {"name": "2026年春季需求征集", "name_en": "Spring 2026", "opens_on": "2026-03-01",
            "closes_on": "2026-04-30", "description": "面向装备研制环节征集需求。",
            "segments": ["equipment", "control"], "themes": ["low_carbon"]}
    resp = c.post("/admin/rounds/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        r = db.session.scalar(sa.select(Round).where(Round.name == form["name"]))
        assert (r.name_en, r.opens_on, r.closes_on) == ("Spring 2026", dt.date(2026, 3, 1), dt.date(2026, 4, 30))
        assert r.segments == ["equipment", "control"] and r.themes == ["low_carbon"]
        rid = r.id
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.create"))
        assert entry.actor_id == staff.id and entry.object_id == rid
        assert entry.after["closes_on"] == "2026-04-30" and entry.after["segments"] == ["equipment", "control"]
    assert resp.headers["Location"] == f"/admin/rounds/{rid}"
    page = c.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    assert "2026年春季需求征集" in page and "面向装备研制环节征集需求。" in page

    edit = c.get(f"/admin/rounds/{rid}/edit").get_data(as_text=True)
    assert 'value="2026-04-30"' in edit and "Spring 2026" in edit
    resp = c.post(f"/admin/rounds/{rid}/edit", data=dict(form, closes_on="2026-05-15", themes=[]))
    assert resp.status_code == 302
    with app.app_context():
        r = db.session.get(Round, rid)
        assert r.closes_on == dt.date(2026, 5, 15) and r.themes == []
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.update"))
        assert entry.before == {"closes_on": "2026-04-30", "themes": ["low_carbon"]}
        assert entry.after == {"closes_on": "2026-05-15", "themes": []}
    # Saving without a change records nothing.
    c.post(f"/admin/rounds/{rid}/edit", data=dict(form, closes_on="2026-05-15", themes=[]))
    assert audit_actions(app, object_id=rid) == ["round.create", "round.update"]


@pytest.mark.parametrize("changes, field, message", [
    ({"name": ""}, "name", "此项为必填项"),
    ({"opens_on": ""}, "opens_on", "此项为必填项"),
    ({"opens_on": "2026-31-12"}, "opens_on", "不是有效的日期值"),
    ({"closes_on": "2026-02-01"}, "closes_on", "轮次的截止日期不能早于开始日期"),
    ({"name": "已有的轮次"}, "name", "已有同名的征集轮次"),
    ({"segments": ["nonsense"]}, "segments", ""),
])
def test_bad_round_input_is_refused_at_its_field(app, make, login, changes, field, message):
    add_round(app, "已有的轮次", dt.date(2025, 1, 1))
    c = login(app.test_client(), make.user(Role.STAFF))
    form = dict({"name": "新一轮", "opens_on": "2026-03-01", "closes_on": ""}, **changes)
    resp = c.post("/admin/rounds/new", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f'id="{field}-error"' in html or f"{field}-error" in html or field == "segments"
    assert message in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 1
    assert audit_actions(app) == []


# -- open and close ------------------------------------------------------------------
def test_opening_an_upcoming_round_starts_it_today(app, make, login):
    rid = add_round(app, "下一轮", TODAY + 20 * DAY, TODAY + 60 * DAY)
    c = login(app.test_client(), make.user(Role.STAFF))
    page = c.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    assert "data-confirm=" in page and f"/admin/rounds/{rid}/open" in page
    resp = c.post(f"/admin/rounds/{rid}/open")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/rounds/{rid}"
    with app.app_context():
        r = db.session.get(Round, rid)
        assert (r.opens_on, r.closes_on) == (TODAY, TODAY + 60 * DAY)
        assert rounds.state(r) == "open"
    # A second click (or a colleague's at the same moment) changes nothing and fails nothing.
    assert c.post(f"/admin/rounds/{rid}/open").status_code == 302
    assert audit_actions(app, object_id=rid) == ["round.open"]


def test_opening_a_closed_round_again_removes_its_past_closing_date(app, make, login):
    rid = add_round(app, "旧一轮", dt.date(2024, 1, 1), dt.date(2024, 2, 1))
    c = login(app.test_client(), make.user(Role.STAFF))
    c.post(f"/admin/rounds/{rid}/open")
    with app.app_context():
        r = db.session.get(Round, rid)
        assert (r.opens_on, r.closes_on) == (dt.date(2024, 1, 1), None)
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.open"))
        assert entry.before == {"opens_on": "2024-01-01", "closes_on": "2024-02-01"}
        assert entry.after == {"opens_on": "2024-01-01", "closes_on": None}


def test_close_with_confirmation_and_carry_open_demands_over(app, make, login):
    company, staff = make.user(Role.COMPANY), make.user(Role.STAFF)
    old = add_round(app, "第一轮", TODAY - 30 * DAY, name_en="Round one")
    new = add_round(app, "第二轮", TODAY + 10 * DAY, TODAY + 40 * DAY)
    gone = add_round(app, "更早的一轮", TODAY - 90 * DAY, TODAY - 60 * DAY)
    # Demands are filed in the round open when they are submitted: the first one.
    submitted = make.demand(company, "submitted", title="屏蔽门故障诊断平台")
    published = make.demand(company, "published", title="既有线站台门改造")
    closed = make.demand(company, "closed", title="站台门维保外包")
    with app.app_context():
        assert {db.session.get(Demand, d.id).round_id for d in (submitted, published, closed)} == {old}
    c = login(app.test_client(), staff)

    confirm = c.get(f"/admin/rounds/{old}/close")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "本轮有 2 项未结束的需求" in html
    # The choice offers open and upcoming rounds only, never the round itself or a closed one.
    assert f'<option value="{new}">第二轮（即将开始）</option>' in html
    assert f'value="{gone}"' not in html and f'<option value="{old}"' not in html
    with app.app_context():
        assert db.session.get(Round, old).closes_on is None  # showing the page changes nothing

    # A closed round is refused as a target, at its field.
    resp = c.post(f"/admin/rounds/{old}/close", data={"carry_to": str(gone)})
    assert resp.status_code == 422 and "carry_to-error" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Round, old).closes_on is None

    resp = c.post(f"/admin/rounds/{old}/close", data={"carry_to": str(new)})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/rounds/{old}"
    flashed = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "轮次已结束" in flashed and "2 项未结束的需求已转入另一轮次" in flashed
    with app.app_context():
        assert db.session.get(Round, old).closes_on == TODAY
        assert db.session.get(Demand, submitted.id).round_id == new
        assert db.session.get(Demand, published.id).round_id == new
        assert db.session.get(Demand, closed.id).round_id == old  # closed: stays where it was
        moves = db.session.scalars(sa.select(RoundMove).order_by(RoundMove.demand_id)).all()
        assert [(m.demand_id, m.from_round_id, m.to_round_id, m.moved_by_id) for m in moves] == [
            (submitted.id, old, new, staff.id), (published.id, old, new, staff.id)]
        carry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.carry"))
        assert carry.after == {"round_id": new, "demands": [submitted.id, published.id]}
        close = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.close"))
        assert close.before == {"closes_on": None} and close.after == {"closes_on": TODAY.isoformat()}
    assert audit_actions(app, object_id=old) == ["round.close", "round.carry"]

    # The staff demand page keeps the history.
    page = c.get(f"/admin/demands/{published.id}").get_data(as_text=True)
    assert re.search(r"于 .+ 从“第一轮”转入", page)
    assert "从“第一轮”转入“第二轮”" in page
    en = c.get(f"/admin/demands/{published.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Carried from Round one on" in en

    # Closing again (a colleague's click a moment later) adds nothing: no second move, no error.
    resp = c.post(f"/admin/rounds/{old}/close", data={"carry_to": str(new)})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoundMove)) == 2
    assert audit_actions(app, object_id=old) == ["round.close", "round.carry"]


def test_a_round_closed_by_its_date_can_carry_its_leftovers_later(app, make, login):
    company = make.user(Role.COMPANY)
    past = add_round(app, "上一轮", TODAY - 60 * DAY, TODAY + 5 * DAY)
    d = make.demand(company, "published")
    with app.app_context():
        db.session.get(Round, past).closes_on = TODAY - 5 * DAY
        db.session.commit()
    nxt = add_round(app, "这一轮", TODAY - 4 * DAY)
    c = login(app.test_client(), make.user(Role.STAFF))
    page = c.get(f"/admin/rounds/{past}").get_data(as_text=True)
    assert f"/admin/rounds/{past}/carry" in page and "仍有 1 项未结束的需求" in page
    resp = c.post(f"/admin/rounds/{past}/carry", data={"carry_to": ""})
    assert resp.status_code == 422 and "请选择一个轮次" in resp.get_data(as_text=True)
    assert c.post(f"/admin/rounds/{past}/carry", data={"carry_to": str(nxt)}).status_code == 302
    with app.app_context():
        assert db.session.get(Demand, d.id).round_id == nxt
    assert f"/admin/rounds/{past}/carry" not in c.get(f"/admin/rounds/{past}").get_data(as_text=True)


def test_an_upcoming_round_cannot_be_closed(app, make, login):
    rid = add_round(app, "未来的一轮", TODAY + 3 * DAY)
    c = login(app.test_client(), make.user(Role.STAFF))
    resp = c.post(f"/admin/rounds/{rid}/close", data={})
    assert resp.status_code == 422 and "该轮次尚未开始" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Round, rid).closes_on is None


def test_round_routes_are_for_staff_only(app, make, login):
    rid = add_round(app, "第一轮", TODAY)
    company = login(app.test_client(), make.user(Role.COMPANY))
    for url in ("/admin/rounds", f"/admin/rounds/{rid}", f"/admin/rounds/{rid}/close"):
        assert company.get(url).status_code == 403
    assert company.post(f"/admin/rounds/{rid}/close").status_code == 403
    with app.app_context():
        assert db.session.get(Round, rid).closes_on is None


# -- the public board ------------------------------------------------------------------
def test_the_board_shows_the_open_round_and_its_closing_date(app):
    c = app.test_client()
    assert "目前没有正在进行的需求征集。" in c.get("/").get_data(as_text=True)
    assert "No round is open at the moment." in c.get(
        "/", headers={"Accept-Language": "en"}).get_data(as_text=True)

    add_round(app, "下一轮征集", TODAY + 7 * DAY, name_en="Next round")
    html = c.get("/").get_data(as_text=True)
    assert "目前没有正在进行的需求征集。" in html and "下一轮“下一轮征集”将于" in html

    closes = dt.date(TODAY.year + 1, 3, 31)
    add_round(app, "2026年第二轮需求征集", TODAY - 3 * DAY, closes, name_en="Round 2, 2026")
    html = c.get("/").get_data(as_text=True)
    assert f"2026年第二轮需求征集正在征集需求，截止日期：{closes.year}年3月31日。" in html
    assert "目前没有" not in html
    en = c.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"Round 2, 2026 is open until Mar 31, {closes.year}." in en


def test_the_board_says_when_an_open_round_has_no_closing_date(app):
    add_round(app, "常年征集", TODAY - 3 * DAY, name_en="Rolling call")
    en = app.test_client().get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Rolling call is open; no closing date is set." in en


# -- round-on-round figures --------------------------------------------------------------
@pytest.fixture
def data_set(app, make):
    """Three rounds with known figures (see the assertions)."""
    company, other_company = make.user(Role.COMPANY), make.user(Role.COMPANY)
    s1, s2, s3, s4 = (make.user(Role.SUPPLIER) for _ in range(4))
    staff = make.user(Role.STAFF)
    r1 = add_round(app, "第一轮", dt.date(2023, 1, 1), dt.date(2023, 6, 30), name_en="Round 1")
    r2 = add_round(app, "第二轮", dt.date(2023, 7, 1), dt.date(2023, 12, 31), name_en="Round 2")
    r3 = add_round(app, "第三轮", dt.date(2024, 1, 1), name_en="Round 3")
    c1 = make.capability(s1, title="站台门改造与维保服务")
    make.capability(s3, title="屏蔽门安装与维护")
    c4 = make.capability(s4, title="站台门系统集成")
    # Round 1: a platform-door demand (matched by s1, s3, s4) and a demand awaiting review.
    d1 = make.demand(company, "published", title="既有线站台门改造")
    d2 = make.demand(company, "submitted", **CATERING)
    draft = make.demand(company, "draft", title="草稿不计")
    # Round 2: three unmatched demands, one closed after publication.
    d4 = make.demand(company, "published", **CATERING)
    d5 = make.demand(other_company, "published", **CATERING)
    d6 = make.demand(company, "closed", **CATERING)
    # Round 3 (open now): a new platform-door demand awaiting review.
    d7 = make.demand(company, "submitted", title="站台门应急照明改造")
    for d, r in ((d1, r1), (d2, r1), (draft, r1), (d4, r2), (d5, r2), (d6, r2), (d7, r3)):
        set_round(app, d.id, r)
    make.reply(s1, d1)
    withdrawn = make.reply(s2, d1)
    make.reply(s1, d4)
    make.reply(s2, d4)
    make.reply(s2, d5)
    with app.app_context():
        staff_u = db.session.get(User, staff.id)
        replies.withdraw(db.session.get(User, s2.id), db.session.get(Reply, withdrawn.id))
        by_cap = {m.capability_id: m for m in db.session.scalars(sa.select(Match).where(Match.demand_id == d1.id))}
        assert len(by_cap) == 3, "the three platform-door capabilities should match d1"
        review(by_cap[c1.id], MatchStatus.CONFIRMED, staff_u)
        review(by_cap[c4.id], MatchStatus.DISMISSED, staff_u)
        assert db.session.scalar(sa.select(sa.func.count()).where(Match.demand_id == d7.id)) == 3
        for d in (d2, d4, d5, d6):
            assert db.session.scalar(sa.select(sa.func.count()).where(Match.demand_id == d.id)) == 0
        d1_row = db.session.get(Demand, d1.id)
        funnel.record_outcome(staff_u, d1_row, {"kind": "meeting", "organization_b_id": s1.organization_id,
                                                "occurred_on": dt.date(2023, 3, 1)})
        funnel.record_outcome(staff_u, d1_row, {"kind": "agreement", "organization_b_id": s1.organization_id,
                                                "occurred_on": dt.date(2023, 5, 20), "value_wan": 120})
        funnel.record_outcome(staff_u, db.session.get(Demand, d4.id), {
            "kind": "agreement", "organization_b_id": s2.organization_id, "occurred_on": dt.date(2023, 9, 9)})
        # Signed at an event, on no demand: it counts in the round open on its date (round 2).
        a, b = (db.session.get(Organization, o) for o in (company.organization_id, s3.organization_id))
        db.session.add(Outcome(kind=OutcomeKind.AGREEMENT, organization_a=a, organization_b=b,
                               occurred_on=dt.date(2023, 8, 15)))
        # And one outside every round counts in none.
        db.session.add(Outcome(kind=OutcomeKind.MEETING, organization_a=a, organization_b=b,
                               occurred_on=dt.date(2022, 5, 1)))
        db.session.commit()
    return {"r1": r1, "r2": r2, "r3": r3, "d1": d1}


def test_round_on_round_figures_on_a_built_data_set(app, data_set):
    r1, r2, r3 = data_set["r1"], data_set["r2"], data_set["r3"]
    with app.app_context():
        figs = rounds.figures([r1, r2, r3])
        keys = ("demands", "suppliers", "confirmed", "replies", "meetings", "agreements")
        assert [figs[r1][k] for k in keys] == [2, 2, 1, 1, 1, 1]
        assert [figs[r2][k] for k in keys] == [3, 2, 0, 3, 0, 2]
        assert [figs[r3][k] for k in keys] == [1, 3, 0, 0, 0, 0]
        rows = rounds.table([db.session.get(Round, i) for i in (r3, r2, r1)])
        assert [r.round.id for r in rows] == [r3, r2, r1]
        assert rows[2].previous is None and set(rows[2].change.values()) == {None}
        assert rows[1].change == {"demands": 1, "suppliers": 0, "confirmed": -1, "replies": 2,
                                  "meetings": -1, "agreements": 1}
        assert rows[0].change == {"demands": -2, "suppliers": 1, "confirmed": 0, "replies": -3,
                                  "meetings": 0, "agreements": -2}


def test_round_figures_take_one_query_per_figure_whatever_the_number_of_rounds(app, data_set):
    ids = [data_set[k] for k in ("r1", "r2", "r3")]
    with app.app_context():
        extra = [add_round(app, f"空轮次{i}", dt.date(2020, 1, i + 1), dt.date(2020, 1, i + 1)) for i in range(5)]
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            rounds.figures(ids[:1])
            one = len(statements)
            statements.clear()
            rounds.figures(ids + extra)
            many = len(statements)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert one == many <= 7


def test_the_rounds_page_shows_the_table_with_changes(app, make, login, data_set):
    c = login(app.test_client(), make.user(Role.STAFF))
    html = c.get("/admin/rounds").get_data(as_text=True)
    for name in ("第一轮", "第二轮", "第三轮"):
        assert name in html
    row2 = html[html.index("第二轮"):html.index("第一轮", html.index("第二轮"))]
    cells = re.findall(r'<td data-label="[^"]*" class="num">(.*?)</td>', row2, re.S)
    text = [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]
    assert text == ["3 +1", "2 ±0", "0 −1", "3 +2", "0 −1", "2 +1"]
    assert "数据口径" in html  # what each figure counts is stated
    en = c.get("/admin/rounds", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Organisations that replied to one of its demands" in en


def test_round_page_lists_its_demands_with_their_stage(app, make, login, data_set):
    c = login(app.test_client(), make.user(Role.STAFF))
    html = c.get(f"/admin/rounds/{data_set['r1']}").get_data(as_text=True)
    assert "既有线站台门改造" in html and "已签约" in html  # d1 reached the agreement
    assert "园区职工食堂餐饮外包" in html and "草稿不计" not in html
    assert 'role="img"' in html  # the round's funnel chart


def test_two_staff_closing_one_round_at_once_give_one_result(app, make):
    """Both requests succeed; the round is closed once and each demand carried once."""
    import threading

    company = make.user(Role.COMPANY)
    staff = [make.user(Role.STAFF), make.user(Role.STAFF)]
    old = add_round(app, "第一轮", TODAY - 30 * DAY)
    new = add_round(app, "第二轮", TODAY + 10 * DAY)
    demands = [make.demand(company, "published") for _ in range(3)]
    barrier, errors, results = threading.Barrier(2), [], []

    def close(user_id):
        try:
            with app.app_context():
                user = db.session.get(User, user_id)
                barrier.wait(timeout=10)
                results.append(rounds.close_now(user, db.session.get(Round, old), db.session.get(Round, new)))
                db.session.commit()
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=close, args=(s.id,)) for s in staff]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted((r.closed, r.carried) for r in results) == [(False, 0), (True, 3)]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoundMove)) == 3
        assert {db.session.get(Demand, d.id).round_id for d in demands} == {new}
    assert audit_actions(app, object_id=old) == ["round.close", "round.carry"]


@pytest.mark.parametrize("zone", ["Etc/GMT-14", "Etc/GMT+12"])  # UTC+14 and UTC-12
def test_today_is_the_park_s_date_not_the_server_s(make_app, zone):
    """Between them the two zones are 26 hours apart, so at any hour at least one of them has
    another date than the server (UTC): a round opened today and a demand submitted now take
    the date at the park."""
    from zoneinfo import ZoneInfo

    from tests.factories import Factory

    app = make_app(BABEL_DEFAULT_TIMEZONE=zone)
    make = Factory(app)
    company, staff = make.user(Role.COMPANY), make.user(Role.STAFF)
    park_today = dt.datetime.now(ZoneInfo(zone)).date()
    rid = add_round(app, "下一轮", park_today + 10 * DAY)
    with app.app_context():
        assert rounds.open_now(db.session.get(User, staff.id), db.session.get(Round, rid))
        db.session.commit()
        assert db.session.get(Round, rid).opens_on == dt.datetime.now(ZoneInfo(zone)).date()
    d = make.demand(company, "submitted", title="屏蔽门故障诊断平台")
    with app.app_context():
        assert db.session.get(Demand, d.id).round_id == rid


def test_the_park_s_time_zone_comes_from_the_environment_and_is_checked(monkeypatch):
    from board.config import ConfigError, load

    monkeypatch.setenv("BOARD_TIMEZONE", "Asia/Urumqi")
    assert load({"TESTING": True})["BABEL_DEFAULT_TIMEZONE"] == "Asia/Urumqi"
    for wrong in ("Beijing", "../etc/passwd"):
        monkeypatch.setenv("BOARD_TIMEZONE", wrong)
        with pytest.raises(ConfigError, match="BOARD_TIMEZONE must name a time zone"):
            load({"TESTING": True})
