"""The board's own path (`import`, stored matches, `export-matches --format json --top 10`) ranks
a labelled set exactly as the evaluation does in memory: the same lexicon senses, the same
passing mentions, the same word frequencies (read from the index table on the board, from the
in-memory index in the evaluation)."""

import json

import pytest

from board.config import PROJECT_ROOT
from board.matching import evaluate
from board.services.matcher import get_engine

TUNE = PROJECT_ROOT / "tests" / "eval" / "generalisation_tune.json"
THRESHOLD = 15  # MATCH_THRESHOLD in the tests' configuration


def _records(kind, docs):
    return [
        {"kind": kind, "ref": d.id, "organization": f"Org {d.id}", "title": d.title,
         "description": d.description, "keywords": list(d.keywords), "segment": d.segment,
         "themes": sorted(d.themes)}
        for d in docs
    ]


def _import(app, path, rows):
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output


def _exported(app):
    result = app.test_cli_runner().invoke(args=["export-matches", "--format", "json", "--top", "10"])
    assert result.exit_code == 0, result.output
    return {d["demand_ref"]: [(m["capability_ref"], m["score"]) for m in d["matches"]]
            for d in json.loads(result.stdout)}


def _expected(app, evalset):
    with app.app_context():
        engine = get_engine()
        rank = evaluate.engine_ranker(engine, evalset)
        return {d.id: [(c, s) for c, s in rank(d) if s >= THRESHOLD][:10] for d in evalset.demands}


@pytest.mark.parametrize("order", ["together", "capabilities first"])
def test_the_board_ranks_an_imported_set_as_the_evaluation_does(app, tmp_path, order):
    evalset = evaluate.load(TUNE)
    evalset.demands = evalset.demands[:12]
    caps, demands = _records("capability", evalset.capabilities), _records("demand", evalset.demands)
    if order == "together":
        _import(app, tmp_path / "all.json", caps + demands)  # ranks every demand from one index
    else:
        _import(app, tmp_path / "caps.json", caps)
        _import(app, tmp_path / "demands.json", demands)  # ranks each demand from the table
    # Equal scores are ordered by record id: the board's ids and the set's refs differ.
    def by_score(ranked):
        return {d: sorted(rows, key=lambda r: (-r[1], r[0])) for d, rows in ranked.items()}

    assert by_score(_exported(app)) == by_score(_expected(app, evalset))
