"""Company members: post, edit, submit and close demands; see matches and replies."""

import re

from board.extensions import db
from board.models import Demand, DemandStatus, Match, Reply, ReplyStatus, Role, User
from board.services import replies

DEMAND = {
    "title": "既有线站台门改造",
    "description": "需要对既有线路的屏蔽门进行改造，并与CBTC信号系统联动。",
    "keywords": "站台门，屏蔽门、信号系统",
    "segment": "equipment",
    "themes": ["intelligent_equipment"],
    "visibility": "public",
    "contact_name": "张工",
    "contact_email": "zhang@example.com",
}


def test_post_a_demand_then_submit_it(app, make, login):
    user = make.user(Role.COMPANY)
    c = login(app.test_client(), user)
    resp = c.post("/company/demands/new", data=DEMAND)
    assert resp.status_code == 302
    with app.app_context():
        d = db.session.query(Demand).one()
        assert d.status == DemandStatus.DRAFT
        assert d.keyword_list == ["站台门", "屏蔽门", "信号系统"]
        assert d.theme_codes == ["intelligent_equipment"]
        assert d.ref.startswith("D-")
        demand_id = d.id
    page = c.get(f"/company/demands/{demand_id}").get_data(as_text=True)
    assert "既有线站台门改造" in page
    assert c.post(f"/company/demands/{demand_id}/submit").status_code == 302
    with app.app_context():
        assert db.session.get(Demand, demand_id).status == DemandStatus.SUBMITTED
    # Not public until staff publish it.
    assert app.test_client().get(f"/demands/{demand_id}").status_code == 404
    assert "既有线站台门改造" not in app.test_client().get("/").get_data(as_text=True)


def test_bad_demand_form_keeps_input_and_writes_nothing(app, make, login):
    c = login(app.test_client(), make.user(Role.COMPANY))
    bad = dict(DEMAND, title="", segment="nonsense", contact_email="nope", deadline="31/12/2026")
    resp = c.post("/company/demands/new", data=bad)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "需要对既有线路的屏蔽门进行改造" in html  # what the user typed is still there
    assert 'value="nope"' in html
    # title, segment, contact e-mail and reply-by date
    assert html.count('class="field-errors"') == 4
    with app.app_context():
        assert db.session.query(Demand).count() == 0


def test_my_demands_shows_top_matches_and_reply_counts(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    make.capability(supplier, title="站台门改造与维保", description="专业从事屏蔽门、站台门的改造和维护。")
    make.reply(supplier, d)
    # A withdrawn reply is not counted.
    other = make.user(Role.SUPPLIER)
    withdrawn = make.reply(other, d, contact_email="li@example.com")
    with app.app_context():
        replies.withdraw(db.session.get(User, other.id), db.session.get(Reply, withdrawn.id))
        db.session.commit()
    c = login(app.test_client(), company)
    html = c.get("/company/").get_data(as_text=True)
    assert "站台门改造与维保" in html
    assert "<span>1 条回复</span>" in html
    page = c.get(f"/company/demands/{d.id}").get_data(as_text=True)
    assert "站台门改造与维保" in page
    assert "<mark>" in page  # matched words are highlighted
    assert "wang@example.com" in page  # the reply's contact


def test_company_shortlists_and_declines_replies(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    r = make.reply(supplier, d)
    c = login(app.test_client(), company)
    resp = c.post(f"/company/replies/{r.id}/answer", data={"decision": "declined"})
    # Declining needs a reason: the page comes back with the message at the reason field.
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    # Declining needs a structured reason: the error is at this reply's choice of reasons.
    field = re.search(rf'<fieldset class="field choices[^"]*has-error[^"]*">(?:(?!</fieldset>).)*'
                      rf'id="reply-{r.id}-decline_reason-0"', html, re.S)
    assert field, "the error should be shown at the reason choices of this reply"
    with app.app_context():
        assert db.session.get(Reply, r.id).status == ReplyStatus.SENT
    c.post(f"/company/replies/{r.id}/answer", data={"decision": "declined", "reason": "方向不符"})
    with app.app_context():
        reply = db.session.get(Reply, r.id)
        assert reply.status == ReplyStatus.DECLINED and reply.status_reason == "方向不符"
    s = login(app.test_client(), supplier)
    assert "方向不符" in s.get("/supplier/replies").get_data(as_text=True)


def test_close_needs_a_reason_and_stops_replies(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    c = login(app.test_client(), company)
    c.post(f"/company/demands/{d.id}/close", data={"reason": ""})
    with app.app_context():
        assert db.session.get(Demand, d.id).status == DemandStatus.PUBLISHED
    c.post(f"/company/demands/{d.id}/close", data={"reason": "已找到合作伙伴"})
    with app.app_context():
        assert db.session.get(Demand, d.id).status == DemandStatus.CLOSED
    s = login(app.test_client(), supplier)
    resp = s.post(f"/supplier/demands/{d.id}/reply", data={
        "fit": "我们有十年站台门经验，可以马上开始。", "contact_name": "钱", "contact_email": "q@example.com"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.query(Reply).count() == 0


def test_anonymous_demand_hides_the_poster_from_the_public(app, make, login):
    company = make.user(Role.COMPANY)
    d = make.demand(company, visibility="anonymous", contact_name="张工",
                    contact_email="zhang@example.com")
    with app.app_context():
        org_name = db.session.get(Demand, d.id).organization.name
    public = app.test_client().get(f"/demands/{d.id}").get_data(as_text=True)
    supplier = login(app.test_client(), make.user(Role.SUPPLIER))
    seen_by_supplier = supplier.get(f"/demands/{d.id}").get_data(as_text=True)
    for page in (public, seen_by_supplier):
        assert d.title in page
        assert org_name not in page
        assert "zhang@example.com" not in page and "张工" not in page
    owner = login(app.test_client(), company).get(f"/demands/{d.id}").get_data(as_text=True)
    assert org_name in owner and "zhang@example.com" in owner


def test_contact_details_only_for_signed_in_users(app, make, login):
    company = make.user(Role.COMPANY)
    d = make.demand(company, contact_email="contact-me@example.com")
    assert "contact-me@example.com" not in app.test_client().get(f"/demands/{d.id}").get_data(as_text=True)
    supplier = login(app.test_client(), make.user(Role.SUPPLIER))
    assert "contact-me@example.com" in supplier.get(f"/demands/{d.id}").get_data(as_text=True)


def test_suggestions_can_be_applied_without_javascript(app, make, login):
    company = make.user(Role.COMPANY)
    d = make.demand(company, status="draft", segment="", themes=[], keywords="",
                    title="CBTC信号系统改造", description="基于通信的列车控制系统升级，信号系统改造。")
    c = login(app.test_client(), company)
    page = c.get(f"/company/demands/{d.id}").get_data(as_text=True)
    assert f'action="/company/demands/{d.id}/suggestions"' in page
    resp = c.post(f"/company/demands/{d.id}/suggestions", data={"segment": "y"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Demand, d.id).segment_code == "control"


def test_matches_are_stored_when_a_demand_is_saved(app, make):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    make.capability(supplier)
    d = make.demand(company, status="draft")
    with app.app_context():
        assert db.session.query(Match).filter_by(demand_id=d.id).count() == 1
