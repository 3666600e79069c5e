"""The staff's lexicon review: which concepts matched where, from the index keys and the stored
match reasons (nothing analysed again), with each record's firing words marked."""

from __future__ import annotations

import re

import pytest

from board.matching import Engine
from board.models import DemandStatus, Role


@pytest.fixture
def board(app, make):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company, title="站台门改造", description="既有线路屏蔽门改造。", keywords="站台门")
    draft = make.demand(company, DemandStatus.DRAFT, title="草稿：站台门维保计划", keywords="站台门")
    caps = [
        make.capability(supplier),  # platform screen doors, in English
        make.capability(supplier, title="屏蔽门维保", description="地铁站台屏蔽门日常维护。", keywords="屏蔽门"),
        make.capability(supplier, title="盾构隧道监测", description="盾构掘进沉降监测。", keywords="盾构", segment="construction"),
    ]
    return {"staff": make.user(Role.STAFF), "demand": d, "draft": draft, "caps": caps}


def rows(html: str) -> dict[str, list[int]]:
    """concept id -> [demands, capabilities, matches] as the table shows them."""
    out = {}
    for cid, cells in re.findall(r'<code class="small">([^<]+)</code></td>(.*?)</tr>', html, re.S):
        out[cid] = [int(n.replace(",", "")) for n in re.findall(r'<td data-label="[^"]*">([\d,]+)</td>', cells)]
    return out


def test_each_concept_with_where_it_fired_and_what_it_explains(app, board, login, monkeypatch):
    staff = login(app.test_client(), board["staff"])

    def no_analysis(*_a, **_k):
        raise AssertionError("the review page analysed a text again")

    monkeypatch.setattr(Engine, "analyze", no_analysis)
    html = staff.get("/admin/lexicon/review").get_data(as_text=True)
    table = rows(html)
    # One published demand (the draft is nobody's business), two capabilities about doors.
    demands, caps, explained = table["platform_screen_door"]
    assert (demands, caps) == (1, 2) and explained == 2
    # Most matches explained first; then by demands, then by capabilities on request.
    counts = [v[2] for v in table.values()]
    assert counts == sorted(counts, reverse=True)
    by_caps = [v[1] for v in rows(staff.get("/admin/lexicon/review?sort=capabilities").get_data(as_text=True)).values()]
    assert by_caps == sorted(by_caps, reverse=True)
    found = rows(staff.get("/admin/lexicon/review?q=屏蔽门").get_data(as_text=True))
    assert "platform_screen_door" in found and len(found) < len(table)


def test_a_concept_page_shows_each_record_with_the_words_marked(app, board, login):
    staff = login(app.test_client(), board["staff"])
    html = staff.get("/admin/lexicon/review/platform_screen_door").get_data(as_text=True)
    assert f'href="/admin/demands/{board["demand"].id}"' in html
    assert "<mark>站台门</mark>" in html and "<mark>屏蔽门</mark>" in html
    assert re.search(r"<mark>platform screen doors?</mark>", html, re.I)
    assert "草稿" not in html  # drafts stay with their organisation
    assert "盾构隧道监测" not in html
    # The matches it explains, linked to the demand's review page.
    assert html.count(f'href="/admin/demands/{board["demand"].id}#match-') == 2
    assert staff.get("/admin/lexicon/review/no_such_concept").status_code == 404


def test_the_counts_follow_the_board(app, board, make, login):
    staff = login(app.test_client(), board["staff"])
    before = rows(staff.get("/admin/lexicon/review").get_data(as_text=True))["platform_screen_door"]
    make.capability(make.user(Role.SUPPLIER), title="站台门安装", description="站台门安装调试。", keywords="站台门")
    after = rows(staff.get("/admin/lexicon/review").get_data(as_text=True))["platform_screen_door"]
    assert after == [before[0], before[1] + 1, before[2] + 1]
