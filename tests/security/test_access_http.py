"""The access matrix from outside: every route and method of tests/test_access.py's table,
sent over HTTP to gunicorn in production mode by anonymous visitors, two companies, two
suppliers, a member on both sides and staff, each signed in through the real form, each POST
with its session's CSRF token. Then objects reached by forged ids and forged hidden fields."""

from __future__ import annotations

import re
from types import SimpleNamespace

import sqlalchemy as sa

from board.extensions import db
from board.models import Demand, DemandStatus, Reply, ReplyStatus, Role, User
from tests.test_access import EXPECTED, ROLES, problem, routes

# company_b and supplier_b act before supplier A, whose own POSTs withdraw and delete.
HTTP_ROLES = ["anonymous", "company", "both", "company_b", "supplier_b", "supplier", "staff"]
HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options",
           "referrer-policy")


#: Where the board behind gunicorn answers otherwise than the in-process one, and why.
OVER_HTTP = {
    # The matrix's board is made with create_all, so it is not at the latest migration and not
    # ready; this one is built with the migrations, as production is.
    ("ops.readyz", "GET"): "200",
}


def expected(key: tuple[str, str], role: str) -> str:
    """The table's cell for a role; the second company and supplier answer as the member on
    both sides does to what is not its own, except on the side they are not on (and in the
    directory, where the second supplier is a supplier like the first: the profile seen is
    the company's)."""
    if key in OVER_HTTP:
        return OVER_HTTP[key]
    cells = dict(zip(ROLES, (c.strip() for c in EXPECTED[key].split("|")), strict=True))
    if role in cells:
        return cells[role]
    blueprint = key[0].split(".")[0]
    if role == "company_b":
        return "403" if blueprint == "supplier" else cells["both"]
    if blueprint == "company":
        return "403"
    return cells["supplier"] if blueprint in ("auth", "directory") else cells["both"]


def table_routes(world):
    """(rule, method, url, ids) for every row of the table, in the matrix's order. A route
    the table lacks is tests/test_access.py's to report (test_every_route_is_in_the_table)."""
    for rule, method in routes(world.app):
        values = dict(world.ids, **world.per_route.get(rule.endpoint, {}))
        if (rule.endpoint, method) not in EXPECTED or not set(rule.arguments) <= values.keys():
            continue
        url = rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)[1]
        yield rule, method, url, values


def _db(world):
    return world.app.app_context()


def test_forged_capability_on_a_reply_is_refused(world):
    """Supplier B picks supplier A's capability by editing the form's select value."""
    c = world.signed_in("supplier_b")
    demand_id, cap_id = world.ids["demand_id"], world.ids["cap_id"]
    page = c.get(f"/supplier/demands/{demand_id}/reply")
    assert page.status == 200
    form = page.form(f"/supplier/demands/{demand_id}/reply", "fit")
    assert str(cap_id) not in form.options.get("capability_id", [])
    resp = c.submit(page, form, capability_id=str(cap_id), fit="我们也能承担站台门改造，经验丰富，可提供方案。",
                    contact_name="赵工", contact_email="zhao@example.com", trl="7",
                    cooperation=form.options["cooperation"][0])
    assert resp.status == 422
    with _db(world):
        org = db.session.get(User, world.users["supplier_b"].id).organization_id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Reply).where(
            Reply.organization_id == org)) == 0


def test_another_companys_reply_cannot_be_answered_or_read(world):
    c = world.signed_in("company_b")
    reply_id = world.ids["reply_id"]
    token = c.csrf("/company/")
    resp = c.post(f"/company/replies/{reply_id}/answer",
                  data={"csrf_token": token, "decision": "shortlisted"})
    assert resp.status == 403
    assert c.get(f"/replies/{reply_id}").status == 404
    resp = c.post(f"/replies/{reply_id}/messages", data={"csrf_token": token, "body": "偷看一下"})
    assert resp.status == 404
    with _db(world):
        assert db.session.get(Reply, reply_id).status == ReplyStatus.SENT


def test_editing_ones_own_form_against_anothers_id_is_refused(world):
    """Company B opens its own new-demand form and sends it to company A's demand."""
    c = world.signed_in("company_b")
    page = c.get("/company/demands/new")
    form = page.form("/company/demands/new", "title")
    demand_id = world.ids["demand_id"]
    data = form.data(title="被篡改的标题", description="这是公司乙试图写入公司甲需求的内容。")
    resp = c.post(f"/company/demands/{demand_id}/edit", data=data)
    assert resp.status == 403
    with _db(world):
        assert db.session.get(Demand, demand_id).title != "被篡改的标题"


def test_extra_fields_cannot_choose_owner_status_or_role(world):
    """Hidden fields a form never had (organisation, poster, status) are ignored; a role the
    sign-up form does not offer is refused."""
    c = world.signed_in("company_b")
    page = c.get("/company/demands/new")
    form = page.form("/company/demands/new", "title")
    org_a = world.ids["org_id"]
    resp = c.submit(page, form, title="额外字段测试需求", description="检查额外字段不能决定归属与状态。",
                    organization_id=str(org_a), poster_id=str(world.users["company"].id),
                    status="published", id="1")
    assert resp.status == 302
    with _db(world):
        d = db.session.scalar(sa.select(Demand).where(Demand.title == "额外字段测试需求"))
        b = db.session.get(User, world.users["company_b"].id)
        assert d.organization_id == b.organization_id != org_a
        assert d.status == DemandStatus.DRAFT and d.id != 1
    anon = world.client()
    page = anon.get("/signup")
    form = page.form("/signup", "email")
    resp = anon.submit(page, form, role="staff", organization="伪造员工机构", display_name="伪造",
                       email="forged.staff@example.com", password="a-long-passphrase-9",
                       confirm="a-long-passphrase-9")
    assert resp.status == 422
    with _db(world):
        assert db.session.scalar(sa.select(User).where(User.role == Role.STAFF,
                                                       User.email == "forged.staff@example.com")) is None


def test_access_matrix_over_http(world):
    clients = {"anonymous": world.client()}
    for role in HTTP_ROLES[1:]:
        clients[role] = world.signed_in(role)
    tokens = {role: c.csrf("/") for role, c in clients.items()}
    problems, checked = [], 0
    for rule, method, url, values in table_routes(world):
        for role in HTTP_ROLES:
            cell = expected((rule.endpoint, method), role)
            kw = {}
            if method == "POST" and rule.endpoint.startswith("api."):
                kw = {"json": {}, "headers": {"X-CSRFToken": tokens[role]}}
            elif method == "POST":
                kw = {"data": {"csrf_token": tokens[role]}}
            resp = clients[role].request(method, url, **kw)
            seen = SimpleNamespace(status_code=resp.status, headers={"Location": resp.location})
            why = problem(cell, seen, url, values)
            if why:
                problems.append(f"{method} {url} as {role}: {why}")
            missing = [h for h in HEADERS if h not in resp.headers]
            if missing:
                problems.append(f"{method} {url} as {role}: no {missing}")
            # Pages for a signed-in visitor are never stored by a browser or proxy (the probes
            # and metrics of ops hold nothing of the visitor's).
            if role != "anonymous" and "no-store" not in resp.headers.get("cache-control", "") \
                    and rule.endpoint != "auth.logout" and rule.endpoint.split(".")[0] not in (
                        "static", "ops"):
                problems.append(f"{method} {url} as {role}: cacheable ({resp.headers.get('cache-control')})")
            checked += 1
    assert not problems, "\n".join(problems)
    assert checked == len(EXPECTED) * len(HTTP_ROLES)
    # The matrix's own writes stayed with their owners: the company's demand is still its own.
    with _db(world):
        d = db.session.get(Demand, world.ids["demand_id"])
        assert d.organization_id == world.ids["org_id"]
        assert not re.search("被篡改", d.title)
