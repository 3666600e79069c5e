"""flask --app board lexicon-check: the shipped lexicon is clean; each kind of problem is
reported, and any problem exits 1."""

from board.config import PROJECT_ROOT
from board.matching.lexicon_check import check_file

HEADER = "id\tbroader\tsegments\tthemes\tweight\tzh\ten\tabbr\tdomain\n"


def write(tmp_path, body):
    p = tmp_path / "lex.tsv"
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def test_the_shipped_lexicon_has_no_problem():
    report = check_file(PROJECT_ROOT / "seed" / "lexicon.tsv")
    assert report.problems == [], report.problems[:20]
    assert report.concepts >= 1500


def test_cli_reports_a_clean_lexicon(app):
    result = app.test_cli_runner().invoke(args=["lexicon-check"])
    assert result.exit_code == 0, result.output
    assert "no problem" in result.output


def test_every_kind_of_problem_is_reported(tmp_path):
    body = (
        "a\t\t\t\t\t甲|甲\talpha\t\trail\n"  # duplicate term within a concept
        "b\t\t\t\t\t乙\talpha\t\trail\n"  # a term in two concepts
        "c\t\t\t\t\t\tgamma\t\trail\n"  # no Chinese term
        "d\t\t\t\t\t丁\t\t\trail\n"  # no English term
        "e\tf\t\t\t\t戊\tepsilon\t\trail\n"
        "f\te\t\t\t\t己\tphi\t\trail\n"  # a cycle e -> f -> e
        "g\tnowhere\t\t\t\t庚\tgee\t\trail\n"  # a broader link to a missing concept
        "h\t\t\t\t\t辛\thotel\tABC\trail\n"
        "i\t\t\t\t\t壬\tindia\tABC\trail\n"  # an abbreviation in two concepts: allowed, listed
    )
    report = check_file(write(tmp_path, body))
    kinds = {p.kind for p in report.problems}
    assert kinds == {"duplicate term", "term in two concepts", "no Chinese term", "no English term",
                     "broader cycle", "missing broader"}
    assert any("alpha" in p.message and "a" in p.concepts and "b" in p.concepts for p in report.problems)
    assert {p.concepts for p in report.problems if p.kind == "broader cycle"} == {("e", "f")}
    assert report.ambiguous == {"abc": ("h", "i")}


def test_cli_exits_1_on_a_problem(app, tmp_path):
    path = write(tmp_path, "a\t\t\t\t\t甲\talpha\t\trail\nb\t\t\t\t\t乙\talpha\t\trail\n")
    result = app.test_cli_runner().invoke(args=["lexicon-check", str(path)])
    assert result.exit_code == 1
    assert "term in two concepts" in result.output and "alpha" in result.output
