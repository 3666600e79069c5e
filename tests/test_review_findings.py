"""Cases found in review: unreviewed text going public, odd input, and the top-K rule."""

import datetime as dt

import pytest

from board.extensions import db
from board.models import Demand, LoginSession, Match, MatchStatus, Reply, ReplyStatus, Role
from tests.factories import Factory

DEMAND = {"title": "站台门改造", "description": "既有线路站台门（屏蔽门）改造与维护。", "keywords": "站台门",
          "segment": "equipment", "visibility": "public"}


def test_closing_an_edited_published_demand_does_not_publish_the_edit(app, make, login):
    company = make.user(Role.COMPANY)
    d = make.demand(company)
    c = login(app.test_client(), company)
    c.post(f"/company/demands/{d.id}/edit", data=dict(DEMAND, title="未经审核的标题"))
    c.post(f"/company/demands/{d.id}/close", data={"reason": "不再需要"})
    public = app.test_client().get(f"/demands/{d.id}")
    # The closed demand keeps its published text on record; the unreviewed edit never shows.
    assert public.status_code == 200 and "站台门改造" in public.get_data(as_text=True)
    assert "未经审核的标题" not in public.get_data(as_text=True)
    assert "未经审核的标题" not in app.test_client().get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "status"),
    [("/demands/99999999999999999999", 404), ("/?page=99999999999999999999", 200),
     ("/?round=99999999999999999999", 200), ("/?q=a%00b", 200), ("/?segment=%00", 200),
     ("/?page=-3", 200), ("/?page=abc", 200)],
)
def test_odd_urls_never_fail(client, url, status):
    # An id beyond the databases' integers is simply not there; odd filters and page numbers
    # fall back to the first page of the board.
    assert client.get(url).status_code == status


def test_odd_input_in_forms_and_api(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    c = login(app.test_client(), company)
    resp = c.post("/company/demands/new", data=dict(DEMAND, title="站台\x00门改造"))
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.query(Demand).one().title == "站台门改造"
    assert c.post("/api/suggest", json={"title": "\ud800站台门"}).status_code == 200
    d = make.demand(company)
    s = login(app.test_client(), supplier)
    for odd in ("²", "9" * 30):
        resp = s.post(f"/supplier/demands/{d.id}/reply", data={
            "capability_id": odd, "fit": "我们有十年站台门改造经验，完成过三条线路的改造。", "contact_name": "王",
            "contact_email": "w@example.com", "trl": "5", "cooperation": "pilot"})
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/supplier/replies")
        with app.app_context():
            reply = db.session.query(Reply).one()  # sent, with no capability named
            assert reply.capability_id is None and reply.fit.startswith("我们有十年")
            db.session.query(Reply).delete()
            db.session.commit()


def test_a_withdrawn_reply_can_be_sent_again(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    r = make.reply(supplier, d)
    s = login(app.test_client(), supplier)
    s.post(f"/supplier/replies/{r.id}/withdraw")
    s.post(f"/supplier/demands/{d.id}/reply", data={
        "fit": "重新考虑后，我们可以提供完整的站台门改造方案与施工。", "contact_name": "王", "contact_email": "w@example.com",
        "trl": "7", "cooperation": "supply"})
    with app.app_context():
        reply = db.session.query(Reply).one()
        assert reply.status == ReplyStatus.SENT and reply.fit.startswith("重新考虑")


def test_sessions_expire_on_the_server(app, make, login):
    user = make.user(Role.COMPANY)
    c = login(app.test_client(), user)
    with app.app_context():
        for row in db.session.query(LoginSession):
            row.created_at = row.created_at - dt.timedelta(hours=app.config["SESSION_LIFETIME_HOURS"] + 1)
        db.session.commit()
    resp = c.get("/company/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


@pytest.fixture
def crowded(make_app):
    """A demand with four fitting capabilities and room for two suggestions."""
    app = make_app(MATCH_TOP_K=2, MATCH_THRESHOLD=1)
    make = Factory(app)
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    caps = [
        make.capability(supplier, title=t, description=f"{t}：既有线路屏蔽门系统。", keywords="站台门")
        for t in ("站台门改造", "站台门维保", "站台门安装", "站台门检测")
    ]
    d = make.demand(company)
    return app, make, company, supplier, caps, d


def suggested(app, demand_id):
    with app.app_context():
        return sorted(
            m.capability_id
            for m in db.session.query(Match).filter_by(demand_id=demand_id, status=MatchStatus.SUGGESTED)
        )


def test_top_k_counts_only_unreviewed_matches_on_every_path(crowded, login):
    app, make, company, supplier, caps, d = crowded
    staff = login(app.test_client(), make.user(Role.STAFF))
    assert len(suggested(app, d.id)) == 2
    with app.app_context():
        best = db.session.query(Match).filter_by(demand_id=d.id).order_by(Match.score.desc()).first()
    staff.post(f"/admin/matches/{best.id}/confirm")
    assert len(suggested(app, d.id)) == 2  # the confirmed one no longer takes a slot
    first = suggested(app, d.id)
    other = next(c for c in caps if c.id in first)
    sup = login(app.test_client(), supplier)
    sup.post(f"/supplier/capabilities/{other.id}/edit", data={
        "title": other.title, "description": f"{other.title}：既有线路屏蔽门系统。", "keywords": "站台门",
        "segment": "equipment"})
    assert len(suggested(app, d.id)) == 2
    owner = login(app.test_client(), company)
    owner.post(f"/company/demands/{d.id}/edit", data=DEMAND)
    assert len(suggested(app, d.id)) == 2
    with app.app_context():
        m = db.session.query(Match).filter_by(demand_id=d.id, status=MatchStatus.SUGGESTED).first()
    staff.post(f"/admin/matches/{m.id}/dismiss", data={"reason": "方向不符"})
    assert len(suggested(app, d.id)) == 2  # the next capability takes the dismissed one's place


def test_closed_demands_keep_their_matches_when_capabilities_change(crowded, login):
    app, make, company, supplier, caps, d = crowded
    owner = login(app.test_client(), company)
    owner.post(f"/company/demands/{d.id}/close", data={"reason": "已完成"})
    before = suggested(app, d.id)
    sup = login(app.test_client(), supplier)
    for cap in caps:
        sup.post(f"/supplier/capabilities/{cap.id}/edit", data={
            "title": "园区食堂", "description": "团餐配送与食堂承包服务。", "keywords": "餐饮", "segment": ""})
    assert suggested(app, d.id) == before


def test_reviewed_matches_get_fresh_reasons(crowded, login):
    app, make, company, supplier, caps, d = crowded
    staff = login(app.test_client(), make.user(Role.STAFF))
    with app.app_context():
        m = db.session.query(Match).filter_by(demand_id=d.id).first()
    staff.post(f"/admin/matches/{m.id}/confirm")
    sup = login(app.test_client(), supplier)
    sup.post(f"/supplier/capabilities/{m.capability_id}/edit", data={
        "title": "园区食堂", "description": "团餐配送与食堂承包服务。", "keywords": "餐饮", "segment": ""})
    with app.app_context():
        m = db.session.get(Match, m.id)
        assert m.status == MatchStatus.CONFIRMED and m.score == 0 and not m.reasons.get("concepts")


def test_import_refuses_websites_that_are_not_web_addresses(app, tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(
        '[{"kind": "demand", "ref": "X1", "organization": "某公司", "title": "站台门改造", '
        '"description": "屏蔽门改造", "website": "javascript:alert(1)"}]', encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "row 1: website" in result.output
    with app.app_context():
        assert db.session.query(Demand).count() == 0
