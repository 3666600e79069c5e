"""The board's search goes through the engine: width, script, case, English and Chinese
synonyms and abbreviations find the same demands, ranked, highlighted and still filtered."""

import re

import pytest

from board.models import DemandStatus, Role

SIGNALLING = dict(title="CBTC信号系统互联互通测试", segment="control",
                  description="需要对不同厂商的基于通信的列车控制系统开展互联互通测试。", keywords="CBTC、信号系统")
TUNNEL = dict(title="盾构隧道施工风险监测", segment="construction",
              description="盾构掘进过程中的沉降与管片受力实时监测。", keywords="盾构、监测")
TRAINING = dict(title="轨道交通安全培训平台", segment="operation",
                description="面向运营人员的虚拟现实（VR）安全培训与考核。", keywords="培训、虚拟现实")
STORAGE = dict(title="再生制动能量回收与储能", segment="equipment",
               description="车站级储能装置回收列车再生制动能量。", keywords="储能")


@pytest.fixture
def board(app, make):
    company = make.user(Role.COMPANY)
    ids = {}
    for name, fields in (("signalling", SIGNALLING), ("tunnel", TUNNEL), ("training", TRAINING),
                         ("storage", STORAGE)):
        ids[name] = make.demand(company, **fields).id
    ids["draft"] = make.demand(company, DemandStatus.DRAFT, **dict(SIGNALLING, title="草稿CBTC需求")).id
    return ids


def found(client, q, **args):
    html = client.get("/", query_string={"q": q, **args}).get_data(as_text=True)
    return [int(i) for i in re.findall(r'<h3><a href="/demands/(\d+)"', html)], html


@pytest.mark.parametrize("q,expected", [
    ("CBTC", "signalling"), ("ＣＢＴＣ", "signalling"), ("cbtc", "signalling"),
    ("信號系統", "signalling"), ("信号系统", "signalling"), ("signalling", "signalling"),
    ("communications-based train control", "signalling"),
    ("盾构", "tunnel"), ("shield tunnelling", "tunnel"),
    ("training", "training"), ("VR", "training"), ("虚拟现实", "training"),
    ("energy storage", "storage"), ("储能", "storage"),
])
def test_every_form_of_a_term_finds_the_same_demand(client, board, q, expected):
    ids, _ = found(client, q)
    assert ids and ids[0] == board[expected], (q, ids)
    assert board["draft"] not in ids  # only published demands


def test_matched_words_are_marked_where_the_poster_wrote_them(client, board):
    _, html = found(client, "signalling")
    assert "<mark>CBTC</mark>" in html or "<mark>信号系统</mark>" in html


def test_filters_still_apply_and_empty_results_suggest_related_fields(client, board, app):
    ids, _ = found(client, "CBTC", segment="construction")
    assert ids == []
    # A narrower kind of signalling finds the signalling demand as related work.
    ids, _ = found(client, "联锁")
    assert ids == [board["signalling"]]
    ids, html = found(client, "道岔")  # turnouts: no demand about track at all
    assert ids == []
    assert 'class="keywords related"' in html and "轨道工程" in html


def test_a_broad_field_ranks_but_does_not_find_on_its_own(client, board, make):
    """"车门" (train doors) lists the door demand, not every rolling-stock record: the broad
    field the engine adds only ranks. A narrower word still finds its broader demand when
    that is specific enough to match alone (the "联锁" case above)."""
    company = make.user(Role.COMPANY)
    doors = make.demand(company, title="列车车门系统故障诊断", segment="equipment",
                        description="地铁列车车门系统的故障诊断与预警。", keywords="车门")
    bogies = make.demand(company, title="转向架检修工艺优化", segment="equipment",
                         description="地铁车辆转向架检修流程与工装优化。", keywords="转向架")
    ids, _ = found(client, "车门")
    assert ids == [doors.id]
    ids, _ = found(client, "转向架")
    assert ids == [bogies.id]


def test_newest_first_is_the_alternative_order(client, board, make):
    company = make.user(Role.COMPANY)
    newer = make.demand(company, **dict(TUNNEL, title="盾构刀盘磨损检测", keywords="盾构"))
    relevance, _ = found(client, "盾构 监测")
    newest, _ = found(client, "盾构 监测", sort="newest")
    assert set(relevance) == set(newest) and newest[0] == newer.id


def test_hostile_queries_are_just_text(client, board):
    for q in ("' OR 1=1 --", "%", "_", "\\", "<script>alert(1)</script>", "a" * 500):
        resp = client.get("/", query_string={"q": q})
        assert resp.status_code == 200
        assert "<script>alert(1)</script>" not in resp.get_data(as_text=True)


# -- capabilities: suppliers search their own, staff search all, through the same engine ----------
CAP_SIGNALLING = dict(title="CBTC信号系统集成与互联互通测试", segment="control",
                      description="为城轨线路提供基于通信的列车控制系统集成、联调与互联互通测试。",
                      keywords="CBTC、信号系统")
CAP_STORAGE = dict(title="Wayside energy storage for regenerative braking", segment="equipment",
                   description="Supercapacitor and battery energy storage that recovers braking energy at stations.",
                   keywords="energy storage")
CAP_TRAINING = dict(title="轨道交通虚拟现实培训系统", segment="operation",
                    description="面向司机与站务人员的VR实训与考核平台。", keywords="虚拟现实、培训")
CAP_TUNNEL = dict(title="盾构隧道监测", segment="construction",
                  description="盾构掘进沉降监测。", keywords="盾构")


@pytest.fixture
def caps(app, make):
    supplier = make.user(Role.SUPPLIER)
    other = make.user(Role.SUPPLIER)
    ids = {name: make.capability(supplier, **fields).id
           for name, fields in (("signalling", CAP_SIGNALLING), ("storage", CAP_STORAGE),
                                ("training", CAP_TRAINING), ("tunnel", CAP_TUNNEL))}
    ids["other"] = make.capability(other, **dict(CAP_SIGNALLING, title="另一家的CBTC信号系统")).id
    return {"supplier": supplier, "other": other, "staff": make.user(Role.STAFF), "ids": ids}


def found_caps(client, path, q, **args):
    html = client.get(path, query_string={"q": q, **args}).get_data(as_text=True)
    pattern = r'href="/supplier/capabilities/(\d+)"' if path.startswith("/supplier") else r'id="cap-(\d+)"'
    return [int(i) for i in dict.fromkeys(re.findall(pattern, html))], html


@pytest.mark.parametrize("q,plain,expected", [
    ("ＣＢＴＣ", "CBTC", "signalling"), ("信號系統", "信号系统", "signalling"),
    ("signalling", "信号系统", "signalling"), ("energy storage", "储能", "storage"),
    ("VR", "虚拟现实", "training"), ("虚拟现实", "virtual reality", "training"),
])
def test_a_supplier_finds_its_capabilities_by_any_form_of_a_term(app, caps, login, q, plain, expected):
    client = login(app.test_client(), caps["supplier"])
    ids, html = found_caps(client, "/supplier/capabilities", q)
    same, _ = found_caps(client, "/supplier/capabilities", plain)
    assert ids and ids[0] == caps["ids"][expected], (q, ids)
    assert ids == same
    assert caps["ids"]["other"] not in ids  # another organisation's capability is not its to see
    assert "<mark>" in html


@pytest.mark.parametrize("q,plain", [("ＣＢＴＣ", "CBTC"), ("信號系統", "信号系统"), ("signalling", "信号系统"),
                                     ("energy storage", "储能"), ("VR", "虚拟现实")])
def test_staff_find_every_organisations_capabilities_the_same_way(app, caps, login, q, plain):
    client = login(app.test_client(), caps["staff"])
    ids, html = found_caps(client, "/admin/capabilities", q)
    same, _ = found_caps(client, "/admin/capabilities", plain)
    assert ids and ids == same
    if "CBTC" in plain or "信号" in plain:
        assert set(ids) >= {caps["ids"]["signalling"], caps["ids"]["other"]}
        assert caps["ids"]["tunnel"] not in ids


def test_capability_search_filters_sorts_and_suggests(app, caps, login):
    client = login(app.test_client(), caps["supplier"])
    ids, _ = found_caps(client, "/supplier/capabilities", "CBTC", segment="construction")
    assert ids == []
    relevance, _ = found_caps(client, "/supplier/capabilities", "盾构 信号系统")
    newest, _ = found_caps(client, "/supplier/capabilities", "盾构 信号系统", sort="newest")
    assert set(relevance) == set(newest) == {caps["ids"]["signalling"], caps["ids"]["tunnel"]}
    assert newest[0] == caps["ids"]["tunnel"]  # registered last
    ids, html = found_caps(client, "/supplier/capabilities", "道岔")  # no capability about turnouts
    assert ids == [] and 'class="keywords related"' in html and "轨道工程" in html
    for q in ("' OR 1=1 --", "%", "<script>alert(1)</script>"):
        resp = client.get("/supplier/capabilities", query_string={"q": q})
        assert resp.status_code == 200 and "<script>alert(1)</script>" not in resp.get_data(as_text=True)


def test_the_staff_demand_list_searches_through_the_engine(app, board, make, login):
    client = login(app.test_client(), make.user(Role.STAFF))

    def ids(q, **args):
        html = client.get("/admin/", query_string={"q": q, "status": "all", **args}).get_data(as_text=True)
        return [int(i) for i in re.findall(r'<a href="/admin/demands/(\d+)"', html)], html

    for q in ("ＣＢＴＣ", "信號系統", "signalling"):
        found, html = ids(q)
        assert found == [board["signalling"]], q
        assert "<mark>" in html
    assert ids("储能")[0] == ids("energy storage")[0] == [board["storage"]]
    assert ids("CBTC", status="submitted")[0] == []  # the tab still applies
