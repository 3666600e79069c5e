"""The industry map (segment x theme and segment x sub-field), the gap list, the strengths
list, the staff capabilities list, and organisation tags."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import (
    AuditEntry,
    Demand,
    Match,
    MatchStatus,
    OrgTag,
    Role,
    User,
    organization_tag,
)
from board.services import industry_map, matches, organizations

PSD_DEMAND = {"title": "站台门状态监测", "description": "监测站台门开关状态与故障。", "keywords": "站台门"}
SHIELD = {"title": "盾构机刀具磨损监测", "description": "盾构机掘进时刀具磨损的在线监测。", "keywords": "盾构机",
          "segment": "construction", "themes": []}


@pytest.fixture
def world(app, make):
    """Four published demands, one submitted, one draft and one closed; four capabilities
    (one with no segment); confirmed matches on two published demands and on the submitted one."""
    co, s1, s2 = make.user(Role.COMPANY), make.user(Role.SUPPLIER), make.user(Role.SUPPLIER)
    staff = make.user(Role.STAFF, display_name="园区小张")
    d1 = make.demand(co, themes=["intelligent_equipment"])
    d2 = make.demand(co, themes=["intelligent_equipment", "information"], **PSD_DEMAND)
    d3 = make.demand(co, title="信号系统维护", description="城轨信号系统的日常维护。", keywords="信号系统",
                     segment="control", themes=["information"])
    d4 = make.demand(co, **SHIELD)
    submitted = make.demand(co, status="submitted", themes=["intelligent_equipment"])
    make.demand(co, status="draft", themes=["intelligent_equipment"])
    make.demand(co, status="closed", themes=["intelligent_equipment"])
    c1 = make.capability(s1, themes=["intelligent_equipment"])
    c2 = make.capability(s1, title="站台门维保", description="站台门日常维护。", keywords="站台门", themes=[])
    c3 = make.capability(s2, title="信号系统集成", description="城轨信号系统联动调试。", keywords="信号系统",
                         segment="control", themes=["information"])
    c4 = make.capability(s2, title="储能系统", description="有轨电车储能装置。", keywords="储能", segment="",
                         themes=["low_carbon"])
    with app.app_context():
        user = db.session.get(User, staff.id)

        def match(d, c):
            m = db.session.scalar(sa.select(Match).where(Match.demand_id == d.id, Match.capability_id == c.id))
            assert m is not None, (d.title, c.title)
            return m.id

        for d, c in ((d1, c1), (d2, c2), (submitted, c1)):
            matches.review(match(d, c), MatchStatus.CONFIRMED, user)
        db.session.commit()
        ids = {"d3_c3": match(d3, c3)}
    return {"staff": staff, "company": co, "s1": s1, "s2": s2, "d": [d1, d2, d3, d4],
            "submitted": submitted, "c": [c1, c2, c3, c4], **ids}


def cells(app, round_id=None):
    with app.test_request_context():
        return {(r["segment"], r["theme"]): r for r in industry_map.map_rows(round_id)}


def test_map_counts_are_exact(app, world):
    rows = cells(app)
    ie, info, lc = "intelligent_equipment", "information", "low_carbon"

    def n(seg, theme):
        r = rows[(seg, theme)]
        return r["demands"], r["capabilities"], r["confirmed_matches"]

    # Published demands only; capabilities all; confirmed matches of published demands, by the
    # demand's segment and themes.
    assert n("equipment", ie) == (2, 1, 2)
    assert n("equipment", info) == (1, 0, 1)
    assert n("equipment", lc) == (0, 0, 0)
    assert n("control", info) == (1, 1, 0)
    assert n("control", ie) == (0, 0, 0)
    assert n("construction", ie) == (0, 0, 0)
    assert n("-", lc) == (0, 1, 0)  # the capability with no segment
    # Totals count a record once, whatever its number of themes (or none).
    assert n("equipment", "") == (2, 2, 2)
    assert n("control", "") == (1, 1, 0)
    assert n("construction", "") == (1, 0, 0)
    assert n("design", "") == (0, 0, 0)
    assert n("-", "") == (0, 1, 0)
    assert n("", ie) == (2, 1, 2)
    assert n("", info) == (2, 1, 1)
    assert n("", lc) == (0, 1, 0)
    assert n("", "") == (4, 4, 2)
    # The rows are plain values with the documented columns.
    assert set(rows[("equipment", ie)]) == {"segment", "segment_name", "theme", "theme_name", "demands",
                                            "capabilities", "confirmed_matches"}
    assert rows[("equipment", ie)]["segment_name"] == "装备研制"
    assert len(rows) == 6 * 3 + 6 + 3 + 1  # five segments and "not given", three themes, totals


def test_map_by_round(app, world):
    with app.app_context():
        from board.models import Round

        r = Round(name="第二轮", name_en="Round two")
        db.session.add(r)
        db.session.flush()
        db.session.get(Demand, world["d"][2].id).round_id = r.id
        db.session.commit()
        round_id = r.id
    rows = cells(app, round_id)
    assert rows[("", "")]["demands"] == 1 and rows[("", "")]["confirmed_matches"] == 0
    assert rows[("", "")]["capabilities"] == 4  # capabilities belong to no round


def test_map_page_links_each_number_to_its_records(app, world, login):
    staff = login(app.test_client(), world["staff"])
    html = staff.get("/admin/map").get_data(as_text=True)
    demands = "/?segment=equipment&amp;theme=intelligent_equipment"
    caps = "/admin/capabilities?segment=equipment&amp;theme=intelligent_equipment"
    assert f'href="{demands}"><span class="cell-label">需求</span> <span class="cell-num">2</span></a>' in html
    assert f'href="{caps}"><span class="cell-label">能力</span> <span class="cell-num">1</span></a>' in html
    assert "status=confirmed" in html and "heat-4" in html
    # The demands link opens the board filtered to exactly those two.
    board = app.test_client().get(demands.replace("&amp;", "&")).get_data(as_text=True)
    assert board.count('class="card demand-card"') == 2
    listed = staff.get(caps.replace("&amp;", "&")).get_data(as_text=True)
    assert world["c"][0].title in listed and world["c"][1].title not in listed
    confirmed = staff.get("/admin/matches?segment=equipment&theme=intelligent_equipment&status=confirmed"
                          "&band=all&stage=published").get_data(as_text=True)
    assert confirmed.count('class="card queue-row') == 2
    # The English page names segments and themes in English.
    staff.post("/lang", data={"lang": "en", "next": "/"})
    html = staff.get("/admin/map").get_data(as_text=True)
    assert "Equipment R&amp;D and manufacturing" in html and "Intelligent equipment" in html


def test_subfield_view_counts_records_under_their_top_level_concept(app, world, login):
    with app.test_request_context():
        sub = industry_map.subfield_matrix()
        rows = {r["concept"]: dict(zip(sub["codes"], r["cells"], strict=True)) for r in sub["rows"]}
        flat = {(r["concept"], r["segment"]): r for r in industry_map.subfield_rows()}
    # Platform screen doors file under station equipment; the shield machine under civil engineering.
    assert rows["station_equipment"]["equipment"]["demands"] == 2
    assert rows["station_equipment"]["equipment"]["capabilities"] == 2
    civil = rows["civil_engineering"]["construction"]
    assert (civil["demands"], civil["capabilities"]) == (1, 0)
    assert rows["signalling"]["control"]["demands"] == 1 and rows["signalling"]["control"]["capabilities"] == 1
    assert "shield_machine" not in rows and "platform_screen_door" not in rows  # not top level
    assert flat[("civil_engineering", "construction")]["concept_name"] == "土建"
    staff = login(app.test_client(), world["staff"])
    html = staff.get("/admin/map").get_data(as_text=True)
    assert "/admin/capabilities?concept=station_equipment&amp;segment=equipment" in html


def test_gap_list_names_the_missing_concepts(app, world, login):
    d1, d2, d3, d4 = world["d"]
    # d3's matches are made weak: it becomes a gap too, with its best score.
    c3 = world["c"][2]
    with app.app_context():
        db.session.execute(sa.update(Match).where(Match.demand_id == d3.id).values(
            score=sa.case((Match.capability_id == c3.id, 25.0), else_=20.0)))
        db.session.commit()
    with app.test_request_context():
        rows = {r["demand_id"]: r for r in industry_map.gap_rows()}
    assert set(rows) == {d3.id, d4.id}  # d1 and d2 have confirmed and strong matches
    shield = rows[d4.id]
    assert shield["best_score"] is None and shield["best_capability"] == ""
    # The most specific missing concept (刀具磨损, cutter wear); its broader ones are implied.
    assert shield["missing_concept_ids"] == "tool_wear"
    assert shield["missing_concepts"] == "刀具磨损"
    # Its integrator does not cover maintenance: that concept is what is missing.
    assert rows[d3.id]["best_score"] == 25.0
    assert rows[d3.id]["missing_concept_ids"] == "signalling_maintenance"
    assert rows[d3.id]["best_capability"] == c3.title
    assert list(rows) == [d4.id, d3.id]  # no match first, then the weakest
    staff = login(app.test_client(), world["staff"])
    html = staff.get("/admin/gaps").get_data(as_text=True)
    assert d4.title in html and "刀具磨损" in html and d1.title not in html
    assert c3.title in html  # d3's best (weak) match
    assert d4.title not in staff.get("/admin/gaps?segment=control").get_data(as_text=True)
    # A dismissed match does not meet a need; a confirmed one does, however weak.
    with app.app_context():
        user = db.session.get(User, world["staff"].id)
        matches.review(world["d3_c3"], MatchStatus.CONFIRMED, user)
        db.session.commit()
        ids = [r["demand_id"] for r in industry_map.gap_rows()]
        assert d3.id not in ids
        for m in db.session.scalars(sa.select(Match).where(Match.demand_id == d2.id)).all():
            if m.status != MatchStatus.DISMISSED:
                db.session.execute(sa.update(Match).where(Match.id == m.id).values(
                    status=MatchStatus.DISMISSED, dismiss_reason="测试"))
        db.session.commit()
        assert d2.id in [r["demand_id"] for r in industry_map.gap_rows()]


def test_strengths_are_ordered_by_density_then_strength(app, world, login):
    # The signalling integrator's match is made strong (the engine rates it "possible").
    with app.app_context():
        db.session.execute(sa.update(Match).where(Match.capability_id == world["c"][2].id)
                           .values(score=70.0))
        db.session.commit()
    with app.test_request_context():
        rows = industry_map.strength_rows(50)
    concepts = [r["concept"] for r in rows]
    # Two capabilities (of one supplier) name platform screen doors, and so station equipment.
    assert set(concepts[:2]) == {"platform_screen_door", "station_equipment"}
    psd = rows[concepts.index("platform_screen_door")]
    assert (psd["capabilities"], psd["organizations"]) == (2, 1)
    assert psd["confirmed_matches"] == 2 and psd["broader_name"] == "车站设备"
    # Station equipment's broader concept is the generic rail-transit setting: not named.
    assert rows[concepts.index("station_equipment")]["broader_name"] == ""
    # The whole list follows capabilities, then confirmed-or-strong matches, then the id.
    assert rows == sorted(rows, key=lambda r: (-r["capabilities"], -r["confirmed_or_strong"], r["concept"]))
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    # One capability each: signalling takes part in a strong match, energy storage in none.
    sig, storage = (rows[concepts.index(c)] for c in ("signalling", "energy_storage"))
    assert sig["capabilities"] == storage["capabilities"] == 1
    assert sig["confirmed_or_strong"] >= 1 and storage["confirmed_or_strong"] == 0
    assert concepts.index("signalling") < concepts.index("energy_storage")
    # Generic words and other industries' settings are not strengths.
    assert "system" not in concepts and "metro" not in concepts
    with app.test_request_context():
        assert [r["concept"] for r in industry_map.strength_rows(3)] == concepts[:3]
        only_control = [r["concept"] for r in industry_map.strength_rows(50, segment="control")]
    assert "signalling" in only_control and "platform_screen_door" not in only_control
    staff = login(app.test_client(), world["staff"])
    html = staff.get("/admin/strengths?n=10").get_data(as_text=True)
    assert "站台门" in html and "/admin/capabilities?concept=platform_screen_door" in html
    listed = staff.get("/admin/capabilities?concept=station_equipment").get_data(as_text=True)
    assert world["c"][0].title in listed and world["c"][1].title in listed and "信号系统集成" not in listed


def test_tags_set_unset_and_filter_with_audit(app, world, login):
    staff = login(app.test_client(), world["staff"])
    org = world["s1"].organization_id
    other = world["s2"].organization_id
    page = staff.get(f"/admin/organizations/{org}").get_data(as_text=True)
    assert "链长单位" in page and "招商目标" in page and 'aria-pressed="false"' in page
    resp = staff.post(f"/admin/organizations/{org}/tags", data={"tag": "chain_leader", "on": "1"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/organizations/{org}"
    # Twice (a second staff member at the same moment): one row, one audit entry, no error.
    resp = staff.post(f"/admin/organizations/{org}/tags", data={"tag": "chain_leader", "on": "1"},
                      follow_redirects=True)
    assert resp.status_code == 200 and "已经标记为“链长单位”" in resp.get_data(as_text=True)
    staff.post(f"/admin/organizations/{other}/tags", data={"tag": "investment_target", "on": "1"})
    with app.app_context():
        assert organizations.tags_of([org, other]) == {org: [OrgTag.CHAIN_LEADER],
                                                       other: [OrgTag.INVESTMENT_TARGET]}
        rows = db.session.execute(sa.select(organization_tag)).all()
        assert len(rows) == 2
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "organization")
                                     .order_by(AuditEntry.id)).all()
        assert [(e.action, e.object_id, e.before, e.after) for e in entries] == [
            ("organization.tag", org, {"tags": []}, {"tags": ["chain_leader"]}),
            ("organization.tag", other, {"tags": []}, {"tags": ["investment_target"]}),
        ]
        assert entries[0].actor_id == world["staff"].id
    listed = staff.get("/admin/organizations?tag=chain_leader").get_data(as_text=True)
    with app.app_context():
        from board.models import Organization

        names = {o.id: o.name for o in db.session.scalars(sa.select(Organization))}
    assert names[org] in listed and names[other] not in listed and "badge-tag" in listed
    listed = staff.get("/admin/organizations?tag=investment_target").get_data(as_text=True)
    assert names[other] in listed and names[org] not in listed
    assert names[org] in staff.get("/admin/organizations?tag=nonsense").get_data(as_text=True)
    assert 'aria-pressed="true"' in staff.get(f"/admin/organizations/{org}").get_data(as_text=True)
    # Off again.
    staff.post(f"/admin/organizations/{org}/tags", data={"tag": "chain_leader", "on": "0"})
    staff.post(f"/admin/organizations/{org}/tags", data={"tag": "chain_leader", "on": "0"})
    with app.app_context():
        assert organizations.tags_of([org]) == {org: []}
        untag = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "organization.untag")).all()
        assert [(e.before, e.after) for e in untag] == [({"tags": ["chain_leader"]}, {"tags": []})]
    assert names[org] not in staff.get("/admin/organizations?tag=chain_leader").get_data(as_text=True)
    # Bad input and other roles.
    assert staff.post(f"/admin/organizations/{org}/tags", data={"tag": "vip", "on": "1"}).status_code == 400
    assert staff.post(f"/admin/organizations/{org}/tags", data={"tag": "chain_leader"}).status_code == 400
    assert staff.post("/admin/organizations/2147483646/tags", data={"tag": "chain_leader", "on": "1"}).status_code == 404
    company = login(app.test_client(), world["company"])
    assert company.post(f"/admin/organizations/{org}/tags", data={"tag": "chain_leader", "on": "1"}).status_code == 403
    with app.app_context():
        with pytest.raises(organizations.Forbidden):
            organizations.set_tag(db.session.get(User, world["company"].id),
                                  organizations.get(org), OrgTag.CHAIN_LEADER, True)


def test_pages_render_in_both_languages(app, world, login):
    staff = login(app.test_client(), world["staff"])
    for lang, words in (("zh", ("产业图谱", "补短板清单", "锻长板清单", "匹配审核队列")),
                        ("en", ("Industry map", "Gaps to fill", "Strengths to extend", "Match review queue"))):
        staff.post("/lang", data={"lang": lang, "next": "/"})
        pages = [staff.get(u) for u in ("/admin/map", "/admin/gaps", "/admin/strengths", "/admin/matches",
                                        "/admin/capabilities")]
        assert all(p.status_code == 200 for p in pages)
        text = "".join(p.get_data(as_text=True) for p in pages)
        assert all(w in text for w in words), lang
    # Empty lists say so instead of failing.
    assert staff.get("/admin/gaps?segment=design").status_code == 200
    assert staff.get("/admin/capabilities?concept=nope&page=99").status_code == 200
