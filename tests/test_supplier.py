"""Supplier members: capabilities, demands that match them, replies."""

import re

from board.extensions import db
from board.models import Capability, Match, Reply, ReplyStatus, Role

CAP = {
    "title": "屏蔽门改造与维保服务",
    "description": "为地铁既有线路提供站台门（屏蔽门）改造、安装与维护。",
    "keywords": "站台门；屏蔽门",
    "segment": "equipment",
}


def test_add_capability_then_see_matching_demands_and_reply(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    unrelated = make.demand(company, title="车站保洁外包", description="车站日常保洁服务外包。",
                            keywords="保洁", segment="operation")
    c = login(app.test_client(), supplier)
    empty = c.get("/supplier/").get_data(as_text=True)
    # The empty state says what to do next (the header's button is always there).
    assert "登记能力后，即可查看与您匹配的需求" in empty
    assert re.search(r'<div class="empty">.*?href="/supplier/capabilities/new"', empty, re.S)
    assert f'href="/demands/{d.id}"' not in empty
    assert c.post("/supplier/capabilities/new", data=CAP).status_code == 302
    page = c.get("/supplier/").get_data(as_text=True)
    assert f'href="/demands/{d.id}"' in page
    assert unrelated.title not in page
    form = c.get(f"/supplier/demands/{d.id}/reply").get_data(as_text=True)
    # Contact prefilled (the e-mail is also in the header, so look at the field itself).
    assert re.search(rf'name="contact_email"[^>]*value="{re.escape(supplier.email)}"', form)
    resp = c.post(f"/supplier/demands/{d.id}/reply", data={
        "fit": "我们完成过三条线路的站台门改造，可提供方案与施工。",
        "cases": "某地铁1号线屏蔽门改造",
        "contact_name": "王工", "contact_email": "wang@example.com", "contact_phone": "010-1234 5678",
        "trl": "6", "cooperation": "supply",
    })
    assert resp.status_code == 302
    replies = c.get("/supplier/replies").get_data(as_text=True)
    assert d.title in replies
    owner = login(app.test_client(), company)
    assert "我们完成过三条线路的站台门改造" in owner.get(f"/company/demands/{d.id}").get_data(as_text=True)


def test_one_reply_per_organisation_and_demand(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    make.reply(supplier, d)
    c = login(app.test_client(), supplier)
    resp = c.post(f"/supplier/demands/{d.id}/reply", data={
        "fit": "第二次回复的内容，应该被拒绝。", "contact_name": "王", "contact_email": "w@example.com"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/supplier/replies")
    with app.app_context():
        (reply,) = db.session.query(Reply).all()
        assert not reply.fit.startswith("第二次")  # the first reply stands, unchanged


def test_reply_form_errors_in_place(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    c = login(app.test_client(), supplier)
    resp = c.post(f"/supplier/demands/{d.id}/reply", data={
        "fit": "太短", "contact_name": "", "contact_email": "bad", "contact_phone": "abc"})
    assert resp.status_code == 422
    # fit, contact person, e-mail, phone, maturity level and form of cooperation
    assert resp.get_data(as_text=True).count('class="field-errors"') == 6
    with app.app_context():
        assert db.session.query(Reply).count() == 0


def test_withdraw_a_reply(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    r = make.reply(supplier, make.demand(company))
    c = login(app.test_client(), supplier)
    c.post(f"/supplier/replies/{r.id}/withdraw")
    with app.app_context():
        assert db.session.get(Reply, r.id).status == ReplyStatus.WITHDRAWN


def test_edit_and_delete_capability_refresh_matches(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    cap = make.capability(supplier)
    with app.app_context():
        assert db.session.query(Match).filter_by(demand_id=d.id, capability_id=cap.id).count() == 1
    c = login(app.test_client(), supplier)
    c.post(f"/supplier/capabilities/{cap.id}/edit", data={
        "title": "职工食堂餐饮服务", "description": "为园区企业提供食堂承包与团餐配送。", "keywords": "餐饮",
        "segment": ""})
    with app.app_context():
        assert db.session.query(Match).filter_by(capability_id=cap.id).count() == 0
    c.post(f"/supplier/capabilities/{cap.id}/edit", data=CAP)
    with app.app_context():
        assert db.session.query(Match).filter_by(capability_id=cap.id).count() == 1
    c.post(f"/supplier/capabilities/{cap.id}/delete")
    with app.app_context():
        assert db.session.get(Capability, cap.id) is None
        assert db.session.query(Match).count() == 0


def test_profile_update(app, make, login):
    supplier = make.user(Role.SUPPLIER)
    c = login(app.test_client(), supplier)
    resp = c.post("/supplier/profile", data={"website": "not a url", "description": "站台门专业厂商"})
    assert resp.status_code == 422
    assert "站台门专业厂商" in resp.get_data(as_text=True)  # what was typed is kept
    c.post("/supplier/profile", data={"website": "https://doors.example.com", "description": "站台门专业厂商"})
    page = c.get("/supplier/profile").get_data(as_text=True)
    assert "https://doors.example.com" in page and "站台门专业厂商" in page
