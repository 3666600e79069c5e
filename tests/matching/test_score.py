"""Scoring properties: what a user would notice in the ranking."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from board.matching import Doc


def doc(i, title, description="", keywords=(), segment=None, themes=()):
    return Doc(i, title, description, tuple(keywords), segment, frozenset(themes))


def score(engine, d, c):
    return engine.score(engine.analyze(d), engine.analyze(c))


def test_cross_language_match_names_the_shared_concept(engine):
    d = doc(1, "既有线站台门改造", "对既有线路屏蔽门系统进行改造")
    c = doc(2, "Platform screen doors: retrofit and maintenance",
            "We retrofit platform screen doors on metro lines.")
    s = score(engine, d, c)
    assert s.score > 40
    top = s.reasons["concepts"][0]
    assert top["id"] == "platform_screen_door"
    assert top["zh"] == "站台门" and top["en"] == "platform screen door"
    assert "title" in top["demand_fields"] and "title" in top["capability_fields"]
    assert "Platform screen doors" in top["capability_terms"]


def test_abbreviation_full_width_and_traditional_forms_meet(engine):
    d = doc(1, "ＣＢＴＣ信号系统升级", "既有线升级为ＣＢＴＣ")
    c = doc(2, "基於通信的列車控制系統集成", "提供基於通信的列車控制系統集成服務")
    s = score(engine, d, c)
    assert s.score > 40
    assert s.reasons["concepts"][0]["id"] == "cbtc"
    assert "ＣＢＴＣ" in s.reasons["concepts"][0]["demand_terms"]


def test_typos_still_meet(engine):
    d = doc(1, "Computer-based interlocking upgrade", "Replace relay interlocking.")
    c = doc(2, "Interlokcing software", "Computer based interlockng for metro lines.")
    assert score(engine, d, c).score > 0


def test_specific_concept_counts_more_than_generic_words(engine):
    d = doc(1, "智能平台 CBTC 信号系统", "系统 技术 服务")
    generic = doc(2, "智能平台", "系统 技术 服务 平台 智能")
    specific = doc(3, "CBTC", "CBTC")
    assert score(engine, d, specific).score > score(engine, d, generic).score
    assert score(engine, d, generic).score == 0  # generic words alone make no match


def test_exact_concept_beats_a_broader_link(engine, lexicon):
    d = doc(1, "CBTC系统改造")
    exact = doc(2, "CBTC系统集成")
    sibling_ids = [c.id for c in lexicon.concepts.values()
                   if c.broader == lexicon.concepts["cbtc"].broader and c.id != "cbtc"]
    sibling = lexicon.concepts[sibling_ids[0]]
    broader = doc(3, f"{sibling.label_zh}系统集成")
    s_exact, s_broad = score(engine, d, exact), score(engine, d, broader)
    assert s_exact.score > s_broad.score > 0
    assert any(c["link"] == "broader" for c in s_broad.reasons["concepts"])


def test_segment_and_theme_agreement_is_a_small_bonus_not_a_filter(engine):
    d = doc(1, "站台门改造", segment="equipment", themes=["intelligent_equipment"])
    same = doc(2, "站台门维保", segment="equipment", themes=["intelligent_equipment"])
    other = doc(3, "站台门维保", segment="operation")
    s_same, s_other = score(engine, d, same), score(engine, d, other)
    assert s_same.score > s_other.score > 0
    assert s_same.score - s_other.score <= 10
    assert s_same.reasons["segment"] == "equipment"
    assert s_same.reasons["themes"] == ["intelligent_equipment"]


def test_capability_for_another_industry_counts_less(engine):
    d = doc(1, "地铁车站客流监测", "换乘站客流统计与预警")
    rail = doc(2, "地铁客流统计", "车站客流统计与预警")
    mall = doc(3, "商场客流统计", "商场出入口客流统计与预警")
    s_rail, s_mall = score(engine, d, rail), score(engine, d, mall)
    assert s_rail.score > s_mall.score
    assert [x["id"] for x in s_mall.reasons["other_setting"]] == ["mall"]


def test_ranking_is_deterministic_with_stable_ties(engine):
    d = engine.analyze(doc(1, "站台门改造"))
    caps = [(i, engine.analyze(doc(i, "站台门维保"))) for i in (5, 3, 9)]
    first = [r.id for r in engine.rank(d, caps, top_k=3)]
    assert first == [3, 5, 9]
    assert [r.id for r in engine.rank(d, list(reversed(caps)), top_k=3)] == first


SPECIFIC_TERMS = ["CBTC", "屏蔽门", "盾构", "再生制动", "BIM", "轨道巡检机器人", "受电弓", "转向架",
                  "regenerative braking", "platform screen doors", "pantograph", "bogie"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base_d=st.sampled_from(["地铁车站改造", "Metro line upgrade", "信号系统 维护", "隧道施工监测"]),
    base_c=st.sampled_from(["车站设备维保", "Maintenance services", "隧道 监测 服务", "信号系统集成"]),
    extra=st.sampled_from(SPECIFIC_TERMS),
)
def test_adding_a_shared_specific_concept_never_lowers_the_score(engine, base_d, base_c, extra):
    before = score(engine, doc(1, base_d), doc(2, base_c)).score
    after = score(engine, doc(1, f"{base_d} ; {extra}"), doc(2, f"{base_c} ; {extra}")).score
    assert after >= before
    assert after > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300), st.text(max_size=300), st.lists(st.text(max_size=20), max_size=4))
def test_any_unicode_scores_within_bounds(engine, a, b, kws):
    s = score(engine, doc(1, a, b, kws), doc(2, b, a, kws))
    assert 0 <= s.score <= 100


def test_empty_texts_score_zero(engine):
    assert score(engine, doc(1, ""), doc(2, "")).score == 0


def test_a_100_kb_text_is_handled(engine):
    big = ("站台门改造 CBTC 信号系统 platform screen doors, retrofit; 盾构施工。" * 2200)[:100_000]
    s = score(engine, doc(1, "站台门改造", big), doc(2, "Platform screen doors", big))
    assert 0 < s.score <= 100
    assert len(s.reasons["concepts"]) <= 8


@pytest.mark.parametrize("text", ["\x00\x01", "🚇🚄", "ＡＢＣ" * 100, "<script>alert(1)</script>", "a" * 5000])
def test_odd_inputs(engine, text):
    s = score(engine, doc(1, text, text), doc(2, text))
    assert 0 <= s.score <= 100
