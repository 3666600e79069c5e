"""The directory (issue 13): profiles with visibility, contacts, credentials and references,
staff checks, the search with filters and counts, bookmarks, notes, invitations, comparison,
the supplier's own view, and the export."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import (
    AuditEntry,
    Credential,
    CredentialType,
    Invitation,
    Organization,
    OrgNote,
    ProfileView,
    Role,
)
from board.services import directory
from tests.factories import board_today

FUTURE = board_today() + dt.timedelta(days=365)
PAST = board_today() - dt.timedelta(days=1)


def set_profile(app, org_id, **values):
    with app.app_context():
        org = db.session.get(Organization, org_id)
        segments = values.pop("segments", None)
        themes = values.pop("themes", None)
        for k, v in values.items():
            setattr(org, k, v)
        if segments is not None or themes is not None:
            directory.set_codes(org, segments or [], themes or [])
        directory.reindex(org)
        db.session.commit()


def add_credential(app, org_id, ctype=CredentialType.CRCC, valid_until=FUTURE, **kw):
    with app.app_context():
        c = Credential(organization_id=org_id, type=ctype, valid_until=valid_until, **kw)
        db.session.add(c)
        db.session.commit()
        return c.id


@pytest.fixture
def people(app, make):
    company = make.user(Role.COMPANY)
    supplier = make.user(Role.SUPPLIER)
    staff = make.user(Role.STAFF)
    other = make.user(Role.COMPANY)
    set_profile(app, supplier.organization_id, profile_visibility="public",
                description="城轨信号系统集成商", contact_name="李工",
                contact_email="li.secret@example.com", contact_phone="010-5550123",
                district="丰台区", segments=["control"])
    return {"company": company, "supplier": supplier, "staff": staff, "other": other}


# -- 1. profiles and visibility ------------------------------------------------------------
@pytest.mark.parametrize("visibility,anon,member", [
    ("public", 200, 200), ("members", 404, 200), ("staff", 404, 404)])
def test_profile_visibility(app, make, login, people, visibility, anon, member):
    org_id = people["supplier"].organization_id
    set_profile(app, org_id, profile_visibility=visibility)
    assert app.test_client().get(f"/orgs/{org_id}").status_code == anon
    assert login(app.test_client(), people["company"]).get(f"/orgs/{org_id}").status_code == member
    assert login(app.test_client(), people["staff"]).get(f"/orgs/{org_id}").status_code == 200
    assert login(app.test_client(), people["supplier"]).get(f"/orgs/{org_id}").status_code == 200


def test_contacts_only_for_parties_of_a_reply(app, make, login, people):
    org_id = people["supplier"].organization_id
    company = login(app.test_client(), people["company"])
    page = company.get(f"/orgs/{org_id}").get_data(as_text=True)
    assert "li.secret@example.com" not in page and "010-5550123" not in page
    assert "li.secret@example.com" not in app.test_client().get(f"/orgs/{org_id}").get_data(as_text=True)
    d = make.demand(people["company"])
    make.reply(people["supplier"], d)
    page = company.get(f"/orgs/{org_id}").get_data(as_text=True)
    assert "li.secret@example.com" in page and "010-5550123" in page
    # Another company, not a party, still does not see them.
    other = login(app.test_client(), people["other"])
    assert "li.secret@example.com" not in other.get(f"/orgs/{org_id}").get_data(as_text=True)


def test_anonymous_demand_never_on_the_posters_profile(app, make, login, people):
    company = people["company"]
    set_profile(app, company.organization_id, profile_visibility="public")
    make.demand(company, title="公开的站台门改造需求")
    make.demand(company, title="匿名的信号升级需求", visibility="anonymous")
    for client in (app.test_client(), login(app.test_client(), people["supplier"]),
                   login(app.test_client(), people["staff"]), login(app.test_client(), company)):
        page = client.get(f"/orgs/{company.organization_id}").get_data(as_text=True)
        assert "公开的站台门改造需求" in page
        assert "匿名的信号升级需求" not in page


def test_member_edits_own_profile_not_anothers(app, login, people):
    org_id = people["supplier"].organization_id
    c = login(app.test_client(), people["supplier"])
    resp = c.post(f"/orgs/{org_id}/edit", data={
        "name_en": "Signal Integrators", "kind": "enterprise", "description": "我们做CBTC信号系统。",
        "district": "海淀区", "size_band": "small", "segments": ["control", "operation"],
        "profile_visibility": "members", "contact_email": "bad-address"})
    assert resp.status_code == 422  # a wrong e-mail is shown on the form, nothing saved
    resp = c.post(f"/orgs/{org_id}/edit", data={
        "name_en": "Signal Integrators", "kind": "enterprise", "description": "我们做CBTC信号系统。",
        "district": "海淀区", "size_band": "small", "segments": ["control", "operation"],
        "profile_visibility": "members"})
    assert resp.status_code == 302
    with app.app_context():
        org = db.session.get(Organization, org_id)
        assert org.name_en == "Signal Integrators" and org.district == "海淀区"
        assert {s.code for s in directory.segments_of([org_id])[org_id]} == {"control", "operation"}
    other = login(app.test_client(), people["company"])
    assert other.get(f"/orgs/{org_id}/edit").status_code == 403
    assert other.post(f"/orgs/{org_id}/edit", data={"kind": "other"}).status_code == 403


# -- credentials, references and staff checks ------------------------------------------------
def test_credential_lifecycle_and_checks(app, login, people):
    org_id = people["supplier"].organization_id
    sup = login(app.test_client(), people["supplier"])
    # EN 5012x needs a SIL level.
    resp = sup.post(f"/orgs/{org_id}/credentials", data={"type": "en5012x", "valid_until": FUTURE.isoformat()})
    assert resp.status_code == 422
    resp = sup.post(f"/orgs/{org_id}/credentials", data={
        "type": "en5012x", "sil_level": "4", "number": "SIL-001", "issuer": "TÜV",
        "valid_until": FUTURE.isoformat()})
    assert resp.status_code == 302
    with app.app_context():
        cred = db.session.scalar(sa.select(Credential).where(Credential.organization_id == org_id))
        cred_id = cred.id
    staff = login(app.test_client(), people["staff"])
    assert staff.post(f"/credentials/{cred_id}/check", data={"checked": "1"}).status_code == 302
    page = app.test_client().get(f"/orgs/{org_id}").get_data(as_text=True)
    assert "SIL 4" in page and "园区已核实" in page or "Verified by the park" in page
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "credential.check"))
        assert entry is not None and entry.object_id == cred_id
    # A company cannot check; the supplier edits: the check comes off.
    assert login(app.test_client(), people["company"]).post(f"/credentials/{cred_id}/check").status_code == 403
    resp = sup.post(f"/credentials/{cred_id}/edit", data={
        "type": "en5012x", "sil_level": "2", "number": "SIL-001", "issuer": "TÜV",
        "valid_until": FUTURE.isoformat()})
    assert resp.status_code == 302
    with app.app_context():
        cred = db.session.get(Credential, cred_id)
        assert cred.sil_level == 2 and cred.checked_at is None and cred.checked_by_id is None


def test_expired_credential_shown_expired_and_never_held(app, people):
    org_id = people["supplier"].organization_id
    add_credential(app, org_id, CredentialType.IRIS, valid_until=PAST)
    page = app.test_client().get(f"/orgs/{org_id}").get_data(as_text=True)
    assert "已过期" in page or "Expired" in page
    with app.test_request_context():
        result = directory.find(None, directory.Filters(credential="iris"))
        assert result.page.total == 0
    add_credential(app, org_id, CredentialType.IRIS, valid_until=FUTURE)
    with app.test_request_context():
        result = directory.find(None, directory.Filters(credential="iris"))
        assert [o.id for o in result.page.items] == [org_id]


def test_reference_with_unnamed_client(app, login, people):
    org_id = people["supplier"].organization_id
    sup = login(app.test_client(), people["supplier"])
    resp = sup.post(f"/orgs/{org_id}/references", data={
        "project": "某地铁线路信号改造", "client": "北京某地铁公司", "client_unnamed": "y",
        "year": "2022", "delivered": "CBTC 车载设备升级"})
    assert resp.status_code == 302
    page = app.test_client().get(f"/orgs/{org_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "某地铁线路信号改造" in page and "a client in the sector" in page
    assert "北京某地铁公司" not in page


def test_staff_marks_alliance_member(app, login, people):
    org_id = people["supplier"].organization_id
    staff = login(app.test_client(), people["staff"])
    assert staff.post(f"/orgs/{org_id}/alliance", data={"member": "1"}).status_code == 302
    with app.test_request_context():
        assert [o.id for o in directory.find(None, directory.Filters(alliance=True)).page.items] == [org_id]
    assert login(app.test_client(), people["supplier"]).post(
        f"/orgs/{org_id}/alliance", data={"member": "0"}).status_code == 403


# -- 4. the directory's search and filters ----------------------------------------------------
def test_english_query_finds_chinese_written_supplier(app, make, people):
    make.capability(people["supplier"], title="基于通信的列车控制系统（CBTC）集成",
                    description="为地铁线路提供CBTC信号系统集成与调试。", keywords="CBTC、信号系统",
                    segment="control")
    org_id = people["supplier"].organization_id
    with app.test_request_context():
        for q in ("communication-based train control", "ＣＢＴＣ", "cbtc", "信號系統"):
            result = directory.find(None, directory.Filters(q=q))
            assert org_id in [o.id for o in result.page.items], q
        # A word nobody wrote finds nobody.
        assert directory.find(None, directory.Filters(q="餐饮外包")).page.total == 0


def test_filters_and_counts(app, make, login, people):
    a = people["supplier"].organization_id
    b = make.user(Role.SUPPLIER).organization_id
    set_profile(app, b, profile_visibility="public", district="海淀区", segments=["equipment"],
                verified_at=dt.datetime.now(dt.UTC))
    add_credential(app, a, CredentialType.CRCC)
    add_credential(app, b, CredentialType.CRCC, valid_until=PAST)
    with app.test_request_context():
        everyone = directory.find(None, directory.Filters())
        assert {a, b} <= {o.id for o in everyone.page.items}
        assert dict(everyone.facets["credential"])["crcc"] == 1  # the expired one is not held
        assert dict(everyone.facets["district"]) == {"丰台区": 1, "海淀区": 1}
        assert dict(everyone.facets["segment"]) == {"control": 1, "equipment": 1}
        assert everyone.facets["verified"] == [("1", 1)]
        one = directory.find(None, directory.Filters(district="海淀区"))
        assert [o.id for o in one.page.items] == [b]
        assert directory.find(None, directory.Filters(verified=True)).page.total == 1
        assert [o.id for o in directory.find(None, directory.Filters(segment="control")).page.items] == [a]
    # The page shows the counts and the filters as links.
    page = app.test_client().get("/directory?district=海淀区").get_data(as_text=True)
    assert "海淀区" in page and f"/orgs/{b}" in page and f"/orgs/{a}\"" not in page


def test_directory_respects_visibility(app, make, login, people):
    hidden = make.user(Role.SUPPLIER)
    set_profile(app, hidden.organization_id, profile_visibility="staff")
    members = make.user(Role.SUPPLIER)
    set_profile(app, members.organization_id, profile_visibility="members")
    anon = app.test_client().get("/directory").get_data(as_text=True)
    company = login(app.test_client(), people["company"]).get("/directory").get_data(as_text=True)
    staff = login(app.test_client(), people["staff"]).get("/directory").get_data(as_text=True)
    for org, a, c, s in ((hidden, False, False, True), (members, False, True, True)):
        link = f'href="/orgs/{org.organization_id}"'
        assert (link in anon, link in company, link in staff) == (a, c, s)


def test_firm_on_both_sides_filter(app, make, people):
    both = make.user(Role.BOTH)
    set_profile(app, both.organization_id, profile_visibility="public")
    make.capability(both)
    with app.test_request_context():
        assert directory.find(None, directory.Filters(both=True)).page.total == 0
    make.demand(both, visibility="anonymous")  # an anonymous demand does not count
    with app.test_request_context():
        assert directory.find(None, directory.Filters(both=True)).page.total == 0
    make.demand(both)
    with app.test_request_context():
        assert [o.id for o in directory.find(None, directory.Filters(both=True)).page.items] == [
            both.organization_id]


def test_pagination_and_sort_by_update(app, make):
    ids = []
    for i in range(25):
        org = make.org(f"分页机构{i:02d}", profile_visibility="public")
        set_profile(app, org.id, profile_updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=i))
        ids.append(org.id)
    with app.test_request_context():
        first = directory.find(None, directory.Filters(sort="updated"), page=1)
        second = directory.find(None, directory.Filters(sort="updated"), page=2)
    assert first.page.total == 25 and len(first.page.items) == 20 and len(second.page.items) == 5
    assert [o.id for o in first.page.items][:3] == ids[::-1][:3]
    assert not {o.id for o in first.page.items} & {o.id for o in second.page.items}


# -- 5. bookmarks, notes, invitations, comparison --------------------------------------------
def test_bookmarks_and_notes_stay_in_their_organisation(app, make, login, people):
    sup_org = people["supplier"].organization_id
    company = login(app.test_client(), people["company"])
    colleague = login(app.test_client(), make.user(
        Role.COMPANY, org=type("O", (), {"id": people["company"].organization_id})))
    other = login(app.test_client(), people["other"])
    staff = login(app.test_client(), people["staff"])
    assert company.post(f"/orgs/{sup_org}/bookmark", data={"on": "1"}).status_code == 302
    assert company.post(f"/orgs/{sup_org}/notes", data={"body": "报价偏高，但交付可靠"}).status_code == 302
    assert staff.post(f"/orgs/{sup_org}/notes", data={"body": "园区内部备注：资质待复核"}).status_code == 302
    # The colleague of the same organisation sees both; another company and staff do not.
    page = colleague.get("/directory/bookmarks").get_data(as_text=True)
    assert f"/orgs/{sup_org}" in page
    page = colleague.get(f"/orgs/{sup_org}").get_data(as_text=True)
    assert "报价偏高" in page and "园区内部备注" not in page
    page = other.get(f"/orgs/{sup_org}").get_data(as_text=True)
    assert "报价偏高" not in page and "园区内部备注" not in page
    assert f"/orgs/{sup_org}" not in other.get("/directory/bookmarks").get_data(as_text=True)
    page = staff.get(f"/orgs/{sup_org}").get_data(as_text=True)
    assert "园区内部备注" in page and "报价偏高" not in page
    page = login(app.test_client(), people["supplier"]).get(f"/orgs/{sup_org}").get_data(as_text=True)
    assert "报价偏高" not in page and "园区内部备注" not in page
    # Nobody deletes another organisation's note, whatever id they try.
    with app.app_context():
        notes = {n.body: n.id for n in db.session.scalars(sa.select(OrgNote))}
    mine, staffs = notes["报价偏高，但交付可靠"], notes["园区内部备注：资质待复核"]
    assert other.post(f"/notes/{mine}/delete").status_code == 404
    assert company.post(f"/notes/{staffs}/delete").status_code == 404
    assert staff.post(f"/notes/{mine}/delete").status_code == 404
    assert colleague.post(f"/notes/{mine}/delete").status_code == 302
    # A supplier (not a company) keeps no bookmarks.
    assert login(app.test_client(), make.user(Role.SUPPLIER)).post(
        f"/orgs/{sup_org}/bookmark").status_code == 403


def test_staff_only_profile_and_contacts_never_reach_another_organisation(app, make, login, people):
    secret = make.user(Role.SUPPLIER)
    set_profile(app, secret.organization_id, profile_visibility="staff", contact_email="hidden@example.com",
                description="只给园区看的简介")
    cred = add_credential(app, secret.organization_id, CredentialType.CRCC)
    for who in (people["company"], people["supplier"], people["other"]):
        c = login(app.test_client(), who)
        oid = secret.organization_id
        for url in (f"/orgs/{oid}", f"/orgs/{oid}/logo", f"/credentials/{cred}/edit"):
            assert c.get(url).status_code == 404, url
        for url in (f"/orgs/{oid}/bookmark", f"/orgs/{oid}/notes", f"/orgs/{oid}/invite",
                    f"/credentials/{cred}/check", f"/credentials/{cred}/delete"):
            assert c.post(url, data={"body": "x"}).status_code == 404, url
        assert "只给园区看的简介" not in c.get("/directory?q=简介").get_data(as_text=True)


def test_invite_from_profile(app, make, login, people):
    d = make.demand(people["company"])
    make.capability(people["supplier"])
    org_id = people["supplier"].organization_id
    company = login(app.test_client(), people["company"])
    page = company.get(f"/orgs/{org_id}").get_data(as_text=True)
    assert d.title in page
    resp = company.post(f"/orgs/{org_id}/invite", data={"demand_id": str(d.id)})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(
            Invitation.organization_id == org_id, Invitation.demand_id == d.id)) == 1
    # Another company cannot invite to this company's demand.
    other = login(app.test_client(), people["other"])
    other.post(f"/orgs/{org_id}/invite", data={"demand_id": str(d.id)})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1


def test_comparison_for_one_demand(app, make, login, people):
    d = make.demand(people["company"])
    a = people["supplier"]
    b = make.user(Role.SUPPLIER)
    set_profile(app, b.organization_id, profile_visibility="members")
    make.capability(a)
    make.capability(b, title="站台门维保服务", description="地铁站台门（屏蔽门）日常维保。", keywords="站台门")
    add_credential(app, a.organization_id, CredentialType.CRCC)
    add_credential(app, b.organization_id, CredentialType.ISO9001, valid_until=PAST)
    company = login(app.test_client(), people["company"])
    url = f"/directory/compare?demand={d.id}&org={a.organization_id}&org={b.organization_id}"
    resp = company.get(url)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    with app.test_request_context():
        data = directory.comparison(
            _user(app, people["company"]), _demand(d), [a.organization_id, b.organization_id])
    assert data["columns"][a.organization_id]["match"] is not None
    assert [c.type for c in data["columns"][a.organization_id]["valid"]] == [CredentialType.CRCC]
    assert data["columns"][b.organization_id]["valid"] == []
    assert "CRCC" in page
    # At most four; another company may not compare for this demand.
    many = "&".join(f"org={make.user(Role.SUPPLIER).organization_id}" for _ in range(5))
    assert company.get(f"/directory/compare?demand={d.id}&{many}").status_code in (404, 422)
    assert login(app.test_client(), people["other"]).get(url).status_code == 403


def _user(app, u):
    from board.models import User

    return db.session.get(User, u.id)


def _demand(d):
    from board.models import Demand

    return db.session.get(Demand, d.id)


# -- 6. the supplier's own view ------------------------------------------------------------------
def test_checklist_views_and_matched_demands(app, make, login, people):
    org_id = people["supplier"].organization_id
    sup = login(app.test_client(), people["supplier"])
    page = sup.get(f"/orgs/{org_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "At least one valid credential" in page and "missing for" in page
    # Views: three by others this week, none counted for the members themselves or staff.
    for who in (None, people["company"], people["other"]):
        c = app.test_client() if who is None else login(app.test_client(), who)
        c.get(f"/orgs/{org_id}")
    sup.get(f"/orgs/{org_id}")
    login(app.test_client(), people["staff"]).get(f"/orgs/{org_id}")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.sum(ProfileView.count)).where(
            ProfileView.organization_id == org_id)) == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProfileView)) == 1
    make.capability(people["supplier"], segment="control")
    d = make.demand(people["company"])
    page = sup.get(f"/orgs/{org_id}").get_data(as_text=True)
    assert d.title in page
    # Others never see the checklist or the counts.
    assert "At least one valid credential" not in login(app.test_client(), people["company"]).get(
        f"/orgs/{org_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)


# -- logos -------------------------------------------------------------------------------------
def _png(size=(40, 30), color=(200, 30, 30)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def _upload(client, org_id, data: bytes, name="logo.png"):
    import io

    return client.post(f"/orgs/{org_id}/edit", data={
        "kind": "enterprise", "profile_visibility": "public", "size_band": "",
        "logo": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_logo_is_reencoded_resized_and_served_with_rights(app, make, login, people, tmp_path):
    import io

    from PIL import Image

    org_id = people["supplier"].organization_id
    sup = login(app.test_client(), people["supplier"])
    buf = io.BytesIO()
    Image.new("RGB", (1200, 600), (10, 120, 200)).save(buf, format="JPEG")
    assert _upload(sup, org_id, buf.getvalue(), "logo.jpg").status_code == 302
    with app.app_context():
        key = db.session.get(Organization, org_id).logo_key
    assert key and key.endswith(".png") and "logo" not in key
    resp = app.test_client().get(f"/orgs/{org_id}/logo")
    body = resp.get_data()
    resp.close()
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    img = Image.open(io.BytesIO(body))
    assert img.format == "PNG" and max(img.size) == 256
    # The file sits under UPLOAD_DIR, outside static/.
    from board.services import logos

    with app.app_context():
        assert logos.path_of(key).is_file()
        assert "static" not in str(logos.path_of(key))
    # A members-only profile's logo is not served to anonymous visitors.
    set_profile(app, org_id, profile_visibility="members")
    assert app.test_client().get(f"/orgs/{org_id}/logo").status_code == 404


def test_non_image_refused(app, login, people):
    org_id = people["supplier"].organization_id
    sup = login(app.test_client(), people["supplier"])
    resp = _upload(sup, org_id, b"<html><script>alert(1)</script></html>", "logo.png")
    assert resp.status_code == 422
    assert "PNG" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Organization, org_id).logo_key is None


def test_trailing_script_is_not_kept(app, login, people):
    org_id = people["supplier"].organization_id
    sup = login(app.test_client(), people["supplier"])
    data = _png() + b"<script>alert(document.cookie)</script>"
    resp = _upload(sup, org_id, data)
    if resp.status_code == 302:  # accepted: only the re-encoded pixels were kept
        resp = app.test_client().get(f"/orgs/{org_id}/logo")
        served = resp.get_data()
        resp.close()
        assert b"<script" not in served and served.startswith(b"\x89PNG")
    else:
        assert resp.status_code == 422


def test_oversize_refused(make_app, tmp_path, login):
    import os

    from board.services import logos
    from board.services.errors import Invalid
    from tests.factories import Factory

    # A small limit here: the test client spools large bodies to files it never closes.
    app = make_app(UPLOAD_DIR=str(tmp_path / "up"), LOGO_MAX_BYTES=100_000)
    supplier = Factory(app).user(Role.SUPPLIER)
    sup = login(app.test_client(), supplier)
    resp = _upload(sup, supplier.organization_id, _png() + os.urandom(100_000))
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.get(Organization, supplier.organization_id).logo_key is None
    # The check itself, at the real limit of 2 MB.
    with make_app(UPLOAD_DIR=str(tmp_path / "real")).app_context():
        with pytest.raises(Invalid) as exc:
            logos.reencode(_png() + b"0" * (2 * 1024 * 1024))
        assert exc.value.field == "logo" and "2 MB" in str(exc.value.message)
        assert logos.reencode(_png() + b"0" * 1000).startswith(b"\x89PNG")


def test_decompression_bomb_refused(app, login, people):
    import io

    from PIL import Image

    org_id = people["supplier"].organization_id
    sup = login(app.test_client(), people["supplier"])
    buf = io.BytesIO()
    Image.new("1", (20000, 20000), 0).save(buf, format="PNG", optimize=True)  # 400 Mpx, small file
    assert len(buf.getvalue()) < 2 * 1024 * 1024
    resp = _upload(sup, org_id, buf.getvalue())
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.get(Organization, org_id).logo_key is None


# -- 7. export ------------------------------------------------------------------------------------
def test_export_organizations_command(app, make, login, people, tmp_path):
    import csv

    org_id = people["supplier"].organization_id
    set_profile(app, org_id, name_en="=HYPERLINK(\"http://x\")", district="丰台区")
    add_credential(app, org_id, CredentialType.CRCC, checked_at=dt.datetime.now(dt.UTC))
    add_credential(app, org_id, CredentialType.IRIS, valid_until=PAST)
    login(app.test_client(), people["staff"]).post(f"/orgs/{org_id}/alliance", data={"member": "1"})
    out = tmp_path / "orgs.csv"
    result = app.test_cli_runner().invoke(args=["export", "organizations", "--format", "csv",
                                                "--lang", "en", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    row = next(r for r in rows if r["District"] == "丰台区")
    assert row["English name"].startswith("'=")  # a formula stays text
    assert "CRCC" in row["Credentials"] and "Verified by the park" in row["Credentials"]
    assert "IRIS" in row["Credentials"] and "expired" in row["Credentials"]
    assert row["Alliance member"] == "yes" and row["References"] == "0"
    xlsx = tmp_path / "orgs.xlsx"
    result = app.test_cli_runner().invoke(args=["export", "organizations", "--output", str(xlsx)])
    assert result.exit_code == 0 and xlsx.stat().st_size > 0


def test_staff_download_from_the_directory(app, login, people):
    staff = login(app.test_client(), people["staff"])
    page = staff.get("/directory").get_data(as_text=True)
    assert "/admin/exports/download?kind=organizations" in page
    resp = staff.get("/admin/exports/download?kind=organizations&format=csv")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    resp.close()
    company = login(app.test_client(), people["company"])
    assert "/admin/exports/download" not in company.get("/directory").get_data(as_text=True)
    assert company.get("/admin/exports/download?kind=organizations&format=csv").status_code == 403


# -- 8. the seed ------------------------------------------------------------------------------------
def test_seeded_profiles_say_where_each_fact_comes_from(app):
    from board.models import Reference
    from board.services import matches, seeding

    with app.app_context():
        seeding.load_event()
        matches.rematch_all()
        db.session.commit()
        assert seeding.load_profiles() == 0  # loading again adds nothing
        real = db.session.scalar(sa.select(Organization).where(Organization.name == "交控科技"))
        example = db.session.scalar(sa.select(Organization).where(Organization.name == "示例供给方戊"))
        # Real firms: only what the report states; no credential or reference made up for them.
        assert set(real.fact_sources.values()) == {"article"}
        for org in db.session.scalars(sa.select(Organization).where(Organization.is_illustrative.is_(False))):
            assert not directory.credentials_of([org.id])[org.id], org.name
            assert not db.session.scalar(sa.select(sa.func.count()).select_from(Reference)
                                         .where(Reference.organization_id == org.id))
        creds = directory.credentials_of([example.id])[example.id]
        assert creds and all(c.is_illustrative and c.checked_at is None for c in creds)
        real_id, example_id = real.id, example.id
    page = app.test_client().get(f"/orgs/{real_id}").get_data(as_text=True)
    assert "来自活动报道" in page and "交控科技" in page
    page = app.test_client().get(f"/orgs/{example_id}").get_data(as_text=True)
    assert "示例" in page and "SIL 4" in page and "已过期" in page  # its CRCC has expired
    # The founders of the alliance are marked members, as the report says.
    with app.test_request_context():
        names = {o.name for o in directory.find(None, directory.Filters(alliance=True)).page.items}
    assert names == {"北京中关村轨道交通产业发展有限公司", "北京市基础设施投资有限公司", "中关村发展集团"}


def test_seeded_directory_found_in_english(app):
    from board.services import matches, seeding

    with app.app_context():
        seeding.load_event()
        matches.rematch_all()
        db.session.commit()
    with app.test_request_context():
        found = [o.name for o in directory.find(None, directory.Filters(q="shield tunnelling")).page.items]
        assert "示例供给方丙" in found
        held = [o.name for o in directory.find(None, directory.Filters(credential="en5012x")).page.items]
        assert held == ["示例供给方戊"]
        assert directory.find(None, directory.Filters(credential="crcc")).page.total == 1  # 丁; 戊's expired


def test_demand_page_links_to_its_posters_profile_unless_anonymous(app, make, login, people):
    company = people["company"]
    set_profile(app, company.organization_id, profile_visibility="public")
    public = make.demand(company)
    anonymous = make.demand(company, visibility="anonymous")
    link = f'href="/orgs/{company.organization_id}"'
    for client in (app.test_client(), login(app.test_client(), people["supplier"]),
                   login(app.test_client(), people["staff"]), login(app.test_client(), company)):
        assert link in client.get(f"/demands/{public.id}").get_data(as_text=True)
        assert link not in client.get(f"/demands/{anonymous.id}").get_data(as_text=True)
    # A profile visitors may not open is not linked either.
    set_profile(app, company.organization_id, profile_visibility="staff")
    assert link not in app.test_client().get(f"/demands/{public.id}").get_data(as_text=True)


def test_merging_a_duplicate_moves_its_directory_facts(app, make, people):
    from board.models import Bookmark, Reference, User
    from board.services import organizations

    keep = people["supplier"].organization_id
    dup = make.user(Role.SUPPLIER).organization_id
    add_credential(app, dup, CredentialType.IRIS)
    set_profile(app, dup, segments=["control", "design"])
    with app.app_context():
        db.session.add_all([Reference(organization_id=dup, project="重复机构的业绩"),
                            Bookmark(organization_id=people["company"].organization_id, target_id=dup),
                            Bookmark(organization_id=people["company"].organization_id, target_id=keep),
                            OrgNote(target_id=dup, organization_id=people["company"].organization_id, body="记一笔")])
        db.session.commit()
        staff = db.session.get(User, people["staff"].id)
        organizations.merge(staff, db.session.get(Organization, dup), db.session.get(Organization, keep))
        db.session.commit()
        assert [c.type for c in directory.credentials_of([keep])[keep]] == [CredentialType.IRIS]
        assert [r.project for r in directory.references_of([keep])[keep]] == ["重复机构的业绩"]
        assert {s.code for s in directory.segments_of([keep])[keep]} == {"control", "design"}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Bookmark)) == 1
        assert db.session.scalar(sa.select(OrgNote.target_id)) == keep


@pytest.mark.parametrize("q", ["%", "_", "%%__", "？！", "'; DROP TABLE organization; --", "ｑ" * 300])
def test_odd_queries_answer_normally(app, people, q):
    resp = app.test_client().get("/directory", query_string={"q": q, "page": "999999", "district": "x" * 80})
    assert resp.status_code == 200


def test_a_lexicon_edit_reaches_the_profiles_own_text(app, make, login, people):
    """A concept added by staff finds a profile by its description in the other language once
    the rematch it queues has run, as it finds capabilities."""
    from board.services import jobs, lexicon_admin

    org_id = people["supplier"].organization_id
    set_profile(app, org_id, description="We build the zorbatron for depots.")
    client = app.test_client()
    assert f"/orgs/{org_id}\"" not in client.get("/directory?q=佐巴创装置").get_data(as_text=True)
    with app.app_context():
        staff = db.session.get(type(people["staff"]), people["staff"].id)
        lexicon_admin.add_concept(staff, {"key": "zorbatron_test", "label_zh": "佐巴创装置",
                                          "label_en": "zorbatron", "segments": [], "themes": []})
        db.session.commit()
        jobs.work(burst=True)
    assert f"/orgs/{org_id}\"" in client.get("/directory?q=佐巴创装置").get_data(as_text=True)
