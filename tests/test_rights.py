"""The rights module and the rules it holds: drafts, anonymous posters, firms on both sides,
rounds by submission date, and what a closed demand still allows."""

import datetime as dt

import pytest

from board.extensions import db
from board.models import Demand, DemandStatus, Reply, ReplyStatus, Role, Round, User
from board.services import demands, rights, seeding
from tests.factories import board_today

ROLES = ("anonymous", "poster", "colleague", "other_company", "supplier", "staff", "both_other")


@pytest.fixture
def people(app, make):
    poster = make.user(Role.COMPANY)
    with app.app_context():
        org = db.session.get(User, poster.id).organization
    return {
        "anonymous": None,
        "poster": poster,
        "colleague": make.user(Role.COMPANY, org=org),
        "other_company": make.user(Role.COMPANY),
        "supplier": make.user(Role.SUPPLIER),
        "staff": make.user(Role.STAFF),
        "both_other": make.user(Role.BOTH),
    }


# (status, visibility) -> who may see it, who may see the poster
EXPECTED = {
    ("draft", "public"): ({"poster", "colleague"}, {"poster", "colleague"}),
    ("submitted", "public"): ({"poster", "colleague", "staff"}, {"poster", "colleague", "staff"}),
    ("published", "public"): (set(ROLES), set(ROLES)),
    ("published", "anonymous"): (set(ROLES), {"poster", "colleague", "staff"}),
    ("closed", "anonymous"): (set(ROLES), {"poster", "colleague", "staff"}),
}


@pytest.mark.parametrize("status,visibility", list(EXPECTED))
def test_who_sees_a_demand_and_its_poster(app, make, people, status, visibility):
    d = make.demand(people["poster"], status, visibility=visibility)
    see, poster = EXPECTED[(status, visibility)]
    with app.app_context():
        demand = db.session.get(Demand, d.id)
        for name, user in people.items():
            u = db.session.get(User, user.id) if user else None
            r = rights.demand(u, demand)
            assert r.see == (name in see), (name, status, visibility)
            assert r.poster == (name in poster), (name, status, visibility)
            assert r.manage == (name in {"poster", "colleague"}), name
            assert r.review == (name == "staff" and status != "draft"), name
            label = rights.poster_label(u, demand)
            assert (label == demand.organization.name) == (name in poster), name


def test_only_suppliers_of_other_firms_reply_and_only_while_published(app, make, people):
    open_ = make.demand(people["poster"])
    closed = make.demand(people["poster"], DemandStatus.CLOSED)
    with app.app_context():
        for name, user in people.items():
            u = db.session.get(User, user.id) if user else None
            may = rights.demand(u, db.session.get(Demand, open_.id)).reply
            assert may == (name in {"supplier", "both_other"}), name
            assert not rights.demand(u, db.session.get(Demand, closed.id)).reply


def test_an_anonymous_demand_never_breaks_the_board(app, make, login, people):
    d = make.demand(people["poster"], visibility="anonymous", title="匿名需求：站台门改造")
    with app.app_context():
        seeding.load_event()
        db.session.commit()
        org_name = db.session.get(Demand, d.id).organization.name
    clients = {"anonymous": app.test_client()}
    for name in ("supplier", "other_company", "staff", "poster"):
        clients[name] = login(app.test_client(), people[name])
    for name, c in clients.items():
        for url in ("/", "/?segment=equipment", "/?q=站台门", "/event", f"/demands/{d.id}"):
            resp = c.get(url)
            assert resp.status_code == 200, (name, url)
            html = resp.get_data(as_text=True)
            assert "匿名需求" in html, (name, url)
            # Staff and the poster's organisation know who posted it; nobody else may.
            assert (org_name in html) == (name in ("staff", "poster")), (name, url)


def test_staff_never_see_drafts(app, make, login, people):
    draft = make.demand(people["poster"], DemandStatus.DRAFT, title="草稿需求：隧道监测")
    submitted = make.demand(people["poster"], DemandStatus.SUBMITTED, title="待审需求：隧道监测")
    s = login(app.test_client(), people["staff"])
    assert s.get(f"/admin/demands/{draft.id}").status_code == 404
    assert s.post(f"/admin/demands/{draft.id}/publish").status_code == 404
    assert s.get(f"/demands/{draft.id}").status_code == 404
    assert s.get(f"/admin/demands/{submitted.id}").status_code == 200
    for tab in ("submitted", "all", "published", "closed", "changes"):
        html = s.get(f"/admin/?status=all&status={tab}").get_data(as_text=True)
        assert "草稿需求" not in html
    html = s.get("/admin/?status=all").get_data(as_text=True)
    assert "待审需求" in html
    assert s.get("/admin/?status=draft").status_code == 404
    with app.app_context():
        assert demands.staff_counts()["all"] == 1
    # The poster's own label says the same as the behaviour.
    c = login(app.test_client(), people["poster"])
    assert "only your organisation sees it" in c.get(f"/company/demands/{draft.id}", headers={
        "Accept-Language": "en"}).get_data(as_text=True)


def test_staff_cannot_review_a_drafts_matches(app, make, login, people):
    d = make.demand(people["poster"], DemandStatus.DRAFT)
    make.capability(people["supplier"])
    from board.models import Match

    with app.app_context():
        m = db.session.query(Match).filter_by(demand_id=d.id).first()
        assert m is not None
        match_id = m.id
    s = login(app.test_client(), people["staff"])
    assert s.post(f"/admin/matches/{match_id}/confirm").status_code == 404


def test_a_firm_on_both_sides_posts_and_offers_with_one_account(app, client):
    resp = client.post("/signup", data={
        "role": "both", "organization": "双向测试机构", "organization_kind": "enterprise",
        "display_name": "赵工", "email": "both@example.com", "password": "a-long-passphrase",
        "confirm": "a-long-passphrase"})
    assert resp.status_code == 302
    from tests.test_accounts import confirm_address

    confirm_address(client, app, "both@example.com")
    client.post("/login", data={"email": "both@example.com", "password": "a-long-passphrase"})
    assert client.get("/company/").status_code == 200
    page = client.get("/supplier/").get_data(as_text=True)
    assert 'class="side-switch"' in page  # the switch between the two sides
    assert client.get("/supplier/capabilities").status_code == 200
    assert client.get("/admin/").status_code == 403
    # Its own demand is not one it can reply to.
    client.post("/company/demands/new", data={
        "title": "站台门改造", "description": "既有线路站台门改造与维护，需要与信号系统联动。",
        "segment": "equipment", "visibility": "public"})
    with app.app_context():
        d = db.session.query(Demand).one()
        d.status, d.published_at = DemandStatus.PUBLISHED, dt.datetime.now(dt.UTC)
        db.session.commit()
        demand_id = d.id
    resp = client.post(f"/supplier/demands/{demand_id}/reply", data={
        "fit": "我们自己的需求，不应能回复。" * 3, "contact_name": "赵", "contact_email": "z@example.com"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.query(Reply).count() == 0


def test_signup_page_offers_both_sides(client):
    html = client.get("/signup", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'value="both"' in html


def test_a_demand_joins_the_round_open_on_its_submission_date(app, make, login, people):
    today = board_today()
    with app.app_context():
        db.session.add_all([
            Round(name="往期征集", opens_on=today - dt.timedelta(days=60),
                  closes_on=today - dt.timedelta(days=30)),
            Round(name="本期征集", opens_on=today - dt.timedelta(days=5),
                  closes_on=today + dt.timedelta(days=5)),
            Round(name="下期征集", opens_on=today + dt.timedelta(days=10)),
        ])
        db.session.commit()
    d = make.demand(people["poster"], DemandStatus.SUBMITTED)
    with app.app_context():
        assert db.session.get(Demand, d.id).round.name == "本期征集"


def test_with_no_open_round_a_demand_has_none_and_staff_are_told(app, make, login, people):
    with app.app_context():
        seeding.load_event()  # the event's round closed on the release day
        db.session.commit()
    d = make.demand(people["poster"], DemandStatus.SUBMITTED)
    with app.app_context():
        assert db.session.get(Demand, d.id).round is None
    s = login(app.test_client(), people["staff"])
    html = s.get("/admin/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "1 demand awaiting review was submitted when no collection round was open" in html
    assert "No collection round was open" in s.get(
        f"/admin/demands/{d.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_a_reply_cannot_be_withdrawn_or_answered_after_the_demand_closed(app, make, login, people):
    d = make.demand(people["poster"])
    r = make.reply(people["supplier"], d)
    c = login(app.test_client(), people["poster"])
    c.post(f"/company/replies/{r.id}/answer", data={"decision": "shortlisted"})
    c.post(f"/company/demands/{d.id}/close", data={"reason": "已找到合作伙伴"})
    s = login(app.test_client(), people["supplier"])
    assert "Withdraw" not in s.get("/supplier/replies", headers={"Accept-Language": "en"}).get_data(as_text=True)
    s.post(f"/supplier/replies/{r.id}/withdraw")
    c.post(f"/company/replies/{r.id}/answer", data={"decision": "declined", "reason": "改变主意"})
    with app.app_context():
        assert db.session.get(Reply, r.id).status == ReplyStatus.SHORTLISTED


def test_an_anonymous_poster_is_revealed_to_the_shortlisted_supplier_only(app, make, login, people):
    d = make.demand(people["poster"], visibility="anonymous", contact_email="poster@example.com")
    chosen = make.reply(people["supplier"], d)
    other = make.user(Role.SUPPLIER)
    make.reply(other, d)
    with app.app_context():
        org_name = db.session.get(Demand, d.id).organization.name
    s = login(app.test_client(), people["supplier"])
    o = login(app.test_client(), other)
    for c in (s, o):
        html = c.get(f"/demands/{d.id}").get_data(as_text=True)
        assert org_name not in html and "poster@example.com" not in html
    c = login(app.test_client(), people["poster"])
    c.post(f"/company/replies/{chosen.id}/answer", data={"decision": "shortlisted"})
    html = s.get(f"/demands/{d.id}").get_data(as_text=True)
    assert org_name in html and "poster@example.com" in html
    assert org_name in s.get("/supplier/replies").get_data(as_text=True)
    html = o.get(f"/demands/{d.id}").get_data(as_text=True)
    assert org_name not in html and "poster@example.com" not in html
    assert org_name not in app.test_client().get("/").get_data(as_text=True)
