"""The outcome funnel: each demand's stage, counts per stage, outcomes staff record offline,
the staff demand page's timeline and replies in full, and the dashboard's charts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import (
    AuditEntry,
    Demand,
    DemandStatus,
    Match,
    MatchStatus,
    Meeting,
    MeetingStatus,
    Message,
    Organization,
    Outcome,
    OutcomeKind,
    Reply,
    ReplyStatus,
    Role,
    Round,
    User,
)
from board.services import charts, funnel, seeding
from tests.factories import board_today

TODAY = board_today()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
CATERING = {"title": "园区职工食堂餐饮外包", "description": "为园区职工食堂寻找餐饮承包商，负责工作日午餐供应。",
            "keywords": "餐饮", "segment": ""}


def set_status(app, model, pk, **values):
    with app.app_context():
        obj = db.session.get(model, pk)
        for k, v in values.items():
            setattr(obj, k, v)
        db.session.commit()


def stages_of(app, ids) -> dict[int, funnel.DemandStage]:
    with app.app_context():
        return funnel.stages(sa.select(Demand.id).where(Demand.id.in_(ids)))


def meeting(app, reply_id, status, starts_at):
    with app.app_context():
        db.session.add(Meeting(reply_id=reply_id, side="company", options=[starts_at.isoformat()],
                               status=status, starts_at=starts_at))
        db.session.commit()


@pytest.fixture
def people(make):
    return {"company": make.user(Role.COMPANY), "supplier": make.user(Role.SUPPLIER),
            "supplier2": make.user(Role.SUPPLIER), "staff": make.user(Role.STAFF)}


# -- stages --------------------------------------------------------------------------
def test_each_demand_gets_its_stage(app, make, people):
    co, sup, sup2 = people["company"], people["supplier"], people["supplier2"]
    make.capability(sup)  # matches every platform-door demand below
    submitted = make.demand(co, "submitted")
    unmatched = make.demand(co, "published", **CATERING)
    matched = make.demand(co, "published")
    dismissed = make.demand(co, "published", title="站台门维保", **{"keywords": "站台门"})
    replied = make.demand(co, "published", **CATERING)
    withdrawn = make.demand(co, "published", **CATERING)
    shortlisted = make.demand(co, "published", **CATERING)
    met_outcome = make.demand(co, "published", **CATERING)
    met_meeting = make.demand(co, "published", **CATERING)
    future_meeting = make.demand(co, "published", **CATERING)
    agreement = make.demand(co, "published", **CATERING)
    closed = make.demand(co, "published", **CATERING)
    closed_unpublished = make.demand(co, "submitted", **CATERING)
    draft = make.demand(co, "draft")
    with app.app_context():
        m = db.session.scalar(sa.select(Match).where(Match.demand_id == dismissed.id))
        m.status = MatchStatus.DISMISSED
        # A confirmed match counts whatever its score.
        other = db.session.scalar(sa.select(Match).where(Match.demand_id == matched.id))
        other.status, other.score = MatchStatus.CONFIRMED, 1.0
        db.session.commit()
    make.reply(sup, replied)
    r = make.reply(sup, withdrawn)
    set_status(app, Reply, r.id, status=ReplyStatus.WITHDRAWN)
    r = make.reply(sup, shortlisted)
    set_status(app, Reply, r.id, status=ReplyStatus.SHORTLISTED)
    r = make.reply(sup2, met_meeting)
    meeting(app, r.id, MeetingStatus.ACCEPTED, now() - dt.timedelta(hours=2))
    r = make.reply(sup2, future_meeting)
    meeting(app, r.id, MeetingStatus.ACCEPTED, now() + dt.timedelta(days=2))
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        for d, kind in ((met_outcome, "meeting"), (agreement, "agreement")):
            funnel.record_outcome(staff, db.session.get(Demand, d.id), {
                "kind": kind, "organization_b_id": sup2.organization_id, "occurred_on": TODAY})
        db.session.commit()
    set_status(app, Demand, closed.id, status=DemandStatus.CLOSED, close_reason="预算取消",
               closed_at=now())
    set_status(app, Demand, closed_unpublished.id, status=DemandStatus.CLOSED, close_reason="不再需要",
               closed_at=now())
    everything = [submitted, unmatched, matched, dismissed, replied, withdrawn, shortlisted, met_outcome,
                  met_meeting, future_meeting, agreement, closed, closed_unpublished, draft]
    found = stages_of(app, [d.id for d in everything])
    assert draft.id not in found  # drafts are nobody's business but their organisation's
    stage = {d.id: found[d.id].stage for d in everything if d.id in found}
    assert stage == {
        submitted.id: "submitted", unmatched.id: "published", matched.id: "matched",
        dismissed.id: "published", replied.id: "replied", withdrawn.id: "published",
        shortlisted.id: "shortlisted", met_outcome.id: "met", met_meeting.id: "met",
        future_meeting.id: "replied", agreement.id: "agreement", closed.id: "published",
        closed_unpublished.id: "submitted",
    }
    assert found[closed.id].closed and found[closed.id].close_reason == "预算取消"
    assert not found[agreement.id].closed
    # An agreement signed offline needs no reply on the board: it reaches the last stage.
    assert found[agreement.id].reached == {"published", "agreement"}

    with app.app_context():
        c = funnel.counts(sa.select(Demand.id).where(Demand.id.in_([d.id for d in everything])))
    assert c.reached == {"published": 11, "matched": 7, "replied": 6, "shortlisted": 4, "met": 3,
                         "agreement": 1}
    assert c.at == {"published": 4, "matched": 1, "replied": 2, "shortlisted": 1, "met": 2,
                    "agreement": 1}
    assert (c.submitted, c.closed, c.closed_unpublished, c.total) == (1, 1, 1, 13)


def test_counts_for_a_round_and_a_segment(app, make, people):
    co, sup = people["company"], people["supplier"]
    with app.app_context():
        r = Round(name="第一轮", opens_on=TODAY - dt.timedelta(days=5))
        db.session.add(r)
        db.session.commit()
        rid = r.id
    make.capability(sup)
    in_round = make.demand(co, "published")  # equipment segment, matched
    make.demand(co, "published", **CATERING)  # no segment
    with app.app_context():
        db.session.add(Round(name="第二轮", opens_on=TODAY))  # later demands go here
        db.session.commit()
    make.demand(co, "published")
    with app.app_context():
        assert db.session.get(Demand, in_round.id).round_id == rid
        c = funnel.counts(funnel.scope(rid))
        assert (c.published, c.reached["matched"]) == (2, 1)
        c = funnel.counts(funnel.scope(segment="equipment"))
        assert (c.published, c.reached["matched"]) == (2, 2)
        c = funnel.counts(funnel.scope(rid, "equipment"))
        assert (c.published, c.reached["matched"]) == (1, 1)
        assert funnel.counts(funnel.scope(rid + 100)).total == 0


def test_stage_counts_take_a_handful_of_queries_whatever_the_number_of_demands(app, make, people):
    co, sup = people["company"], people["supplier"]
    make.capability(sup)
    demands = [make.demand(co, "published") for _ in range(2)]

    def statements_for(ids):
        seen = []

        def listen(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", listen)
            try:
                funnel.counts(sa.select(Demand.id).where(Demand.id.in_(ids)))
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", listen)
        return len(seen)

    few = statements_for([demands[0].id])
    for _ in range(6):
        d = make.demand(co, "published")
        make.reply(sup, d)
        demands.append(d)
    assert statements_for([d.id for d in demands]) == few <= 6


# -- outcomes ------------------------------------------------------------------------
def test_recording_an_offline_agreement_moves_the_funnel(app, make, login, people):
    co, sup, staff = people["company"], people["supplier"], people["staff"]
    d = make.demand(co, "published", **CATERING)
    make.reply(sup, d)
    assert stages_of(app, [d.id])[d.id].stage == "replied"
    c = login(app.test_client(), staff)
    form = c.get(f"/admin/demands/{d.id}/outcomes/new").get_data(as_text=True)
    assert f'<option value="{sup.organization_id}">' in form
    assert f'<option value="{co.organization_id}">' not in form  # not the demand's own
    resp = c.post(f"/admin/demands/{d.id}/outcomes/new", data={
        "kind": "agreement", "organization_b_id": str(sup.organization_id),
        "occurred_on": TODAY.isoformat(), "value_wan": "250.5", "note": "线下签约"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/demands/{d.id}#funnel"
    assert stages_of(app, [d.id])[d.id].stage == "agreement"
    with app.app_context():
        o = db.session.scalar(sa.select(Outcome).where(Outcome.demand_id == d.id))
        assert (o.kind, o.organization_a_id, o.organization_b_id, o.value_wan, o.note) == (
            OutcomeKind.AGREEMENT, co.organization_id, sup.organization_id, 250.5, "线下签约")
        assert o.recorded_by_id == staff.id and o.reply_id is not None
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outcome.agreement"))
        assert entry.actor_id == staff.id and entry.object_id == o.id
        assert entry.after["value_wan"] == 250.5 and entry.after["occurred_on"] == TODAY.isoformat()
        oid = o.id
    page = c.get(f"/admin/demands/{d.id}").get_data(as_text=True)
    assert "已签约" in page and "250.5 万元" in page and "线下签约" in page

    # The same agreement sent twice (a double click, two staff at once) is kept once.
    c.post(f"/admin/demands/{d.id}/outcomes/new", data={
        "kind": "agreement", "organization_b_id": str(sup.organization_id),
        "occurred_on": TODAY.isoformat()})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Outcome)) == 1

    # Editing it is audited with the values before and after.
    resp = c.post(f"/admin/outcomes/{oid}/edit", data={
        "kind": "agreement", "organization_b_id": str(sup.organization_id),
        "occurred_on": (TODAY - dt.timedelta(days=3)).isoformat(), "value_wan": "300", "note": "线下签约"})
    assert resp.status_code == 302
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outcome.update"))
        assert entry.before == {"occurred_on": TODAY.isoformat(), "value_wan": 250.5}
        assert entry.after == {"occurred_on": (TODAY - dt.timedelta(days=3)).isoformat(), "value_wan": 300.0}


@pytest.mark.parametrize("changes, field, message", [
    ({"occurred_on": (TODAY + dt.timedelta(days=1)).isoformat()}, "occurred_on", "日期不能晚于今天"),
    ({"occurred_on": ""}, "occurred_on", "此项为必填项"),
    ({"value_wan": "-5"}, "value_wan", "金额不能为负数"),
    ({"value_wan": "abc"}, "value_wan", "不是有效的小数"),
    ({"value_wan": "100000000"}, "value_wan", "数值过大"),
    ({"kind": "meeting", "value_wan": "10"}, "value_wan", "只有签约才有金额"),
    ({"organization_b_id": ""}, "organization_b_id", "此项为必填项"),
    ({"organization_b_id": "own"}, "organization_b_id", "不是有效的选择"),  # not offered
    ({"kind": "party"}, "kind", ""),
])
def test_bad_outcome_input_is_refused_at_its_field(app, make, login, people, changes, field, message):
    co, sup = people["company"], people["supplier"]
    d = make.demand(co, "published", **CATERING)
    c = login(app.test_client(), people["staff"])
    data = {"kind": "agreement", "organization_b_id": str(sup.organization_id),
            "occurred_on": TODAY.isoformat(), "value_wan": "", "note": ""}
    data.update(changes)
    if data["organization_b_id"] == "own":
        data["organization_b_id"] = str(co.organization_id)
    resp = c.post(f"/admin/demands/{d.id}/outcomes/new", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f"{field}-error" in html and message in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Outcome)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action.like("outcome.%"))) == 0


def test_no_outcome_on_a_draft_and_none_by_members(app, make, login, people):
    co = people["company"]
    draft = make.demand(co, "draft")
    staff = login(app.test_client(), people["staff"])
    assert staff.get(f"/admin/demands/{draft.id}/outcomes/new").status_code == 404
    published = make.demand(co, "published")
    member = login(app.test_client(), co)
    assert member.get(f"/admin/demands/{published.id}/outcomes/new").status_code == 403
    assert member.post(f"/admin/demands/{published.id}/outcomes/new", data={}).status_code == 403


def test_the_events_agreements_can_be_corrected(app, make, login, people):
    with app.app_context():
        seeding.load_event()
        db.session.commit()
        o = db.session.scalar(sa.select(Outcome).order_by(Outcome.id))
        oid, a, b = o.id, o.organization_a_id, o.organization_b_id
    c = login(app.test_client(), people["staff"])
    page = c.get(f"/admin/outcomes/{oid}/edit").get_data(as_text=True)
    assert f'<option selected value="{b}">' in page or f'<option value="{b}" selected>' in page
    assert f'<option value="{a}">' not in page
    resp = c.post(f"/admin/outcomes/{oid}/edit", data={
        "kind": "agreement", "organization_b_id": str(b), "occurred_on": "2023-02-10", "value_wan": "80",
        "note": "在发布活动现场签约。"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/outcomes"
    with app.app_context():
        o = db.session.get(Outcome, oid)
        assert (o.value_wan, o.note, o.note_en) == (80.0, "在发布活动现场签约。", None)  # emptied
    listing = c.get("/admin/outcomes?kind=agreement").get_data(as_text=True)
    assert "在发布活动现场签约。" in listing and "80" in listing


# -- the staff demand page -----------------------------------------------------------
def test_staff_read_the_timeline_and_every_reply_in_full(app, make, login, people):
    co, sup, sup2 = people["company"], people["supplier"], people["supplier2"]
    make.capability(sup)
    d = make.demand(co, "published")
    with app.app_context():
        m = db.session.scalar(sa.select(Match).where(Match.demand_id == d.id))
        m.status, m.reviewed_at = MatchStatus.CONFIRMED, now()
        db.session.commit()
    first = make.reply(sup, d, cases="北京地铁 6 号线站台门改造", contact_phone="010-12345678")
    set_status(app, Reply, first.id, trl=7, status=ReplyStatus.SHORTLISTED, answered_at=now(),
               attachment_name="方案.pdf", attachment_key="k" * 32, attachment_size=1000)
    second = make.reply(sup2, d, fit="我们可以提供屏蔽门远程监控方案，已在两条线路运行。")
    set_status(app, Reply, second.id, status=ReplyStatus.DECLINED, status_reason="方向不符", answered_at=now())
    meeting(app, first.id, MeetingStatus.HELD, now())
    with app.app_context():
        funnel.record_outcome(db.session.get(User, people["staff"].id), db.session.get(Demand, d.id), {
            "kind": "agreement", "organization_b_id": sup.organization_id, "occurred_on": TODAY})
        db.session.commit()
        sup_name = db.session.get(Organization, sup.organization_id).name
    set_status(app, Demand, d.id, status=DemandStatus.CLOSED, close_reason="已找到合作伙伴", closed_at=now())

    c = login(app.test_client(), people["staff"])
    html = c.get(f"/admin/demands/{d.id}").get_data(as_text=True)
    story = html[html.index('id="funnel"'):]
    timeline = story[story.index('class="timeline"'):]
    order = ["提交审核", "已发布", f"已确认匹配：{sup_name}", f"{sup_name} 发来回复",
             f"{sup_name} 的回复已入围", f"已与 {sup_name} 举行会谈", f"已与 {sup_name} 签约"]
    positions = [timeline.index(x) for x in order]
    assert positions == sorted(positions), order
    assert "已找到合作伙伴" in story and 'aria-current="step"' in story
    # Every reply in full: fit, cases, readiness, contact, attachment, the answer's reason.
    for text in ("我们为三条线路完成过站台门改造", "北京地铁 6 号线站台门改造", "第 7 级（共 9 级）",
                 "wang@example.com", "010-12345678", "方案.pdf", "我们可以提供屏蔽门远程监控方案", "方向不符"):
        assert text in story, text
    en = c.get(f"/admin/demands/{d.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Replies in full" in en and "Level 7 of 9" in en and "Agreement signed with" in en

    # Each reply links to its conversation, which staff read (messages included).
    for r in (first, second):
        card = re.search(rf'<article class="card reply-full" id="reply-{r.id}">(.*?)</article>', html, re.S)
        assert card and f'href="/replies/{r.id}"' in card.group(1), r.id
    with app.app_context():
        db.session.add(Message(reply_id=first.id, author_id=sup.id, side="supplier", body="下周可到现场勘查。"))
        db.session.commit()
    thread = c.get(f"/replies/{first.id}")
    assert thread.status_code == 200 and "下周可到现场勘查。" in thread.get_data(as_text=True)


# -- the dashboard -------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_dashboard_works_with_no_data(app, make, login, lang):
    c = login(app.test_client(), make.user(Role.STAFF))
    c.post("/lang", data={"lang": lang, "next": "/"})
    resp = c.get("/admin/insights")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert html.count('class="empty"') == 3
    assert "这里还没有需求。" in html if lang == "zh" else "No demand here yet." in html
    assert c.get("/admin/outcomes").status_code == 200
    assert c.get("/admin/rounds").status_code == 200


def test_the_dashboard_draws_each_chart_with_its_numbers_beside_it(app, make, login, people):
    co, sup, sup2 = people["company"], people["supplier"], people["supplier2"]
    make.capability(sup)
    d1 = make.demand(co, "published")
    d2 = make.demand(co, "published", **CATERING)
    make.demand(co, "published", **CATERING)
    make.demand(co, "submitted")
    with app.app_context():
        for d, days in ((d1, 4), (d2, 1)):
            db.session.get(Demand, d.id).published_at = now() - dt.timedelta(days=days)
        db.session.commit()
    make.reply(sup, d1)  # 4 days after publication
    make.reply(sup2, d2)  # 1 day after
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        for day in (dt.date(2024, 1, 5), dt.date(2024, 3, 9), dt.date(2024, 3, 20)):
            funnel.record_outcome(staff, db.session.get(Demand, d1.id), {
                "kind": "agreement", "organization_b_id": sup.organization_id, "occurred_on": day})
        db.session.commit()
        data = funnel.insights()
    assert data.published == 3 and data.replied == 2 and data.median_days == pytest.approx(2.5, abs=0.01)
    assert data.months == [("2024-01", 1), ("2024-02", 0), ("2024-03", 2)]
    c = login(app.test_client(), people["staff"])
    html = c.get("/admin/insights").get_data(as_text=True)
    assert html.count('role="img"') == 3 and html.count("<title id=") == 3 and html.count("<desc id=") == 3
    assert "67%" in html and "2.5" in html  # reply rate 2 of 3; median days
    funnel_table = html[html.index("各阶段需求数"):]
    assert re.search(r"已发布</th><td class=\"num\">3</td>", funnel_table)
    assert re.search(r"已签约</th><td class=\"num\">1</td>", funnel_table)
    assert "2024-03</th><td class=\"num\">2</td>" in html
    assert "装备研制" in html and "<strong>1 / 1</strong>" in html  # equipment: 1 published demand, 1 capability
    en = c.get("/admin/insights", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Equipment R&amp;D and manufacturing" in en and "Agreements signed by month" in en


def test_charts_escape_their_texts_and_scale_to_the_largest_value():
    svg = charts.hbars("c1", [("<b>", 10, "10"), ("B & C", 5, "5"), ("zero", 0, "0")],
                       title="Funnel <x>", desc="a & b")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "B &amp; C" in svg
    assert 'role="img"' in svg and 'aria-labelledby="c1-title c1-desc"' in svg
    assert "<title id=\"c1-title\">Funnel &lt;x&gt;</title>" in svg
    widths = [float(w) for w in re.findall(r'<rect x="0" y="[\d.]+" width="([\d.]+)" height="16" rx="3" fill="#0b5cad"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1]) and widths[2] == 0
    empty = charts.columns("c2", [], title="t", desc="d")
    assert empty.startswith("<svg") and "<rect" not in empty
