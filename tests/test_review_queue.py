"""The staff's match review queue: filters and order, single and bulk decisions, dismiss
reasons, and two staff deciding on one match at the same moment."""

from __future__ import annotations

import re
import threading
import time

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import AuditEntry, Demand, DemandStatus, Match, MatchStatus, Role, Round, User
from board.services import bands, matches, review_queue

# Capabilities for the default demand (站台门改造, equipment), with the scores the engine
# gives them: three strong (>= 60), one possible (35-60), one weak (< 35).
CAPS = [
    {},  # the factory's platform-screen-door capability: strong
    {"title": "屏蔽门电源", "description": "地铁屏蔽门电源系统与信号系统联动。", "keywords": "电源"},
    {"title": "站台门维保", "description": "站台门日常维护。", "keywords": "站台门"},
    {"title": "轨道交通维护服务", "description": "既有线路设备维护。", "keywords": "维护"},
    {"title": "信号系统集成", "description": "城轨信号系统联动调试。", "keywords": "信号系统"},
]


@pytest.fixture
def queue(app, make):
    """A published demand with five matches across the bands, a submitted demand in another
    segment and theme, and a draft whose matches the queue never shows."""
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    staff, staff2 = make.user(Role.STAFF, display_name="李审核"), make.user(Role.STAFF, display_name="王审核")
    d = make.demand(company, themes=["intelligent_equipment"])
    caps = [make.capability(supplier, **fields) for fields in CAPS]
    other = make.demand(company, status="submitted", title="信号系统维护", description="城轨信号系统的日常维护。",
                        keywords="信号系统", segment="control", themes=["information"])
    draft = make.demand(company, status="draft", title="站台门检修规划")
    with app.app_context():
        rnd = Round(name="第二轮征集", name_en="Round two")
        db.session.add(rnd)
        db.session.flush()
        db.session.get(Demand, other.id).round_id = rnd.id
        db.session.commit()
        by_cap = {m.capability_id: m.id for m in db.session.scalars(sa.select(Match).where(Match.demand_id == d.id))}
        assert db.session.scalar(sa.select(sa.func.count()).where(Match.demand_id == draft.id)) > 0
        round_id = rnd.id
    return {"company": company, "supplier": supplier, "staff": staff, "staff2": staff2, "demand": d,
            "other": other, "draft": draft, "caps": caps, "by_cap": by_cap, "round": round_id}


def scores(app, ids):
    with app.app_context():
        return {m.id: m.score for m in db.session.scalars(sa.select(Match).where(Match.id.in_(ids)))}


def shown_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="card queue-row[^"]*" id="match-(\d+)"', html)]


def status_of(app, match_id):
    with app.app_context():
        return db.session.get(Match, match_id).status


def test_queue_lists_strong_and_possible_matches_strongest_first(app, queue, login):
    staff = login(app.test_client(), queue["staff"])
    html = staff.get("/admin/matches").get_data(as_text=True)
    ids = shown_ids(html)
    with app.app_context():
        stored = db.session.scalars(
            sa.select(Match).join(Match.demand).where(Demand.status.in_(review_queue.QUEUE_DEMANDS))
        ).all()
        strength = bands.of(stored)
        want = sorted((m for m in stored if strength[m.id] != "weak"), key=lambda m: (-m.score, m.id))
        weak = [m.id for m in stored if strength[m.id] == "weak"]
        drafts = db.session.scalars(sa.select(Match.id).where(Match.demand_id == queue["draft"].id)).all()
    assert ids == [m.id for m in want]
    assert weak and not set(weak) & set(ids), "a weak match is in the default queue"
    assert not set(drafts) & set(ids), "a draft's match is in the queue"
    # The engine's reasons are shown inline, with the shared words marked.
    assert 'class="reasons"' in html and "<mark>" in html
    assert html.count('name="ids"') == len(ids)


def test_queue_filters(app, queue, login):
    staff = login(app.test_client(), queue["staff"])
    all_scores = scores(app, list(queue["by_cap"].values()))

    def ids(query):
        return shown_ids(staff.get(f"/admin/matches?{query}").get_data(as_text=True))

    def band_of(match_ids):  # the one band rule (score against the floor and the demand's best)
        with app.app_context():
            return set(bands.of(db.session.scalars(sa.select(Match).where(Match.id.in_(match_ids)))).values())

    assert all(all_scores[i] >= 60 for i in ids("band=strong")) and len(ids("band=strong")) >= 2
    assert band_of(ids("band=strong")) == {"strong"}
    possible = ids("band=possible")
    assert possible and all(35 <= all_scores.get(i, 50) for i in possible) and band_of(possible) == {"possible"}
    weak = ids("band=weak")
    assert weak and band_of(weak) == {"weak"}
    assert any(s < 35 for i, s in scores(app, weak).items())
    with app.app_context():
        other_ids = set(db.session.scalars(sa.select(Match.id).where(Match.demand_id == queue["other"].id)))
    assert other_ids, "the submitted demand should have matches"
    # Segment, theme and round go by the demand; stage by its status.
    assert set(ids("segment=control&band=all")) == other_ids
    assert set(ids("theme=information&band=all")) == other_ids
    assert set(ids(f"round={queue['round']}&band=all")) == other_ids
    assert set(ids("stage=submitted&band=all")) == other_ids
    assert not other_ids & set(ids("stage=published&band=all"))
    assert not other_ids & set(ids("segment=equipment&band=all"))
    # Status: after one confirmation it leaves "suggested" and shows under "confirmed".
    first = ids("")[0]
    with app.app_context():
        matches.review(first, MatchStatus.CONFIRMED, db.session.get(User, queue["staff"].id))
        db.session.commit()
    assert first not in ids("")
    assert ids("status=confirmed") == [first]
    assert first in ids("status=")  # every status
    # Unknown values fall back to the defaults instead of failing.
    assert staff.get("/admin/matches?band=nonsense&status=nope&segment=x&round=abc&page=0").status_code == 200


def test_queue_pages_and_loads_rows_without_a_query_each(app, queue, login):
    staff = login(app.test_client(), queue["staff"])
    with app.app_context():
        f = review_queue.Filters.clean(band="all", status="")
        page1 = review_queue.queue(f, 1, 3)
        page2 = review_queue.queue(f, 2, 3)
        assert page1.total == page2.total and page1.total > 3
        assert not {m.id for m in page1.items} & {m.id for m in page2.items}
        seen = []

        def count(*_args):
            seen.append(1)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = review_queue.queue(f, 1, 20)
            before = len(seen)
            for m in page.items:  # everything the template reads
                (m.demand.organization.name, m.demand.segment, list(m.demand.themes), m.demand.round,
                 m.capability.organization.name, m.capability.segment, list(m.capability.themes), m.reviewed_by)
            assert len(seen) == before, "a query per row"
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    html = staff.get("/admin/matches?band=all&status=").get_data(as_text=True)
    assert "rel=\"next\"" not in html  # fits one page of 20


def test_confirm_dismiss_and_undo_one_match(app, queue, login):
    staff = login(app.test_client(), queue["staff"])
    m = queue["by_cap"][queue["caps"][0].id]
    resp = staff.post("/admin/matches?band=strong", data={"decision": "confirm", "match": f"{m}:suggested"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/matches?band=strong"
    assert status_of(app, m) == MatchStatus.CONFIRMED
    # The poster now sees it as recommended by the park.
    owner = login(app.test_client(), queue["company"])
    assert "badge-confirmed" in owner.get(f"/company/demands/{queue['demand'].id}").get_data(as_text=True)
    staff.post("/admin/matches?status=confirmed", data={"decision": "reset", "match": f"{m}:confirmed"})
    with app.app_context():
        match = db.session.get(Match, m)
        assert match.status == MatchStatus.SUGGESTED and match.reviewed_by_id is None
    staff.post("/admin/matches", data={"decision": "dismiss", "match": f"{m}:suggested", "reason": "只做进口产品"})
    with app.app_context():
        match = db.session.get(Match, m)
        assert match.status == MatchStatus.DISMISSED and match.dismiss_reason == "只做进口产品"
        assert match.reviewed_by_id == queue["staff"].id
        entries = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.object_type == "match", AuditEntry.object_id == m)
            .order_by(AuditEntry.id)).all()
        assert [e.action for e in entries] == ["match.confirmed", "match.suggested", "match.dismissed"]
        assert entries[-1].after == {"status": "dismissed", "dismiss_reason": "只做进口产品"}
        assert entries[-1].before == {"status": "suggested"}
        assert {e.actor_id for e in entries} == {queue["staff"].id}
    html = staff.get("/admin/matches?status=dismissed").get_data(as_text=True)
    assert "只做进口产品" in html
    # Undoing a dismissal clears its reason.
    staff.post("/admin/matches", data={"decision": "reset", "match": f"{m}:dismissed"})
    with app.app_context():
        match = db.session.get(Match, m)
        assert match.status == MatchStatus.SUGGESTED and match.dismiss_reason is None


def test_dismissing_needs_a_reason(app, queue, login):
    staff = login(app.test_client(), queue["staff"])
    m = queue["by_cap"][queue["caps"][1].id]
    resp = staff.post("/admin/matches", data={"decision": "dismiss", "match": f"{m}:suggested", "reason": "  "})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    # The message sits at that row's reason field, which is marked invalid.
    assert f'id="reason-{m}" name="reason" value=""' in html or f'id="reason-{m}"' in html
    assert f'aria-describedby="reason-{m}-error"' in html and f'id="reason-{m}-error"' in html
    assert "请填写不予推荐的理由" in html
    assert status_of(app, m) == MatchStatus.SUGGESTED
    # Too long a reason is refused at the field too.
    resp = staff.post("/admin/matches", data={"decision": "dismiss", "match": f"{m}:suggested", "reason": "长" * 501})
    assert resp.status_code == 422 and f'id="reason-{m}-error"' in resp.get_data(as_text=True)
    # The service refuses it whoever calls.
    with app.app_context():
        with pytest.raises(matches.Invalid) as exc:
            matches.review(m, MatchStatus.DISMISSED, db.session.get(User, queue["staff"].id))
        assert exc.value.field == "reason"
        db.session.rollback()
    # From a demand's page: the match stays, the message is shown there.
    resp = staff.post(f"/admin/matches/{m}/dismiss", data={"reason": ""}, follow_redirects=True)
    assert resp.status_code == 200 and "请填写不予推荐的理由" in resp.get_data(as_text=True)
    assert status_of(app, m) == MatchStatus.SUGGESTED
    staff.post(f"/admin/matches/{m}/dismiss", data={"reason": "供货周期太长"})
    assert status_of(app, m) == MatchStatus.DISMISSED
    with app.app_context():
        assert db.session.get(Match, m).dismiss_reason == "供货周期太长"


def test_bulk_confirm_and_dismiss(app, queue, login):
    staff = login(app.test_client(), queue["staff"])
    a, b, c = (queue["by_cap"][queue["caps"][i].id] for i in (0, 1, 2))
    # Nothing ticked, or no reason for a dismissal: 422 at the field, nothing written.
    resp = staff.post("/admin/matches", data={"decision": "confirm"})
    assert resp.status_code == 422 and "请先勾选至少一条匹配" in resp.get_data(as_text=True)
    resp = staff.post("/admin/matches", data={"decision": "dismiss", "ids": [f"{a}:suggested"], "reason": ""})
    assert resp.status_code == 422 and 'id="bulk-reason-error"' in resp.get_data(as_text=True)
    assert status_of(app, a) == MatchStatus.SUGGESTED
    with app.app_context():
        audited = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    resp = staff.post("/admin/matches?band=all", data={"decision": "confirm", "ids": [f"{a}:suggested", f"{b}:suggested"]})
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/matches?band=all"
    assert "已确认推荐 2 条匹配" in staff.get(resp.headers["Location"]).get_data(as_text=True)
    assert status_of(app, a) == status_of(app, b) == MatchStatus.CONFIRMED
    resp = staff.post("/admin/matches", data={
        "decision": "dismiss", "ids": [f"{c}:suggested", "junk", f"{c}:suggested"], "reason": "本地无服务网点"})
    assert resp.status_code == 302
    with app.app_context():
        match = db.session.get(Match, c)
        assert match.status == MatchStatus.DISMISSED and match.dismiss_reason == "本地无服务网点"
        actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id).offset(audited)).all()
        assert actions == ["match.confirmed", "match.confirmed", "match.dismissed"]
        # The demand still holds K suggestions below its reviewed matches (re-ranked once).
        d = db.session.get(Demand, queue["demand"].id)
        suggested = db.session.scalar(sa.select(sa.func.count()).where(
            Match.demand_id == d.id, Match.status == MatchStatus.SUGGESTED))
        assert suggested == min(app.config["MATCH_TOP_K"], len(CAPS) - 3)


def test_a_bulk_action_reports_rows_someone_else_decided(app, queue, login):
    first = login(app.test_client(), queue["staff"])
    second = login(app.test_client(), queue["staff2"])
    a, b = (queue["by_cap"][queue["caps"][i].id] for i in (0, 1))
    first.post("/admin/matches", data={"decision": "confirm", "match": f"{a}:suggested"})
    resp = second.post("/admin/matches", data={
        "decision": "dismiss", "ids": [f"{a}:suggested", f"{b}:suggested"], "reason": "不在本市"})
    assert resp.status_code == 302
    html = second.get(resp.headers["Location"]).get_data(as_text=True)
    assert "李审核 已审核过这条匹配" in html and "已将 1 条匹配设为不予推荐" in html
    assert status_of(app, a) == MatchStatus.CONFIRMED
    assert status_of(app, b) == MatchStatus.DISMISSED


def test_two_staff_deciding_on_one_match_give_one_decision(app, queue, login):
    first = login(app.test_client(), queue["staff"])
    second = login(app.test_client(), queue["staff2"])
    m = queue["by_cap"][queue["caps"][0].id]
    # Both have the queue open: the row shows the match as suggested to each.
    for client in (first, second):
        assert f'value="{m}:suggested"' in client.get("/admin/matches").get_data(as_text=True)
    assert first.post("/admin/matches", data={"decision": "confirm", "match": f"{m}:suggested"}).status_code == 302
    resp = second.post("/admin/matches", data={"decision": "dismiss", "match": f"{m}:suggested", "reason": "重复"})
    assert resp.status_code == 302
    page = second.get(resp.headers["Location"]).get_data(as_text=True)
    assert "李审核 已审核过这条匹配，当前状态为“园区推荐”" in page
    # The same click again (confirm on a page that still says "suggested"): no change, no error.
    resp = second.post("/admin/matches", data={"decision": "confirm", "match": f"{m}:suggested"})
    assert resp.status_code == 302
    with app.app_context():
        match = db.session.get(Match, m)
        assert match.status == MatchStatus.CONFIRMED and match.reviewed_by_id == queue["staff"].id
        assert match.dismiss_reason is None
        entries = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.object_type == "match", AuditEntry.object_id == m)).all()
        assert [(e.action, e.actor_id) for e in entries] == [("match.confirmed", queue["staff"].id)]
    # From a demand's page, a stale button says the same.
    resp = second.post(f"/admin/matches/{m}/confirm", follow_redirects=True)
    assert resp.status_code == 200 and "李审核 已审核过这条匹配" in resp.get_data(as_text=True)


def test_simultaneous_decisions_in_two_sessions(app, queue):
    """Two sessions change the same match at once: the second waits for the first (row lock
    on PostgreSQL, the write lock on SQLite), then finds the status changed and writes nothing."""
    m = queue["by_cap"][queue["caps"][0].id]
    first_done, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first():
        with app.app_context():
            try:
                matches.review(m, MatchStatus.CONFIRMED, db.session.get(User, queue["staff"].id))
                first_done.set()
                release.wait(10)
                db.session.commit()
                outcome["first"] = "confirmed"
            except Exception as exc:  # pragma: no cover - reported below
                outcome["first"] = exc
                first_done.set()
            finally:
                db.session.remove()

    def second():
        with app.app_context():
            try:
                matches.review(m, MatchStatus.DISMISSED, db.session.get(User, queue["staff2"].id),
                               reason="重复", expected=MatchStatus.SUGGESTED)
                db.session.commit()
                outcome["second"] = "dismissed"
            except matches.AlreadyReviewed as exc:
                db.session.rollback()
                outcome["second"] = str(exc.message)
            except Exception as exc:  # pragma: no cover - reported below
                outcome["second"] = exc
            finally:
                db.session.remove()

    t1 = threading.Thread(target=first)
    t1.start()
    assert first_done.wait(10)
    t2 = threading.Thread(target=second)
    t2.start()
    time.sleep(0.5)  # the second is now waiting for the first's lock
    assert t2.is_alive(), f"the second did not wait for the first: {outcome}"
    release.set()
    t1.join(10)
    t2.join(10)
    assert outcome["first"] == "confirmed", outcome
    assert isinstance(outcome["second"], str) and "李审核" in outcome["second"], outcome
    with app.app_context():
        match = db.session.get(Match, m)
        assert match.status == MatchStatus.CONFIRMED and match.dismiss_reason is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.object_type == "match", AuditEntry.object_id == m)) == 1


def test_only_staff_open_the_queue(app, queue, login):
    for user in (queue["company"], queue["supplier"]):
        c = login(app.test_client(), user)
        assert c.get("/admin/matches").status_code == 403
        assert c.post("/admin/matches", data={"decision": "confirm", "match": "1:suggested"}).status_code == 403
    assert app.test_client().get("/admin/matches").status_code == 302
    staff = login(app.test_client(), queue["staff"])
    assert staff.post("/admin/matches", data={"decision": "approve"}).status_code == 400
    assert staff.post("/admin/matches", data={"decision": "confirm", "match": "x:y"}).status_code == 400
    assert staff.post("/admin/matches", data={"decision": "confirm", "match": "2147483646:suggested"}).status_code == 404
    with app.app_context():
        assert db.session.get(Demand, queue["draft"].id).status == DemandStatus.DRAFT
