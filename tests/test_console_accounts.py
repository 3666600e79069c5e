"""Staff console: accounts (search, disable and enable, the staff role), organisations (one
page with everything, verifying, merging duplicates) and the audit log."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import (
    AuditEntry,
    Capability,
    Demand,
    Invitation,
    LoginSession,
    Organization,
    Outcome,
    OutcomeKind,
    Reply,
    Role,
    User,
    organization_tag,
)
from board.services import audit
from tests.factories import board_today


def entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                                  .order_by(AuditEntry.id)).all()
        for e in rows:
            db.session.expunge(e)
        return rows


def user(app, user_id: int) -> User:
    with app.app_context():
        u = db.session.get(User, user_id)
        db.session.expunge(u)
        return u


@pytest.fixture
def staff(app, make):
    return make.user(Role.STAFF, display_name="园区小李")


@pytest.fixture
def console(app, staff, login):
    return login(app.test_client(), staff)


# -- accounts --------------------------------------------------------------------------------
def test_accounts_are_listed_searched_and_filtered(app, make, console):
    org = make.org("京城地铁运营公司")
    a = make.user(Role.COMPANY, org=org, email="zhang@example.com", display_name="张工")
    b = make.user(Role.SUPPLIER, email="peter@example.com", display_name="Peter Wu")
    html = console.get("/admin/accounts").get_data(as_text=True)
    assert "zhang@example.com" in html and "peter@example.com" in html
    for q, shown, hidden in (("京城", a, b), ("peter", b, a), ("张工", a, b)):
        html = console.get(f"/admin/accounts?q={q}").get_data(as_text=True)
        assert shown.email in html and hidden.email not in html, q
    html = console.get("/admin/accounts?role=supplier").get_data(as_text=True)
    assert b.email in html and a.email not in html
    console.post(f"/admin/users/{a.id}/disable")
    html = console.get("/admin/accounts?state=disabled").get_data(as_text=True)
    assert a.email in html and b.email not in html
    html = console.get("/admin/accounts?state=active&role=nonsense").get_data(as_text=True)
    assert b.email in html and a.email not in html


def test_accounts_are_paginated(app, make, console):
    for i in range(31):
        make.user(Role.COMPANY, email=f"member{i:02d}@example.com")
    first = console.get("/admin/accounts").get_data(as_text=True)
    second = console.get("/admin/accounts?page=2").get_data(as_text=True)
    assert "第 1 / 2 页" in first or "2 页" in first
    shown = set(re.findall(r"member\d\d@example.com", first)) | set(re.findall(r"member\d\d@example.com", second))
    assert len(shown) == 31


def test_disable_and_enable_name_the_state_and_repeating_changes_nothing(app, make, console, login):
    member = make.user(Role.COMPANY)
    victim = login(app.test_client(), member)
    for _ in range(2):
        resp = console.post(f"/admin/users/{member.id}/disable", data={"next": "/admin/accounts"})
        assert resp.status_code == 302 and resp.headers["Location"] == "/admin/accounts"
    assert user(app, member.id).active is False
    assert len(entries(app, "account.disable")) == 1
    assert "未做更改：该账号本来就已停用" in console.get("/admin/accounts").get_data(as_text=True)
    assert victim.get("/company/").status_code == 302  # its session ended
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(
            LoginSession.user_id == member.id, LoginSession.revoked_at.is_(None))) == 0
    for _ in range(2):
        console.post(f"/admin/users/{member.id}/enable")
    assert user(app, member.id).active is True
    assert [(e.before, e.after) for e in entries(app, "account.enable")] == [
        ({"active": False}, {"active": True})]
    assert login(app.test_client(), member).get("/company/").status_code == 200


def test_staff_cannot_disable_themselves(app, staff, console):
    resp = console.post(f"/admin/users/{staff.id}/disable")
    assert resp.status_code == 302
    assert "不能停用或启用自己的账号" in console.get("/admin/accounts").get_data(as_text=True)
    assert user(app, staff.id).active and entries(app, "account.disable") == []
    html = console.get("/admin/accounts").get_data(as_text=True)
    assert f"/admin/users/{staff.id}/disable" not in html
    assert console.post("/admin/users/2147483647/disable").status_code == 404


def test_staff_role_is_granted_and_removed(app, make, console, login):
    member = make.user(Role.COMPANY)
    for _ in range(2):
        assert console.post(f"/admin/users/{member.id}/staff/grant").status_code == 302
    assert user(app, member.id).role == Role.STAFF
    assert [(e.before, e.after) for e in entries(app, "account.staff_grant")] == [
        ({"role": "company"}, {"role": "staff"})]
    new_staff = login(app.test_client(), member)
    assert new_staff.get("/admin/").status_code == 200

    # Removing it asks which member role the account gets; its former one is offered first.
    html = console.get(f"/admin/accounts?q={member.email}").get_data(as_text=True)
    assert re.search(r'<option selected value="company">|<option value="company" selected', html)
    resp = console.post(f"/admin/users/{member.id}/staff/remove", data={"role": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'aria-invalid="true"' in html and f'id="role-{member.id}-error"' in html
    resp = console.post(f"/admin/users/{member.id}/staff/remove", data={"role": "staff"})
    assert resp.status_code == 422
    assert console.post(f"/admin/users/{member.id}/staff/remove", data={"role": "supplier"}).status_code == 302
    assert user(app, member.id).role == Role.SUPPLIER
    assert [(e.before, e.after) for e in entries(app, "account.staff_remove")] == [
        ({"role": "staff"}, {"role": "supplier"})]
    assert new_staff.get("/admin/").status_code == 403
    assert new_staff.get("/supplier/").status_code == 200


def test_staff_cannot_remove_their_own_staff_role(app, staff, console):
    resp = console.post(f"/admin/users/{staff.id}/staff/remove", data={"role": "company"})
    assert resp.status_code == 302
    assert user(app, staff.id).role == Role.STAFF and entries(app, "account.staff_remove") == []
    assert f"/admin/users/{staff.id}/staff/remove" not in console.get("/admin/accounts").get_data(as_text=True)


def test_a_staff_account_of_no_organisation_can_only_be_staff(app, make, console):
    other = make.user(Role.STAFF)
    resp = console.post(f"/admin/users/{other.id}/staff/remove", data={"role": "company"})
    assert resp.status_code == 422
    assert "该账号不属于任何机构" in resp.get_data(as_text=True)
    assert user(app, other.id).role == Role.STAFF


# -- organisations -----------------------------------------------------------------------------
def test_the_organisation_page_shows_everything_on_one_page(app, make, console):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company, title="站台门改造")
    make.demand(company, status="draft", title="仍是草稿的需求")
    cap = make.capability(supplier)
    make.reply(supplier, d)
    with app.app_context():
        db.session.add(Outcome(kind=OutcomeKind.AGREEMENT, demand_id=d.id, occurred_on=dt.date(2024, 5, 6),
                               organization_a_id=company.organization_id,
                               organization_b_id=supplier.organization_id))
        db.session.commit()
    html = console.get(f"/admin/organizations/{company.organization_id}").get_data(as_text=True)
    assert company.email in html and "站台门改造" in html and "仍是草稿的需求" not in html
    assert 'id="org-outcomes"' in html and "签约" in html
    html = console.get(f"/admin/organizations/{supplier.organization_id}").get_data(as_text=True)
    for text in (supplier.email, cap.title, "站台门改造", 'id="org-replies"'):
        assert text in html, text


def test_verifying_an_organisation_shows_a_badge_and_repeats_harmlessly(app, make, staff, console):
    org = make.org("待核实机构")
    for _ in range(2):
        resp = console.post(f"/admin/organizations/{org.id}/verify")
        assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/organizations/{org.id}"
    with app.app_context():
        o = db.session.get(Organization, org.id)
        assert o.verified_at is not None and o.verified_by_id == staff.id
    assert len(entries(app, "organization.verify")) == 1
    html = console.get(f"/admin/organizations/{org.id}").get_data(as_text=True)
    assert "badge-verified" in html and "园区小李" in html
    console.post(f"/admin/organizations/{org.id}/unverify")
    with app.app_context():
        assert db.session.get(Organization, org.id).verified_at is None
    assert "badge-verified" not in console.get(f"/admin/organizations/{org.id}").get_data(as_text=True)


@pytest.fixture
def duplicates(app, make):
    """Two records of one firm: each with members, demands, capabilities, replies (both to
    one demand), invitations (both to one demand), an outcome and tags."""
    keep, dup = make.org("交控科技股份有限公司"), make.org("交控科技")
    poster = make.user(Role.COMPANY)
    shared = make.demand(poster, title="站台门改造")
    other = make.demand(poster, title="屏蔽门维护", description="屏蔽门（站台门）日常维护与检修。")
    k_user = make.user(Role.SUPPLIER, org=keep, email="keep@example.com")
    d_user = make.user(Role.SUPPLIER, org=dup, email="dup@example.com")
    make.user(Role.COMPANY, org=dup, email="dup-company@example.com")
    make.capability(k_user)
    make.capability(d_user, title="Platform screen door spare parts")
    make.demand(make.user(Role.COMPANY, org=dup), title="交控科技的需求")
    make.reply(k_user, shared, fit="保留机构的回复")
    make.reply(d_user, shared, fit="重复机构的回复")
    make.reply(d_user, other, fit="只有重复机构回复了这项")
    with app.app_context():
        for org_id in (keep.id, dup.id):
            db.session.add(Invitation(demand_id=shared.id, organization_id=org_id))
        db.session.add(Invitation(demand_id=other.id, organization_id=dup.id))
        db.session.add(Outcome(kind=OutcomeKind.MEETING, organization_a_id=poster.organization_id,
                               organization_b_id=dup.id, occurred_on=dt.date(2024, 1, 2)))
        db.session.execute(organization_tag.insert(), [
            {"organization_id": keep.id, "tag": "chain_leader"},
            {"organization_id": dup.id, "tag": "chain_leader"},
            {"organization_id": dup.id, "tag": "investment_target"}])
        db.session.commit()
    return {"keep": keep, "dup": dup, "shared": shared, "other": other}


def test_merge_shows_a_preview_then_moves_everything(app, console, duplicates):
    keep, dup, shared = duplicates["keep"], duplicates["dup"], duplicates["shared"]
    html = console.get(f"/admin/organizations/{dup.id}/merge?q=交控").get_data(as_text=True)
    assert f"keep={keep.id}" in html
    html = console.get(f"/admin/organizations/{dup.id}/merge?keep={keep.id}").get_data(as_text=True)
    assert "对同一需求的回复" in html and "站台门改造" in html
    assert "1 个邀请" in html
    with app.app_context():
        assert db.session.get(Organization, dup.id).merged_into_id is None  # the preview wrote nothing

    resp = console.post(f"/admin/organizations/{dup.id}/merge", data={"keep": str(keep.id)})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/organizations/{keep.id}"
    with app.app_context():
        on = lambda model: db.session.scalar(  # noqa: E731
            sa.select(sa.func.count()).select_from(model).where(model.organization_id == dup.id))
        assert [on(m) for m in (User, Demand, Capability, Reply, Invitation)] == [0, 0, 0, 0, 0]
        assert db.session.get(Organization, dup.id).merged_into_id == keep.id
        replies = {r.demand_id: r.fit for r in db.session.scalars(
            sa.select(Reply).where(Reply.organization_id == keep.id))}
        assert replies == {shared.id: "保留机构的回复", duplicates["other"].id: "只有重复机构回复了这项"}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)
                                 .where(Invitation.organization_id == keep.id)) == 2
        assert db.session.scalar(sa.select(Outcome.organization_b_id)) == keep.id
        tags = set(db.session.scalars(sa.select(organization_tag.c.tag)
                                      .where(organization_tag.c.organization_id == keep.id)))
        assert tags == {"chain_leader", "investment_target"}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(organization_tag)
                                 .where(organization_tag.c.organization_id == dup.id)) == 0
        assert {u.email for u in db.session.scalars(sa.select(User).where(User.organization_id == keep.id))} \
            >= {"keep@example.com", "dup@example.com", "dup-company@example.com"}
    [entry] = entries(app, "organization.merge")
    assert entry.object_id == dup.id
    assert entry.before["duplicate"]["replies"] == 2 and entry.before["keep"]["replies"] == 1
    assert entry.after["duplicate"] == dict.fromkeys(entry.after["duplicate"], 0)
    assert entry.after["keep"]["replies"] == 2 and entry.after["keep"]["users"] == 4
    assert len(entry.after["dropped_replies"]) == 1

    # The duplicate is hidden from lists and says where its records went.
    listing = console.get("/admin/organizations?q=交控").get_data(as_text=True)
    assert f"/admin/organizations/{keep.id}\"" in listing and f"/admin/organizations/{dup.id}\"" not in listing
    page = console.get(f"/admin/organizations/{dup.id}").get_data(as_text=True)
    assert "该机构已合并到" in page
    # Doing it again, or merging into it, is refused without a change.
    again = console.post(f"/admin/organizations/{dup.id}/merge", data={"keep": str(keep.id)})
    assert again.status_code == 422 and "该机构已合并到另一机构" in again.get_data(as_text=True)
    into = console.post(f"/admin/organizations/{keep.id}/merge", data={"keep": str(dup.id)})
    assert into.status_code == 422 and "所选机构本身已合并" in into.get_data(as_text=True)
    assert len(entries(app, "organization.merge")) == 1


def test_merge_refuses_a_missing_or_same_organisation(app, console, duplicates):
    dup = duplicates["dup"]
    for data, words in (({}, "请选择要保留的机构"), ({"keep": str(dup.id)}, "不能合并到自身"),
                        ({"keep": "2147483647"}, "请选择要保留的机构"), ({"keep": "abc"}, "请选择要保留的机构")):
        resp = console.post(f"/admin/organizations/{dup.id}/merge", data=data)
        assert resp.status_code == 422 and words in resp.get_data(as_text=True), data
    assert console.get(f"/admin/organizations/{dup.id}/merge?keep=2147483647").status_code == 404
    assert entries(app, "organization.merge") == []


def test_imports_naming_a_merged_organisation_go_to_the_one_kept(app, console, duplicates, tmp_path):
    from tests.test_import_export import PSD_CAP, import_ok, write_json

    keep, dup = duplicates["keep"], duplicates["dup"]
    console.post(f"/admin/organizations/{dup.id}/merge", data={"keep": str(keep.id)})
    import_ok(app, write_json(tmp_path / "x.json", [dict(PSD_CAP, organization="交控科技")]))
    with app.app_context():
        cap = db.session.scalar(sa.select(Capability).where(Capability.ref == PSD_CAP["ref"]))
        assert cap.organization_id == keep.id


# -- the audit log ---------------------------------------------------------------------------
def test_the_audit_log_lists_staff_actions_with_filters(app, make, staff, console):
    member = make.user(Role.COMPANY)
    org = make.org("审计测试机构")
    console.post(f"/admin/users/{member.id}/disable")
    console.post(f"/admin/users/{member.id}/staff/grant")
    console.post(f"/admin/organizations/{org.id}/verify")
    console.get("/admin/exports/download?kind=demands&format=csv")
    html = console.get("/admin/audit").get_data(as_text=True)
    for label in ("停用账号", "授予园区工作人员角色", "核实机构", "导出"):
        assert label in html, label
    assert staff.email in html and "<del>是</del> → <ins>否</ins>" in html  # active: yes → no

    html = console.get("/admin/audit?action=account.disable").get_data(as_text=True)
    assert "停用账号" in html and "核实机构</td>" not in html
    assert "1 条日志" in html
    html = console.get(f"/admin/audit?actor={staff.email}").get_data(as_text=True)
    assert "4 条日志" in html
    assert "没有符合筛选条件的日志" in console.get("/admin/audit?actor=nobody@example.com").get_data(as_text=True)
    today = board_today()
    html = console.get(f"/admin/audit?from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}")
    assert "4 条日志" in html.get_data(as_text=True)
    html = console.get("/admin/audit?to=2000-01-01").get_data(as_text=True)
    assert "没有符合筛选条件的日志" in html
    resp = console.get("/admin/audit?from=not-a-date")
    assert resp.status_code == 422 and 'aria-invalid="true"' in resp.get_data(as_text=True)

    # The log has no route that writes to it.
    writers = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin/audit")
               and r.methods - {"GET", "HEAD", "OPTIONS"}]
    assert writers == []


def test_the_audit_log_is_paginated(app, staff, console):
    with app.app_context():
        actor = db.session.get(User, staff.id)
        for i in range(55):
            audit.record(actor, "lexicon.term", None, after={"term": f"term{i}"})
        db.session.commit()
    first = console.get("/admin/audit").get_data(as_text=True)
    second = console.get("/admin/audit?page=2").get_data(as_text=True)
    assert first.count("<code>term</code>") == 50 and second.count("<code>term</code>") == 5
    assert "term54" in first and "term54" not in second and "term0" in second
