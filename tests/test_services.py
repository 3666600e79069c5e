"""Services without HTTP: demand life cycle rules and stored matches kept fresh."""

import pytest

from board.extensions import db
from board.models import (
    Capability,
    Demand,
    DemandStatus,
    Match,
    MatchKey,
    MatchStatus,
    Role,
    User,
)
from board.services import capabilities, demands, matches
from board.services.errors import Invalid

PSD = {"title": "站台门维保", "description": "站台门（屏蔽门）改造、维护与维保服务。", "keywords": "站台门",
       "segment": "equipment", "themes": []}


def test_demand_life_cycle_rules(ctx, make):
    company = db.session.get(User, make.user(Role.COMPANY).id)
    d = demands.create(company, dict(PSD, visibility="public"))
    with pytest.raises(Invalid):
        demands.publish(company, d)  # a draft must be submitted first
    demands.submit(company, d)
    with pytest.raises(Invalid):
        demands.submit(company, d)
    demands.return_to_poster(company, d, "补充指标")
    assert d.status == DemandStatus.DRAFT and d.return_reason == "补充指标"
    demands.submit(company, d)
    demands.publish(company, d)
    assert d.status == DemandStatus.PUBLISHED and d.return_reason is None
    demands.close(company, d, "已找到合作方")
    with pytest.raises(Invalid):
        demands.update(company, d, dict(PSD, visibility="public"))


def test_matches_respect_threshold_and_top_k(make_app):
    app = make_app(MATCH_TOP_K=2, MATCH_THRESHOLD=1)
    from tests.factories import Factory

    make = Factory(app)
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    for title in ("站台门改造", "站台门维保服务", "屏蔽门系统改造"):
        make.capability(supplier, title=title, description=f"{title}，覆盖既有线路。", keywords="站台门")
    d = make.demand(company)
    with app.app_context():
        assert db.session.query(Match).filter_by(demand_id=d.id).count() == 2
    app.config["MATCH_THRESHOLD"] = 100
    with app.app_context():
        matches.refresh_demand(db.session.get(Demand, d.id))
        db.session.commit()
        assert db.session.query(Match).filter_by(demand_id=d.id).count() == 0


def test_saving_a_capability_rescores_only_against_demands(ctx, make):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    cap = make.capability(supplier)
    m = db.session.query(Match).filter_by(demand_id=d.id, capability_id=cap.id).one()
    staff = db.session.get(User, make.user(Role.STAFF).id)
    matches.review(m.id, MatchStatus.CONFIRMED, staff)
    # The capability changes subject: the reviewed match stays, with its new (zero) score.
    c = db.session.get(Capability, cap.id)
    capabilities.update(db.session.get(User, supplier.id), c,
                        dict(PSD, title="园区食堂餐饮", description="团餐配送服务", keywords="餐饮", segment=None))
    m = db.session.get(Match, m.id)
    assert m.status == MatchStatus.CONFIRMED and m.score == 0


def test_closed_demands_leave_the_index_but_keep_their_matches(ctx, make):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    make.capability(supplier)
    d = make.demand(company)
    assert db.session.query(MatchKey).filter_by(side="d", record_id=d.id).count() > 0
    demands.close(db.session.get(User, company.id), db.session.get(Demand, d.id), "done")
    db.session.commit()
    assert db.session.query(MatchKey).filter_by(side="d", record_id=d.id).count() == 0
    assert db.session.query(Match).filter_by(demand_id=d.id).count() == 1
    # A new capability is not matched against the closed demand.
    make.capability(make.user(Role.SUPPLIER), title="站台门维保二")
    assert db.session.query(Match).filter_by(demand_id=d.id).count() == 1


def test_deleting_a_capability_lets_the_next_one_in(make_app):
    app = make_app(MATCH_TOP_K=1, MATCH_THRESHOLD=1)
    from tests.factories import Factory

    make = Factory(app)
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    best = make.capability(supplier, title="站台门改造与维保", description="站台门改造与维保，屏蔽门系统。",
                           keywords="站台门、屏蔽门")
    second = make.capability(supplier, title="屏蔽门配件", description="提供屏蔽门配件。", keywords="屏蔽门",
                             segment="operation")
    d = make.demand(company)
    with app.app_context():
        assert [m.capability_id for m in db.session.query(Match).filter_by(demand_id=d.id)] == [best.id]
        capabilities.delete(db.session.get(User, supplier.id), db.session.get(Capability, best.id))
        db.session.commit()
        assert [m.capability_id for m in db.session.query(Match).filter_by(demand_id=d.id)] == [second.id]


def test_rematch_all_rebuilds_index_and_matches(ctx, make):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    make.capability(supplier)
    make.demand(company)
    before = {(m.demand_id, m.capability_id, m.score) for m in db.session.query(Match)}
    db.session.query(Match).delete()
    db.session.query(MatchKey).delete()
    result = matches.rematch_all()
    assert result == {"capabilities": 1, "demands": 1, "processes": 1}
    assert {(m.demand_id, m.capability_id, m.score) for m in db.session.query(Match)} == before
    assert db.session.query(MatchKey).count() > 0


def test_incremental_refreshes_agree_with_a_full_rematch(ctx, make, tmp_path):
    """Saving records one by one leaves the same matches as recomputing everything."""
    from board.services import importing, seeding

    seeding.load_event()
    matches.rematch_all()
    db.session.commit()
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "kind,ref,organization,title,description,keywords,segment\n"
        "capability,X1,甲公司,CBTC信号系统集成,基于通信的列车控制系统集成与联调,CBTC,control\n"
        "capability,X2,乙公司,Platform screen doors,Retrofit of platform screen doors,PSD,equipment\n"
        "capability,X3,丙公司,盾构施工监测,盾构掘进沉降监测与预警,盾构,construction\n"
        "demand,XD1,丁公司,屏蔽门系统改造,既有线屏蔽门改造,站台门,equipment\n",
        encoding="utf-8",
    )
    importing.import_file(rows)
    db.session.commit()
    snapshot = lambda: sorted(  # noqa: E731
        (m.demand_id, m.capability_id, m.score) for m in db.session.query(Match)
    )
    incremental = snapshot()
    matches.rematch_all()
    db.session.commit()
    assert snapshot() == incremental
    assert len(incremental) > 10


def test_saving_capabilities_into_full_demands_agrees_with_a_full_rematch(ctx, make):
    """With K = 2 most demands are full: a new capability enters one only above its second
    best, and the suggestions kept are those a full rematch keeps."""
    from flask import current_app

    from board.models import Capability
    from board.services import seeding

    current_app.config["MATCH_TOP_K"] = 2
    seeding.load_event()
    matches.rematch_all()
    db.session.commit()
    org = db.session.query(Capability).first().organization
    texts = [("CBTC信号系统集成", "基于通信的列车控制系统集成与联调"),
             ("屏蔽门维护", "站台门（屏蔽门）改造与日常维护"),
             ("盾构沉降监测", "盾构掘进沉降监测与预警平台"),
             ("列车门控制器", "地铁车门控制器与站台门联动"),
             ("能耗管理平台", "轨道交通车站能耗监测与节能管理")]
    for i, (title, description) in enumerate(texts):
        cap = Capability(ref=f"K{i}", organization=org, title=title, description=description)
        db.session.add(cap)
        db.session.flush()
        matches.refresh_capability(cap)
        db.session.commit()
    snapshot = lambda: sorted(  # noqa: E731
        (m.demand_id, m.capability_id, round(m.score, 6)) for m in db.session.query(Match)
    )
    incremental = snapshot()
    per_demand = {}
    for d, _, _ in incremental:
        per_demand[d] = per_demand.get(d, 0) + 1
    assert max(per_demand.values()) == 2 and len(incremental) >= 10
    matches.rematch_all()
    db.session.commit()
    assert snapshot() == incremental


def test_a_demand_edited_after_its_analysis_was_kept_is_scored_by_its_new_text(ctx, make):
    """Workers keep demand analyses between saves; an edited demand is read again."""
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    make.capability(supplier)  # keeps the demand's analysis (platform screen doors)
    demand = db.session.get(Demand, d.id)
    demand.title, demand.description = "盾构掘进沉降监测", "盾构区间施工沉降自动化监测与预警"
    demand.keywords, demand.segment_code = "盾构、沉降监测", "construction"
    db.session.flush()
    matches.refresh_demand(demand)
    db.session.commit()
    tunnel = make.capability(supplier, title="盾构施工沉降监测", keywords="盾构、沉降监测",
                             description="为盾构区间提供沉降自动化监测与预警平台。",
                             segment="construction")
    assert db.session.query(Match).filter_by(demand_id=d.id, capability_id=tunnel.id).one()


def test_recent_forgets_the_least_recently_used_first():
    from board.matching.recent import Recent

    r = Recent(2)
    r.put("a", 1)
    r.put("b", 2)
    assert r.get("a") == 1  # "b" is now the oldest
    r.put("c", 3)
    assert (r.get("a"), r.get("b"), r.get("c"), len(r)) == (1, None, 3, 2)
    none = Recent(0)
    none.put("a", 1)
    assert none.get("a") is None


ON_PROCESSES = r"""
import json, sys
from board import create_app
from board.extensions import db
from board.models import Capability, Demand, Match, MatchKey
from board.services import forked, matches, seeding

n = int(sys.argv[2])
forked.MIN_ITEMS = 2 if n > 1 else 10**9  # the seed's records are analysed on n processes
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1], "SECRET_KEY": "x" * 40,
                  "THROTTLE_ENABLED": False})
with app.app_context():
    db.create_all()
    seeding.load_taxonomy()
    seeding.load_event()
    db.session.commit()
    # Analysed and filed as after an import, then ranked again in full.
    matches.refresh_many(db.session.query(Demand).all(), db.session.query(Capability).all())
    db.session.commit()
    result = matches.rematch_all(processes=n)
    db.session.commit()
    print(json.dumps({
        "processes": result["processes"],
        "matches": sorted((m.demand_id, m.capability_id, m.score, json.dumps(m.reasons, sort_keys=True))
                          for m in db.session.query(Match)),
        "keys": sorted((k.side, k.key, k.record_id, k.weight) for k in db.session.query(MatchKey)),
        "analyses": sorted((c.id, json.dumps(c.analysis, sort_keys=True))
                           for c in db.session.query(Capability)),
    }))
"""


def test_analyses_and_rankings_on_two_processes_are_those_of_one(tmp_path):
    """Run in fresh interpreters: a process with other threads (as pytest may have) works on
    its own and would not exercise the forked processes."""
    import json
    import subprocess
    import sys

    out = {}
    for n in (1, 2):
        done = subprocess.run([sys.executable, "-c", ON_PROCESSES, str(tmp_path / f"{n}.db"), str(n)],
                              capture_output=True, text=True, timeout=300, check=True)
        out[n] = json.loads(done.stdout.strip().splitlines()[-1])
    assert out[1]["processes"] == 1 and out[2]["processes"] == 2
    for part in ("matches", "keys", "analyses"):
        assert out[2][part] == out[1][part], part
    assert len(out[1]["matches"]) > 10
