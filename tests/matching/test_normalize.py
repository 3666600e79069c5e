import pytest

from board.matching import fold, normalise


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ＣＢＴＣ", "cbtc"),
        ("５G车地通信", "5g车地通信"),
        ("Platform Screen Doors", "platform screen doors"),
        ("基於通信的列車控制", "基于通信的列车控制"),
        ("月臺門", "月台门"),
        ("盾構機", "盾构机"),
        ("géotechnique", "geotechnique"),
        ("CBTC/ATO，FAO。", "cbtc ato fao "),
        ("", ""),
    ],
)
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_offsets_point_back_to_what_the_user_wrote():
    text = "升级为ＣＢＴＣ系统"
    n = normalise(text)
    start = n.text.index("cbtc")
    assert n.span(start, start + 4, text) == "ＣＢＴＣ"


def test_offsets_survive_length_changes():
    text = "Straße ＡＴＯ"  # ß folds to "ss": one character becomes two
    n = normalise(text)
    start = n.text.index("ato")
    assert n.span(start, start + 3, text) == "ＡＴＯ"


def test_none_and_empty():
    assert normalise(None).text == ""
    assert normalise("").offsets == ()
