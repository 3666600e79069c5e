"""From a match to an agreement in headless Chromium, in Chinese, each party in its own
browser: the company invites a likely partner from its demand's page, the supplier finds the
invitation with the match's reasons and replies with the standard questions, the company
shortlists the reply, the two exchange messages, the supplier proposes a meeting and the
company accepts one of its times, staff record the agreement, and the demand's funnel and
timeline show it (then once more in English).

The accounts, the published demand and the supplier's capability are made through the
services: the point here is what each party does in the browser."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from board.extensions import db
from board.models import Meeting, MeetingStatus, Outcome, OutcomeKind, Reply, ReplyStatus, Role
from tests.factories import PASSWORD, Factory, board_today

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sign_in(context, base, email):
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form.form").get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    return page


def local_time(days: int, hour: int) -> str:
    """A datetime-local value on the board's clock, some days from now."""
    day = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:30"


def test_invite_reply_shortlist_message_meeting_agreement(live, browser, tmp_path):
    app, base = live
    make = Factory(app)
    company_org = make.org("京城轨道运营公司", name_en="Capital Metro Operations")
    supplier_org = make.org("丁信号设备有限公司", name_en="Ding Signalling Equipment")
    company = make.user(Role.COMPANY, org=company_org, display_name="陈主任", email="chen@metro.example")
    supplier = make.user(Role.SUPPLIER, org=supplier_org, display_name="王工", email="wang@ding.example")
    make.user(Role.STAFF, display_name="园区小李", email="li@park.example")
    d = make.demand(company, title="既有线站台门改造", deadline=board_today() + dt.timedelta(days=30))
    cap = make.capability(supplier, title="站台门改造与维保服务",
                          description="为地铁既有线路提供站台门（屏蔽门）改造、安装与维护。",
                          keywords="站台门、屏蔽门")

    contexts = {
        who: browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        for who in ("company", "supplier", "staff")
    }
    try:
        co = sign_in(contexts["company"], base, "chen@metro.example")
        sup = sign_in(contexts["supplier"], base, "wang@ding.example")
        st = sign_in(contexts["staff"], base, "li@park.example")

        # 1. The company invites the suggested supplier from its demand's likely partners.
        co.goto(f"{base}/company/demands/{d.id}")
        expect(co.get_by_role("heading", name="潜在合作伙伴")).to_be_visible()
        card = co.locator("article.match", has_text="站台门改造与维保服务")
        expect(card).to_contain_text("丁信号设备有限公司")
        card.get_by_role("button", name="邀请回复").click()
        expect(co.locator(".flash-success")).to_be_visible()
        expect(co.locator("article.match", has_text="站台门改造与维保服务")).to_contain_text("已邀请回复")

        # 2. The supplier sees the invitation with the match's reasons, and replies.
        sup.goto(f"{base}/supplier/")
        invitation = sup.locator(f"#invitation-{d.id}")
        expect(invitation).to_contain_text("既有线站台门改造")
        expect(invitation).to_contain_text("京城轨道运营公司")
        expect(invitation.locator(".reasons")).to_contain_text("站台门")
        invitation.get_by_role("link", name="回复", exact=True).click()
        expect(sup.locator("select[name=capability_id]")).to_have_value(str(cap.id))
        sup.fill("textarea[name=fit]", "我们为三条既有线完成过站台门改造，可以分站实施、不停运施工。")
        sup.fill("textarea[name=cases]", "某地铁1号线屏蔽门改造（2022年）")
        sup.select_option("select[name=trl]", "7")
        sup.check("input[name=cooperation][value=pilot]")
        sup.fill("input[name=contact_name]", "王工")
        sup.fill("input[name=contact_email]", "wang@ding.example")
        sup.get_by_role("button", name="发送回复").click()
        expect(sup.locator("article.reply", has_text="既有线站台门改造")).to_be_visible()

        # 3. The company reads the reply side by side with its score, and shortlists it.
        co.goto(f"{base}/company/demands/{d.id}")
        reply_card = co.locator("article.reply", has_text="丁信号设备有限公司")
        expect(reply_card).to_contain_text("分站实施")
        expect(reply_card.locator(".score")).to_be_visible()
        reply_card.locator("input[name=decision][value=shortlisted]").check()
        reply_card.get_by_role("button", name="保存答复").click()
        expect(co.locator(".flash-success")).to_be_visible()
        expect(co.locator("article.reply", has_text="丁信号设备有限公司")).to_contain_text("已列入候选")

        # 4. They exchange messages on the reply's conversation.
        co.locator("article.reply", has_text="丁信号设备有限公司").get_by_role("link", name="对话").click()
        expect(co.get_by_role("heading", name="对话", exact=True)).to_be_visible()
        co.fill("textarea[name=body]", "您好，请介绍一下改造周期和夜间施工安排。")
        co.get_by_role("button", name="发送留言").click()
        expect(co.locator(".flash-success")).to_contain_text("留言已发送")

        sup.goto(f"{base}/supplier/replies")
        reply_row = sup.locator("article.reply", has_text="既有线站台门改造")
        expect(reply_row).to_contain_text("已列入候选")
        reply_row.get_by_role("link", name="对话").click()
        expect(sup.locator("#messages")).to_contain_text("请介绍一下改造周期")
        sup.fill("textarea[name=body]", "每站约两周，全部在夜间天窗期施工。")
        sup.get_by_role("button", name="发送留言").click()
        expect(sup.locator("#messages")).to_contain_text("每站约两周")

        # 5. The supplier proposes a meeting with two times; the company accepts the second.
        first, second = local_time(5, 10), local_time(6, 14)
        sup.locator("#propose summary").click()
        sup.fill("input[name=option_1]", first)
        sup.fill("input[name=option_2]", second)
        sup.fill("input[name=duration]", "60")
        sup.fill("input[name=place]", "丰台科技园 3号楼 会议室A")
        sup.get_by_role("button", name="发送会议邀请").click()
        expect(sup.locator(".flash-success")).to_be_visible()
        expect(sup.locator("article.meeting")).to_contain_text("丰台科技园 3号楼 会议室A")

        co.reload()
        expect(co.locator("#messages")).to_contain_text("每站约两周")
        meeting = co.locator("article.meeting")
        meeting.locator("input[name=option][value='1']").check()
        meeting.get_by_role("button", name="接受所选时间").click()
        expect(co.locator(".flash-success")).to_contain_text("已接受会议")
        expect(co.locator("article.meeting").get_by_role("link", name="下载到我的日历")).to_be_visible()
        sup.reload()
        expect(sup.locator("article.meeting .badge")).to_contain_text("已接受")

        with app.app_context():
            r = db.session.query(Reply).one()
            assert r.status == ReplyStatus.SHORTLISTED and r.trl == 7 and r.opened_at is not None
            (m,) = db.session.query(Meeting).all()
            assert m.status == MeetingStatus.ACCEPTED
            want = dt.datetime.strptime(second, "%Y-%m-%dT%H:%M").replace(tzinfo=SHANGHAI)
            assert m.starts_at == want.astimezone(dt.UTC)

        # 6. Staff record the agreement for the demand.
        st.goto(f"{base}/admin/demands/{d.id}")
        st.get_by_role("link", name="记录成果").click()
        st.check("input[name=kind][value=agreement]")
        st.select_option("select[name=organization_b_id]", label="丁信号设备有限公司")
        st.fill("input[name=occurred_on]", board_today().isoformat())
        st.fill("input[name=value_wan]", "120")
        st.fill("textarea[name=note]", "在园区签订站台门改造试点协议。")
        st.get_by_role("button", name="记录成果").click()
        expect(st.locator(".flash-success")).to_contain_text("成果已记录")

        # 7. The demand's funnel and timeline show it.
        funnel = st.locator("#funnel")
        expect(funnel.locator("[aria-current=step]")).to_contain_text("已签约")
        timeline = funnel.locator("ol.timeline")
        for text in ("丁信号设备有限公司 发来回复", "丁信号设备有限公司 的回复已入围",
                     "与 丁信号设备有限公司 的会谈（已接受）", "已与 丁信号设备有限公司 签约"):
            expect(timeline).to_contain_text(text)
        expect(funnel.locator(".outcome-list")).to_contain_text("在园区签订站台门改造试点协议。")
        # Staff follow the reply to its conversation and read the messages.
        st.locator("#replies-in-full article.reply-full").get_by_role("link", name="对话").click()
        expect(st.locator("#messages")).to_contain_text("每站约两周")
        expect(st.locator("textarea[name=body]")).to_have_count(0)
        st.screenshot(path=str(tmp_path / "staff-thread.png"))

        with app.app_context():
            (o,) = db.session.query(Outcome).all()
            assert o.kind == OutcomeKind.AGREEMENT and o.demand_id == d.id
            assert (o.organization_a_id, o.organization_b_id) == (company_org.id, supplier_org.id)

        # The same page in English.
        st.goto(f"{base}/admin/demands/{d.id}")
        st.get_by_role("button", name="English").click()
        expect(st.get_by_role("heading", name="Funnel and timeline")).to_be_visible()
        expect(st.locator("#funnel [aria-current=step]")).to_contain_text("Agreement signed")
        expect(st.locator("#funnel ol.timeline")).to_contain_text(
            "Agreement signed with Ding Signalling Equipment")
        assert re.search(r'<html lang="en"', st.content())
    finally:
        for context in contexts.values():
            context.close()
