"""Every route, tried as anonymous, company, supplier and staff. A new route that is
not listed here fails the test, so it cannot be forgotten."""

import pytest

from board.models import DemandStatus, Role

# Who may use each blueprint: None means everyone.
AUDIENCE = {
    "public": None,
    "auth": None,
    "static": None,
    "company": {"company"},
    "supplier": {"supplier"},
    "admin": {"staff"},
    "api": {"company", "supplier", "staff"},
}
ROLES = ["anonymous", "company", "supplier", "staff"]


@pytest.fixture
def world(app, make, login):
    company = make.user(Role.COMPANY)
    supplier = make.user(Role.SUPPLIER)
    staff = make.user(Role.STAFF)
    demand = make.demand(company, DemandStatus.PUBLISHED)
    cap = make.capability(supplier)
    reply = make.reply(supplier, demand)
    with app.app_context():
        from board.extensions import db
        from board.models import Match

        match = db.session.query(Match).first()
        assert match is not None, "the seeded pair should match"
        match_id = match.id
    bystander = make.user(Role.COMPANY)  # the account the disable/enable route flips
    ids = {"demand_id": demand.id, "cap_id": cap.id, "reply_id": reply.id, "match_id": match_id,
           "org_id": company.organization_id, "user_id": bystander.id}
    clients = {"anonymous": app.test_client()}
    for name, user in (("company", company), ("supplier", supplier), ("staff", staff)):
        clients[name] = login(app.test_client(), user)
    return ids, clients


def routes(app):
    # Sign-out goes last: it ends the session the other checks use.
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint == "auth.logout", r.rule))
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_blueprint_has_a_declared_audience(app):
    unknown = {r.endpoint.split(".")[0] for r, _ in routes(app)} - AUDIENCE.keys()
    assert not unknown, f"add these blueprints to AUDIENCE: {unknown}"


def test_access_matrix(app, world):
    ids, clients = world
    checked = 0
    for rule, method in routes(app):
        bp = rule.endpoint.split(".")[0]
        audience = AUDIENCE[bp]
        if rule.endpoint == "static":
            continue
        values = {arg: ids[arg] for arg in rule.arguments}
        url = rule.build(values, append_unknown=False)[1]
        for role in ROLES:
            client = clients[role]
            body = {"json": {}} if bp == "api" else {"data": {}}
            resp = client.open(url, method=method, **body)
            code = resp.status_code
            where = f"{method} {url} as {role}: {code}"
            if audience is None or role in audience:
                assert code not in (401, 403), where
                assert code < 500, where
                if code == 302:
                    assert "/login" not in resp.headers["Location"], where
            elif role == "anonymous":
                if bp == "api":
                    assert code == 401, where
                else:
                    assert code == 302 and "/login" in resp.headers["Location"], where
            else:
                assert code == 403, where
            checked += 1
    assert checked > 100


def test_company_cannot_touch_another_companys_demand(app, make, login):
    owner, other = make.user(Role.COMPANY), make.user(Role.COMPANY)
    d = make.demand(owner, DemandStatus.DRAFT)
    c = login(app.test_client(), other)
    assert c.get(f"/company/demands/{d.id}").status_code == 403
    assert c.get(f"/company/demands/{d.id}/edit").status_code == 403
    assert c.post(f"/company/demands/{d.id}/edit", data={"title": "hijacked"}).status_code == 403
    assert c.post(f"/company/demands/{d.id}/submit").status_code == 403
    assert c.post(f"/company/demands/{d.id}/close", data={"reason": "x"}).status_code == 403
    # A draft is not public either.
    assert c.get(f"/demands/{d.id}").status_code == 404
    assert app.test_client().get(f"/demands/{d.id}").status_code == 404


def test_supplier_cannot_touch_another_suppliers_rows(app, make, login):
    owner, other = make.user(Role.SUPPLIER), make.user(Role.SUPPLIER)
    company = make.user(Role.COMPANY)
    cap = make.capability(owner)
    d = make.demand(company)
    r = make.reply(owner, d)
    c = login(app.test_client(), other)
    assert c.get(f"/supplier/capabilities/{cap.id}").status_code == 403
    assert c.get(f"/supplier/capabilities/{cap.id}/edit").status_code == 403
    assert c.post(f"/supplier/capabilities/{cap.id}/delete").status_code == 403
    assert c.post(f"/supplier/replies/{r.id}/withdraw").status_code == 403
    # Replying with someone else's capability is refused on the server.
    resp = c.post(f"/supplier/demands/{d.id}/reply", data={
        "capability_id": str(cap.id), "fit": "我们也能做这个项目，经验丰富。", "contact_name": "赵",
        "contact_email": "zhao@example.com"})
    assert resp.status_code == 422
    with app.app_context():
        from board.extensions import db
        from board.models import Capability, Reply

        assert db.session.get(Capability, cap.id) is not None
        assert db.session.query(Reply).count() == 1


def test_company_cannot_answer_replies_to_another_companys_demand(app, make, login):
    owner, other = make.user(Role.COMPANY), make.user(Role.COMPANY)
    supplier = make.user(Role.SUPPLIER)
    r = make.reply(supplier, make.demand(owner))
    c = login(app.test_client(), other)
    assert c.post(f"/company/replies/{r.id}/answer", data={"decision": "declined", "reason": "no"}).status_code == 403


def test_unknown_ids_give_404(app, make, login):
    cases = {
        Role.COMPANY: ["/company/demands/999999", "/company/demands/999999/edit"],
        Role.SUPPLIER: ["/supplier/capabilities/999999", "/supplier/demands/999999/reply"],
        Role.STAFF: ["/admin/demands/999999"],
    }
    for role, urls in cases.items():
        c = login(app.test_client(), make.user(role))
        for url in urls:
            assert c.get(url).status_code == 404, url
    assert app.test_client().get("/demands/999999").status_code == 404
