"""Park staff: review demands and matches, keep the lexicon."""

from board.extensions import db
from board.models import CustomTerm, Demand, DemandStatus, Match, MatchStatus, Role


def test_publish_a_submitted_demand(app, make, login):
    company, staff = make.user(Role.COMPANY), make.user(Role.STAFF)
    d = make.demand(company, status="submitted")
    c = login(app.test_client(), staff)
    listing = c.get("/admin/").get_data(as_text=True)
    assert d.title in listing
    c.post(f"/admin/demands/{d.id}/publish")
    with app.app_context():
        demand = db.session.get(Demand, d.id)
        assert demand.status == DemandStatus.PUBLISHED and demand.published_at is not None
    assert d.title in app.test_client().get("/").get_data(as_text=True)


def test_return_with_a_reason_the_poster_sees(app, make, login):
    company, staff = make.user(Role.COMPANY), make.user(Role.STAFF)
    d = make.demand(company, status="submitted")
    c = login(app.test_client(), staff)
    resp = c.post(f"/admin/demands/{d.id}/return", data={"reason": ""})
    assert resp.status_code == 422
    c.post(f"/admin/demands/{d.id}/return", data={"reason": "请补充技术指标"})
    with app.app_context():
        assert db.session.get(Demand, d.id).status == DemandStatus.DRAFT
    owner = login(app.test_client(), company)
    assert "请补充技术指标" in owner.get(f"/company/demands/{d.id}").get_data(as_text=True)
    assert "请补充技术指标" in owner.get("/company/").get_data(as_text=True)


def test_publishing_twice_is_refused_without_error(app, make, login):
    company, staff = make.user(Role.COMPANY), make.user(Role.STAFF)
    d = make.demand(company, status="published")
    with app.app_context():
        published_at = db.session.get(Demand, d.id).published_at
    c = login(app.test_client(), staff)
    resp = c.post(f"/admin/demands/{d.id}/publish")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/demands/{d.id}"
    assert "只有待审核的需求才能发布" in c.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        demand = db.session.get(Demand, d.id)
        assert demand.status == DemandStatus.PUBLISHED and demand.published_at == published_at


def test_confirm_and_dismiss_matches(app, make, login):
    company, supplier, staff = make.user(Role.COMPANY), make.user(Role.SUPPLIER), make.user(Role.STAFF)
    d = make.demand(company)
    cap = make.capability(supplier)
    with app.app_context():
        m = db.session.query(Match).filter_by(demand_id=d.id, capability_id=cap.id).one()
    c = login(app.test_client(), staff)
    review = c.get(f"/admin/demands/{d.id}").get_data(as_text=True)
    assert f"/admin/matches/{m.id}/confirm" in review
    c.post(f"/admin/matches/{m.id}/confirm")
    with app.app_context():
        assert db.session.get(Match, m.id).status == MatchStatus.CONFIRMED
    s = login(app.test_client(), supplier)
    board = s.get("/supplier/").get_data(as_text=True)
    assert "badge-confirmed" in board and d.title in board
    owner = login(app.test_client(), company)
    assert cap.title in owner.get(f"/company/demands/{d.id}").get_data(as_text=True)
    c.post(f"/admin/matches/{m.id}/dismiss", data={"reason": "方向不符"})
    assert d.title not in s.get("/supplier/").get_data(as_text=True)
    assert cap.title not in owner.get(f"/company/demands/{d.id}").get_data(as_text=True)
    # A review survives the next refresh of the demand's matches (approving an edit rescores).
    with app.app_context():
        computed = db.session.get(Match, m.id).computed_at
    owner.post(f"/company/demands/{d.id}/edit", data={
        "title": d.title, "description": "既有线路站台门（屏蔽门）改造与维护。", "keywords": "站台门",
        "segment": "equipment", "visibility": "public"})
    c.post(f"/admin/demands/{d.id}/changes/approve")
    with app.app_context():
        match = db.session.get(Match, m.id)
        assert match.computed_at > computed, "the demand's matches were not refreshed"
        assert match.status == MatchStatus.DISMISSED


def test_staff_adds_a_term_and_matches_follow(app, make, login):
    company, supplier, staff = make.user(Role.COMPANY), make.user(Role.SUPPLIER), make.user(Role.STAFF)
    d = make.demand(company, title="站台门检修", description="站台门检修保养。", keywords="站台门",
                    segment="")
    make.capability(supplier, title="Gate overhaul", description="Overhaul of zzgate units.",
                    keywords="zzgate", segment="")
    with app.app_context():
        assert db.session.query(Match).filter_by(demand_id=d.id).count() == 0
        from board.services.matcher import get_engine

        concept = get_engine().lexicon.find("站台门")
        assert concept
    c = login(app.test_client(), staff)
    resp = c.post("/admin/lexicon/terms", data={"concept": concept[0], "term": "zzgate", "lang": "en"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.query(CustomTerm).count() == 1
        assert db.session.query(Match).filter_by(demand_id=d.id).count() == 1
    bad = c.post("/admin/lexicon/terms", data={"concept": "no_such_concept", "term": "x1", "lang": "en"})
    assert bad.status_code == 422


def test_staff_give_a_firm_accounts_on_both_sides(app, make, login):
    staff = make.user(Role.STAFF)
    org = make.org("交控科技")
    c = login(app.test_client(), staff)
    assert "交控科技" in c.get("/admin/organizations?q=交控").get_data(as_text=True)
    for role, email in (("company", "a@example.com"), ("supplier", "b@example.com")):
        resp = c.post(f"/admin/organizations/{org.id}", data={
            "role": role, "display_name": "成员", "email": email, "password": "initial-pass"})
        assert resp.status_code == 302
    dup = c.post(f"/admin/organizations/{org.id}", data={
        "role": "company", "display_name": "成员", "email": "a@example.com", "password": "initial-pass"})
    assert dup.status_code == 422
    supplier_side = login(app.test_client(), type("U", (), {"email": "b@example.com"}), "initial-pass")
    assert supplier_side.get("/supplier/capabilities").status_code == 200
    company_side = login(app.test_client(), type("U", (), {"email": "a@example.com"}), "initial-pass")
    assert company_side.get("/company/").status_code == 200


def test_staff_disable_an_account_and_its_sessions_end(app, make, login):
    staff, company = make.user(Role.STAFF), make.user(Role.COMPANY)
    victim = login(app.test_client(), company)
    c = login(app.test_client(), staff)
    c.post(f"/admin/users/{company.id}/disable")
    resp = victim.get("/company/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    c.post(f"/admin/users/{company.id}/disable")  # the same request again changes nothing
    with app.app_context():
        from board.models import AuditEntry, User

        assert db.session.get(User, company.id).active is False
        assert db.session.query(AuditEntry).filter_by(action="account.disable").count() == 1
    c.post(f"/admin/users/{staff.id}/disable")
    assert c.get("/admin/").status_code == 200  # staff cannot lock themselves out
