"""The benchmark command runs end to end at a hundredth of its size (no time is asserted)."""

import json

from board import create_app


def test_quick_bench_prints_every_figure_with_its_target(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    app = create_app({"SECRET_KEY": "b" * 20 + "0123456789abcdef", "SQLALCHEMY_DATABASE_URI":
                      f"sqlite:///{tmp_path / 'unused.sqlite3'}"})
    result = app.test_cli_runner().invoke(args=["bench", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["capabilities"], data["demands"]) == (1000, 100)
    figures = data["figures"]
    wanted = [
        "one demand, fast path: median", "one demand, every pair: median",
        "recall@10, fast path vs every pair", "speed-up of the fast path",
        "postings touched per demand (median)", "new capability: SQL statements (max)",
        "full rematch 100 x 1,000", "import 1,100-row CSV (with its rematch)",
        "import 110-row XLSX (with its rematch)", "board search: p95", "peak memory of this process",
    ]
    for name in wanted:
        assert name in figures, sorted(figures)
        assert figures[name]["value"] is not None
    assert figures["one demand, fast path: median"]["target"] == "<= 50 ms at 100,000"
    # recall is a property of the index, not of the machine: the fast path finds what
    # scoring every pair finds
    assert figures["recall@10, fast path vs every pair"]["value"] >= 0.99
    # the board's own database was never touched
    assert not (tmp_path / "unused.sqlite3").exists() or (tmp_path / "unused.sqlite3").stat().st_size == 0


def test_warm_loads_the_lexicon_before_any_request_even_without_a_database(tmp_path):
    from board.matching import tokenize
    from board.services.matcher import warm

    app = create_app({"SECRET_KEY": "w" * 20 + "0123456789abcdef",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    assert warm(app) > 0
    # jieba's dictionary is in memory: segmenting costs no dictionary load any more
    seg = tokenize.Segmenter(["站台门"])
    assert [t.text for t in seg.tokens("站台门检修")][0] == "站台门"


def test_bench_http_serves_drives_each_page_and_stops_its_server(tmp_path):
    import socket

    app = create_app({"SECRET_KEY": "h" * 20 + "0123456789abcdef",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.sqlite3'}"})
    result = app.test_cli_runner().invoke(args=[
        "bench-http", "--capabilities", "30", "--demands", "5", "--clients", "2",
        "--seconds", "1", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    pages = {p["page"]: p for p in data["pages"]}
    assert list(pages)[0] == "health endpoint (ceiling)"
    for name in ("board: filter and search word", "demand page with its matches (staff)",
                 "supplier's matching page", "staff review queue", "staff dashboard",
                 "directory: search word (company)"):
        assert pages[name]["requests"] > 0 and pages[name]["errors"] == 0, pages[name]
        assert pages[name]["p99_ms"] >= pages[name]["p50_ms"]
    assert data["worker_memory_mb"]["largest_worker"] > 0
    # the server it started is gone: nothing listens on the port any more
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", data["port"])) != 0
