"""Strength bands: a match is strong, possible or weak by its score against an absolute floor
and against its demand's best; companies and suppliers see weak ones folded away, staff see
every band, and the review queue filters by the same rule."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from board.config import ConfigError, load
from board.extensions import db
from board.matching.bands import Bands
from board.models import Match, Role
from board.services import bands, review_queue

CAPS = [
    dict(title="站台门系统改造与维保", description="城轨站台门（屏蔽门）改造、维护与信号联动调试。",
         keywords="站台门、屏蔽门"),
    dict(title="Platform screen door maintenance", description="Maintenance of platform screen doors.",
         keywords="platform screen door"),
    dict(title="屏蔽门电源", description="地铁屏蔽门电源系统。", keywords="电源"),
]


def test_the_rule():
    rule = Bands()  # floor 35, strong 60, weak below 50 % of the best, strong from 75 % of it
    assert [rule.band(s, 90) for s in (90, 84, 30)] == ["strong", "strong", "weak"]
    assert rule.band(40, 96) == "weak"  # above the floor, but under half the demand's best
    assert rule.band(50, 96) == "possible"
    assert rule.band(62, 96) == "possible"  # strong on its own, far below the best
    assert rule.band(34, 34) == "weak"  # the floor holds even for the best match
    assert rule.band(70, None) == "strong"


@pytest.mark.parametrize("name,value", [("MATCH_WEAK_SHARE", "101"), ("MATCH_REVIEW_FLOOR", "-1")])
def test_band_settings_are_checked(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        load({"TESTING": True})


@pytest.fixture
def demand_with_three(app, make):
    """A demand with three likely partners: two real ones and a third scoring a third of the top."""
    company = make.user(Role.COMPANY)
    d = make.demand(company)
    suppliers = [make.user(Role.SUPPLIER) for _ in CAPS]
    caps = [make.capability(s, **fields) for s, fields in zip(suppliers, CAPS, strict=True)]
    with app.app_context():
        stored = {m.capability_id: m for m in db.session.scalars(sa.select(Match).where(Match.demand_id == d.id))}
        for cap, score in zip(caps, (90.0, 84.0, 30.0), strict=True):
            m = stored.get(cap.id) or Match(demand_id=d.id, capability_id=cap.id, reasons={})
            m.score = score
            db.session.add(m)
        db.session.commit()
    return {"company": company, "demand": d, "caps": caps, "suppliers": suppliers}


def _partner_titles(html: str) -> tuple[list[str], list[str]]:
    """Titles of the match cards shown openly, and of those folded under the weak disclosure."""
    head, _sep, folded = html.partition('<details class="weak-matches">')
    folded = folded.partition("</details>\n")[0] if folded else ""
    cards = r'<article class="card match[^"]*" id="match-\d+">.*?<h3>(.*?)</h3>'
    return re.findall(cards, head, re.S), re.findall(cards, folded, re.S)


def test_a_third_partner_scoring_a_third_of_the_top_is_not_shown_like_the_top_two(
        app, demand_with_three, login):
    client = login(app.test_client(), demand_with_three["company"])
    html = client.get(f"/company/demands/{demand_with_three['demand'].id}").get_data(as_text=True)
    shown, folded = _partner_titles(html)
    assert shown == [CAPS[0]["title"], CAPS[1]["title"]]
    assert folded == [CAPS[2]["title"]]
    assert html.count("band-strong") == 2 and "band-weak" in html


def test_staff_see_every_band_openly(app, make, demand_with_three, login):
    staff = login(app.test_client(), make.user(Role.STAFF))
    html = staff.get(f"/admin/demands/{demand_with_three['demand'].id}").get_data(as_text=True)
    assert 'class="weak-matches"' not in html
    for cap in CAPS:
        assert cap["title"] in html
    assert html.count("band-strong") == 2 and html.count("band-weak") == 1


def test_a_supplier_sees_a_demand_it_fits_weakly_folded_away(app, demand_with_three, login):
    strong_one, weak_one = demand_with_three["suppliers"][0], demand_with_three["suppliers"][2]
    title = demand_with_three["demand"].title
    html = login(app.test_client(), weak_one).get("/supplier/").get_data(as_text=True)
    head, _sep, folded = html.partition('<details class="weak-matches">')
    assert title in folded and title not in head.split("</header>", 1)[-1]
    html = login(app.test_client(), strong_one).get("/supplier/").get_data(as_text=True)
    assert 'class="weak-matches"' not in html and title in html and "band-strong" in html


def test_my_demands_lists_no_weak_partner(app, demand_with_three, login):
    html = login(app.test_client(), demand_with_three["company"]).get("/company/").get_data(as_text=True)
    assert CAPS[0]["title"] in html and CAPS[2]["title"] not in html


def test_the_queue_filters_by_the_same_rule(app, make, demand_with_three, login):
    with app.app_context():
        m = db.session.scalar(sa.select(Match).where(Match.demand_id == demand_with_three["demand"].id,
                                                     Match.score == 30.0))
        m.score = 40.0  # above the floor, under half of the best (90): weak by the relative rule
        db.session.commit()
        rule = bands.settings()
        best = bands.best_scores([m.demand_id])
        for band in ("strong", "possible", "weak"):
            page = review_queue.queue(review_queue.Filters.clean(band=band, status=""), 1, 500)
            assert page.items or band == "possible"
            for row in page.items:
                assert rule.band(row.score, best.get(row.demand_id) or bands.best_scores([row.demand_id]).get(row.demand_id)) == band
        weak_ids = {x.id for x in review_queue.queue(review_queue.Filters.clean(band="weak", status=""), 1, 500).items}
        default = {x.id for x in review_queue.queue(review_queue.Filters.clean(status=""), 1, 500).items}
        assert m.id in weak_ids and m.id not in default
    staff = login(app.test_client(), make.user(Role.STAFF))
    html = staff.get("/admin/matches?band=weak&status=").get_data(as_text=True)
    assert f'id="match-{m.id}"' in html and "band-weak" in html


def test_the_evaluation_counts_distractors_above_the_weak_band_by_the_same_rule():
    from board.matching import Doc, evaluate

    docs = [Doc(id=i, title=i) for i in ("d", "good", "bad1", "bad2")]
    evalset = evaluate.EvalSet(demands=docs[:1], capabilities=docs[1:],
                               judgments={"d": {"good": 2}}, distractors={"d": {"bad1", "bad2"}})
    # bad1 clears the floor but scores under half of the best; bad2 is a possible match.
    result = evaluate.measure("fake", evalset, lambda d: [("good", 96.0), ("bad2", 60.0), ("bad1", 40.0)],
                              bands=Bands())
    assert result.distractors_floor == 1 and result.distractors_top3 == 2


def test_eval_matching_reports_both_splits_with_every_figure(app):
    from board.config import PROJECT_ROOT

    sets = [str(PROJECT_ROOT / "tests" / "eval" / f"generalisation_{s}.json") for s in ("tune", "heldout")]
    out = app.test_cli_runner().invoke(args=["eval-matching", *sets])
    assert out.exit_code == 0, out.output
    for name in ("generalisation_tune.json: 31 demands", "generalisation_heldout.json: 14 demands",
                 "precision@3", "recall@5", "missing from top 10", "distractors above the weak band"):
        assert name in out.output, out.output
    summary = out.output.split("\n\n")[-1].splitlines()
    assert [line.split()[0] for line in summary[1:]] == ["generalisation_tune.json", "generalisation_heldout.json"]
