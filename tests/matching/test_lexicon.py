from collections import Counter

import pytest

from board.matching import Concept, ExtraTerm, Lexicon, LexiconError, fold
from board.matching.lexicon import SEGMENTS, THEMES
from board.matching.tokenize import term_key


def test_size_and_coverage(lexicon):
    concepts = lexicon.concepts.values()
    assert len(lexicon.concepts) >= 1500
    for seg in SEGMENTS:
        assert sum(seg in c.segments for c in concepts) >= 150, seg
    for theme in THEMES:
        assert sum(theme in c.themes for c in concepts) >= 100, theme
    assert all(c.zh and c.en for c in concepts)
    assert sum(bool(c.abbr) for c in concepts) >= 200


def test_no_term_belongs_to_two_concepts(lexicon):
    """Only abbreviations may stand for several concepts (EMC); the record's context decides."""
    abbreviations = {term_key(fold(a)) for c in lexicon.concepts.values() for a in c.abbr}
    shared = {k: v for k, v in lexicon.lookup.items() if len(v) > 1}
    assert shared == lexicon.ambiguous
    assert all(k in abbreviations for k in shared), shared


@pytest.mark.parametrize(
    "term",
    ["CBTC", "cbtc", "基于通信的列车控制", "communications-based train control",
     "Communication Based Train Control", "基於通信的列車控制"],
)
def test_cbtc_in_every_spelling(lexicon, term):
    assert lexicon.find(term) == ("cbtc",)


@pytest.mark.parametrize("term", ["站台门", "屏蔽门", "platform screen doors", "PSD", "月臺門"])
def test_platform_screen_doors(lexicon, term):
    assert lexicon.find(term) == ("platform_screen_door",)


def test_broader_chain(lexicon):
    assert "signalling" in lexicon.ancestors("cbtc")


@pytest.mark.parametrize("word", ["智能", "系统", "平台", "技术", "服务", "platform", "system", "solution", "smart"])
def test_generic_words_weigh_little(lexicon, word):
    (cid,) = lexicon.find(word)
    assert lexicon.weights[cid] <= 0.1


def test_specific_concepts_outweigh_generic(lexicon):
    assert lexicon.weights["cbtc"] >= 10 * lexicon.weights[lexicon.find("平台")[0]]


def test_extra_terms_and_concepts():
    base = [Concept("psd", "站台门", "platform screen door", zh=("站台门",), en=("platform screen door",))]
    lex = Lexicon.build(
        base,
        extra_concepts=[Concept("gate", "闸机", "fare gate", zh=("闸机",), en=("fare gate",))],
        extra_terms=[ExtraTerm("psd", "安全门", "zh"), ExtraTerm("gone", "x", "zh")],
    )
    assert lex.find("安全门") == ("psd",)
    assert lex.find("fare gates") == ("gate",)
    assert lex.version != Lexicon.build(base).version


def write(tmp_path, body):
    p = tmp_path / "lex.tsv"
    p.write_text("id\tbroader\tsegments\tthemes\tweight\tzh\ten\tabbr\n" + body, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a\tmissing\t\t\t\t甲\ta\t\n", "broader"),
        ("a\t\tnowhere\t\t\t甲\ta\t\n", "unknown code"),
        ("a\t\t\t\theavy\t甲\ta\t\n", "not a number"),
        ("a\t\t\t\t2\t甲\ta\t\n", "(0, 1]"),
        ("a\t\t\t\t\t\ta\t\n", "Chinese and an English"),
        ("a\t\t\t\t甲\ta\n", "columns"),
        ("a\t\t\t\t\t甲\ta\t\tnowhere\n", "domain"),
        ("a\tb\t\t\t\t甲\ta\t\nb\ta\t\t\t\t乙\tb\t\n", "cycle"),
    ],
)
def test_bad_files_are_reported(tmp_path, body, message):
    with pytest.raises(LexiconError, match=message.replace("(", r"\(").replace("]", r"\]")):
        Lexicon.load(write(tmp_path, body))


def test_weights_are_derived_when_not_given(tmp_path):
    lex = Lexicon.load(write(tmp_path, "p\t\t\t\t\t父\tparent\t\nc\tp\t\t\t\t子\tchild\t\n"))
    assert lex.weights["c"] > lex.weights["p"]


def test_an_abbreviation_with_several_meanings_names_unrelated_concepts(lexicon):
    counts = Counter(a.lower() for c in lexicon.concepts.values() for a in c.abbr)
    for abbr in [a for a, n in counts.items() if n > 1]:
        ids = lexicon.find(abbr)
        assert len(ids) > 1, abbr
        for a in ids:
            assert not set(ids) & set(lexicon.ancestors(a)), (abbr, ids)


def test_domains(lexicon):
    domains = Counter(c.domain for c in lexicon.concepts.values())
    assert set(domains) == {"rail", "general", "other"}
    assert all(lexicon.in_subtree(cid, "other_setting")
               for cid, c in lexicon.concepts.items() if c.domain == "other")
    # A general word's rail sense is reached only through general concepts.
    for cid, c in lexicon.concepts.items():
        sense = lexicon.sense(cid)
        if sense:
            assert c.domain == "general" and lexicon.concepts[sense].domain == "rail"
            assert sense not in lexicon.plain_ancestors(cid)


def test_a_missing_domain_is_inherited(tmp_path):
    lex = Lexicon.load(write(tmp_path, "p\t\t\t\t\t父\tparent\t\trail\nc\tp\t\t\t\t子\tchild\t\t\n"
                                       "g\t\t\t\t\t通\tgeneric\t\t\n"))
    assert lex.concepts["c"].domain == "rail" and lex.concepts["g"].domain == "general"
