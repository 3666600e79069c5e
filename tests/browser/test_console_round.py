"""A collection round run from the staff console in headless Chromium, in Chinese: staff
create a round and open it, work the match review queue (filtered by the round; one match
confirmed, one dismissed with a reason), record an agreement for a demand, and download the
gap list as an Excel file that openpyxl reads.

Accounts, demands and capabilities are made through the services once the round is open (so
the demands are filed in it); every staff step is done in the browser."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import expect

from board.extensions import db
from board.models import AuditEntry, Demand, Match, MatchStatus, Outcome, OutcomeKind, Role, Round
from tests.factories import PASSWORD, Factory, board_today

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")


def match_between(app, demand_id: int, capability_id: int) -> Match:
    with app.app_context():
        m = db.session.scalar(sa.select(Match).where(Match.demand_id == demand_id,
                                                     Match.capability_id == capability_id))
        assert m is not None, "the capability should match the demand"
        db.session.expunge(m)
        return m


def test_staff_run_a_round_review_matches_record_an_agreement_and_export_gaps(live, browser, tmp_path):
    app, base = live
    make = Factory(app)
    make.user(Role.STAFF, display_name="园区小李", email="li@park.example")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.on("dialog", lambda dialog: dialog.accept())  # the "open it today?" confirmation
    try:
        page.goto(f"{base}/login")
        page.fill("input[name=email]", "li@park.example")
        page.fill("input[name=password]", PASSWORD)
        page.locator("form.form").get_by_role("button", name="登录").click()
        expect(page.get_by_role("button", name="退出登录")).to_be_visible()

        # 1. A new round, opening in two weeks; staff open it today instead.
        page.get_by_role("link", name="征集轮次", exact=True).first.click()
        page.get_by_role("link", name="新建轮次").first.click()
        page.fill("input[name=name]", "2026年第二轮需求征集")
        page.fill("input[name=name_en]", "2026 second collection round")
        page.fill("input[name=opens_on]", (board_today() + dt.timedelta(days=14)).isoformat())
        page.fill("input[name=closes_on]", (board_today() + dt.timedelta(days=60)).isoformat())
        page.fill("textarea[name=description]", "面向装备研制与控制系统的技术需求征集。")
        page.check("input[name=segments][value=equipment]")
        page.check("input[name=segments][value=control]")
        page.get_by_role("button", name="创建轮次").click()
        expect(page.locator(".flash-success")).to_contain_text("轮次已创建")
        expect(page.get_by_role("heading", name="2026年第二轮需求征集")).to_be_visible()
        page.get_by_role("button", name="今天开始征集").click()
        expect(page.locator(".flash-success")).to_contain_text("轮次已开始征集")
        with app.app_context():
            r = db.session.scalar(sa.select(Round).where(Round.name == "2026年第二轮需求征集"))
            assert r.opens_on == board_today() and r.segments == ["equipment", "control"]
            round_id = r.id

        # Demands come in while it is open: two that registered suppliers meet, one that none does.
        company = make.user(Role.COMPANY, org=make.org("京城轨道运营公司"), email="chen@metro.example")
        doors_org, signal_org = make.org("丙站台门科技有限公司"), make.org("丁信号设备有限公司")
        doors = make.capability(make.user(Role.SUPPLIER, org=doors_org), title="站台门改造与维保服务",
                                description="为地铁既有线路提供站台门（屏蔽门）改造、安装与维护。",
                                keywords="站台门、屏蔽门")
        signal = make.capability(make.user(Role.SUPPLIER, org=signal_org), title="CBTC 信号系统改造",
                                 description="提供基于通信的列车控制（CBTC）信号系统升级改造与联调。",
                                 keywords="CBTC、信号系统、列车控制", segment="control")
        d_doors = make.demand(company, title="既有线站台门改造",
                              description="一号线站台门（屏蔽门）运行近二十年，需要改造并提供维保服务。",
                              keywords="站台门、屏蔽门")
        d_signal = make.demand(company, title="二号线 CBTC 信号系统升级",
                               description="二号线信号系统需升级为基于通信的列车控制（CBTC），含联调。",
                               keywords="CBTC、信号系统", segment="control")
        d_gap = make.demand(company, title="园区职工食堂餐饮外包",
                            description="为园区职工食堂寻找餐饮承包商。", keywords="餐饮", segment="")
        with app.app_context():
            filed = db.session.scalars(sa.select(Demand.round_id).where(
                Demand.id.in_([d_doors.id, d_signal.id, d_gap.id]))).all()
            assert filed == [round_id] * 3
        m_doors = match_between(app, d_doors.id, doors.id)
        m_signal = match_between(app, d_signal.id, signal.id)

        # 2. The review queue, filtered by the round: confirm one, dismiss the other with a reason.
        page.get_by_role("link", name="匹配审核", exact=True).click()
        expect(page.get_by_role("heading", name="匹配审核队列")).to_be_visible()
        filters = page.locator("form.filters")
        filters.locator("select[name=round]").select_option(str(round_id))
        filters.get_by_role("button", name="筛选").click()
        expect(page.locator("ol.queue > li")).to_have_count(2)
        row = page.locator(f"#match-{m_doors.id}")
        expect(row.locator(".reasons")).to_contain_text("站台门")
        row.get_by_role("button", name="确认推荐", exact=True).click()
        expect(page.locator(".flash-success")).to_be_visible()
        row = page.locator(f"#match-{m_signal.id}")
        row.locator("summary", has_text="填写理由后不予推荐").click()
        row.locator(f"#reason-{m_signal.id}").fill("该单位已退出本地市场")
        row.get_by_role("button", name="不予推荐", exact=True).click()
        expect(page.locator(".flash-success")).to_be_visible()
        with app.app_context():
            confirmed, dismissed = db.session.get(Match, m_doors.id), db.session.get(Match, m_signal.id)
            assert confirmed.status == MatchStatus.CONFIRMED
            assert dismissed.status == MatchStatus.DISMISSED
            assert dismissed.dismiss_reason == "该单位已退出本地市场"
        # The dismissed tab shows the reason.
        page.get_by_role("link", name="不予推荐").first.click()
        expect(page.locator(f"#match-{m_signal.id}")).to_contain_text("该单位已退出本地市场")

        # 3. An agreement signed offline, recorded on the demand's staff page.
        page.goto(f"{base}/admin/demands/{d_doors.id}")
        page.get_by_role("link", name="记录成果").click()
        page.check("input[name=kind][value=agreement]")
        page.select_option("select[name=organization_b_id]", label="丙站台门科技有限公司")
        page.fill("input[name=occurred_on]", board_today().isoformat())
        page.fill("input[name=value_wan]", "85")
        page.get_by_role("button", name="记录成果").click()
        expect(page.locator(".flash-success")).to_contain_text("成果已记录")
        expect(page.locator("#funnel [aria-current=step]")).to_contain_text("已签约")
        with app.app_context():
            (o,) = db.session.scalars(sa.select(Outcome)).all()
            assert o.kind == OutcomeKind.AGREEMENT and o.demand_id == d_doors.id
            assert o.organization_b_id == doors_org.id and o.value_wan == 85

        # 4. The gap list, from the industry map, downloaded as Excel.
        page.get_by_role("link", name="产业图谱", exact=True).click()
        page.get_by_role("link", name="补短板清单").click()
        expect(page.get_by_role("heading", name="补短板清单")).to_be_visible()
        gaps = page.locator("table.gap-table")
        expect(gaps).to_contain_text("园区职工食堂餐饮外包")
        expect(gaps).not_to_contain_text("既有线站台门改造")
        with page.expect_download() as info:
            page.locator(".page-head").get_by_role("link", name="Excel").click()
        download = info.value
        assert download.suggested_filename.endswith(".xlsx")
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        sheet = load_workbook(path, read_only=True).active
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        header, body = rows[0], rows[1:]
        assert header[:2] == ["需求编号", "需求标题"] and "最佳匹配分" in header and "缺少的技术概念" in header
        by_title = {r[header.index("需求标题")]: r for r in body}
        assert "园区职工食堂餐饮外包" in by_title  # nothing registered meets it
        assert by_title["园区职工食堂餐饮外包"][header.index("最佳匹配分")] in (None, "")
        # Its only match dismissed, no registered supplier meets the signalling demand either;
        # the confirmed one is not a gap.
        assert "二号线 CBTC 信号系统升级" in by_title
        assert "既有线站台门改造" not in by_title
        assert len(body) == len(by_title)

        with app.app_context():
            actions = set(db.session.scalars(sa.select(AuditEntry.action)).all())
        assert {"round.create", "round.open", "export"} <= actions, actions
    finally:
        context.close()
