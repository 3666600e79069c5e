import pytest

from board.matching.tokenize import Segmenter, stem, term_key


@pytest.fixture(scope="module")
def segmenter(lexicon):
    return Segmenter(lexicon.cjk_terms)


@pytest.mark.parametrize(
    "term",
    ["站台门", "基于通信的列车控制", "再生制动能量回馈", "盾构机", "车地无线通信", "故障预测与健康管理"],
)
def test_domain_terms_stay_whole(segmenter, lexicon, term):
    assert lexicon.find(term), f"{term} should be in the lexicon"
    words = [t.text for t in segmenter.tokens(f"我们需要{term}方面的合作")]
    assert term in words


def test_tokens_carry_offsets(segmenter):
    text = "cbtc 信号系统"
    for tok in segmenter.tokens(text):
        assert text[tok.start : tok.end] in (tok.text, tok.text + "s")


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [("doors", "door"), ("batteries", "battery"), ("systems", "system"), ("switches", "switch"),
     ("analysis", "analysis"), ("bus", "bus"), ("pass", "pass"), ("5g", "5g"), ("cbtc", "cbtc")],
)
def test_plural_folding(word, stemmed):
    assert stem(word) == stemmed


def test_term_key_does_not_depend_on_spacing_or_plurals():
    assert term_key("platform screen doors") == term_key("platform screen door")
    assert term_key("站台 门") == term_key("站台门")
