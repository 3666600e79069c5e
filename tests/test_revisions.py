"""Editing a published demand: the published version stays public and matchable until
staff approve the changes; returned changes leave it as it was."""

from board.extensions import db
from board.models import Demand, DemandStatus, Match, RevisionStatus, Role
from board.services import revisions

EDIT = {
    "title": "既有线站台门改造与信号联动",
    "description": "需要对既有线路的屏蔽门进行改造，并与CBTC信号系统联动，2027年完成。",
    "keywords": "站台门、屏蔽门、信号系统",
    "segment": "equipment",
    "visibility": "public",
}


def _published(make):
    company = make.user(Role.COMPANY)
    d = make.demand(company)
    return company, d


def test_edit_keeps_the_published_version_public_until_approved(app, make, login):
    company, d = _published(make)
    staff = make.user(Role.STAFF)
    c = login(app.test_client(), company)
    resp = c.post(f"/company/demands/{d.id}/edit", data=EDIT)
    assert resp.status_code == 302
    with app.app_context():
        demand = db.session.get(Demand, d.id)
        assert demand.status == DemandStatus.PUBLISHED and demand.title == "站台门改造"
        assert revisions.pending(demand).data["title"] == EDIT["title"]

    public = app.test_client().get(f"/demands/{d.id}")
    assert public.status_code == 200
    assert "站台门改造" in public.get_data(as_text=True)
    assert EDIT["title"] not in public.get_data(as_text=True)
    assert EDIT["title"] not in app.test_client().get("/").get_data(as_text=True)

    # The poster sees both versions side by side, and the form starts from the changes.
    page = c.get(f"/company/demands/{d.id}").get_data(as_text=True)
    assert 'id="changes"' in page and EDIT["title"] in page and "站台门改造" in page
    assert EDIT["title"] in c.get(f"/company/demands/{d.id}/edit").get_data(as_text=True)

    s = login(app.test_client(), staff)
    assert f"/admin/demands/{d.id}" in s.get("/admin/?status=changes").get_data(as_text=True)
    review = s.get(f"/admin/demands/{d.id}").get_data(as_text=True)
    assert EDIT["title"] in review and "revision-table" in review
    assert s.post(f"/admin/demands/{d.id}/changes/approve").status_code == 302
    with app.app_context():
        demand = db.session.get(Demand, d.id)
        assert demand.title == EDIT["title"] and demand.status == DemandStatus.PUBLISHED
        assert revisions.pending(demand) is None
    assert EDIT["title"] in app.test_client().get(f"/demands/{d.id}").get_data(as_text=True)


def test_approved_changes_are_matched_the_published_text_until_then(app, make, login):
    company, d = _published(make)
    supplier = make.user(Role.SUPPLIER)
    make.capability(supplier, title="盾构机刀盘维修", description="盾构机刀盘、刀具的维修与再制造服务。",
                    keywords="盾构、刀盘", segment="construction")
    c = login(app.test_client(), company)
    tunnel = dict(EDIT, title="盾构刀盘维修需求", description="盾构机刀盘刀具磨损后的维修与再制造。",
                  keywords="盾构、刀盘", segment="construction")
    c.post(f"/company/demands/{d.id}/edit", data=tunnel)

    def tunnel_matches():
        with app.app_context():
            return db.session.query(Match).filter_by(demand_id=d.id).join(Match.capability).filter(
                Match.capability.has(title="盾构机刀盘维修")).count()

    assert tunnel_matches() == 0  # still matched on the published text
    s = login(app.test_client(), make.user(Role.STAFF))
    s.post(f"/admin/demands/{d.id}/changes/approve")
    assert tunnel_matches() == 1


def test_returned_changes_leave_the_published_version_and_tell_the_poster(app, make, login):
    company, d = _published(make)
    c = login(app.test_client(), company)
    c.post(f"/company/demands/{d.id}/edit", data=EDIT)
    s = login(app.test_client(), make.user(Role.STAFF))
    assert s.post(f"/admin/demands/{d.id}/changes/return", data={"reason": ""}).status_code == 422
    assert s.post(f"/admin/demands/{d.id}/changes/return", data={"reason": "请补充交付时间"}).status_code == 302
    with app.app_context():
        demand = db.session.get(Demand, d.id)
        assert demand.title == "站台门改造"
        assert revisions.pending(demand) is None
        assert revisions.latest_returned(demand).status == RevisionStatus.RETURNED
    page = c.get(f"/company/demands/{d.id}").get_data(as_text=True)
    assert "请补充交付时间" in page
    # Approving without pending changes is refused, and changes nothing.
    s.post(f"/admin/demands/{d.id}/changes/approve")
    with app.app_context():
        assert db.session.get(Demand, d.id).title == "站台门改造"


def test_closing_drops_pending_changes(app, make, login):
    company, d = _published(make)
    c = login(app.test_client(), company)
    c.post(f"/company/demands/{d.id}/edit", data=EDIT)
    c.post(f"/company/demands/{d.id}/close", data={"reason": "已找到合作伙伴"})
    with app.app_context():
        demand = db.session.get(Demand, d.id)
        assert demand.status == DemandStatus.CLOSED and demand.title == "站台门改造"
        assert revisions.pending(demand) is None
    assert "站台门改造" in app.test_client().get(f"/demands/{d.id}").get_data(as_text=True)


def test_saving_the_published_text_unchanged_leaves_nothing_pending(app, make, login):
    company, d = _published(make)
    c = login(app.test_client(), company)
    form = c.get(f"/company/demands/{d.id}/edit").get_data(as_text=True)
    assert "站台门改造" in form
    c.post(f"/company/demands/{d.id}/edit", data=dict(
        title="站台门改造", description="既有线路站台门（屏蔽门）改造与维护，需要与信号系统联动。",
        keywords="站台门、屏蔽门", segment="equipment", visibility="public"))
    with app.app_context():
        assert revisions.pending(db.session.get(Demand, d.id)) is None
