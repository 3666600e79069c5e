"""The core path in headless Chromium, in Chinese: a company posts a demand, staff publish
it, a supplier adds a matching capability, finds the demand under 与我匹配 and replies, the
company sees the reply; the language switch shows English."""

import re

import pytest
from playwright.sync_api import expect

from board.extensions import db
from board.models import Role
from board.services import accounts

pytestmark = pytest.mark.browser


def sign_up(page, base, role, org, name, email, app):
    page.goto(f"{base}/signup")
    page.check(f"input[name=role][value={role}]")
    page.fill("input[name=organization]", org)
    page.fill("input[name=display_name]", name)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "secret-pass-1")
    page.fill("input[name=confirm]", "secret-pass-1")
    page.get_by_role("button", name="创建账号").click()
    # Sign-up answers alike for any address (no account is revealed); then one signs in.
    expect(page.locator(".flash-success")).to_contain_text("我们已向")
    # The link mailed to the address confirms it; then one signs in.
    page.goto(base + confirmation_path(app, email))
    page.get_by_role("button", name="确认地址").click()
    expect(page.locator(".flash-success")).to_contain_text("邮箱地址已确认")
    sign_in(page, base, email)


def confirmation_path(app, email):
    from tests.test_account_recovery import link_in, mails

    return link_in(mails(app, to_email=email, kind="confirm_address")[-1])


def sign_in(page, base, email, password="secret-pass-1"):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form.form").get_by_role("button", name="登录").click()


def sign_out(page):
    page.get_by_role("button", name="退出登录").click()


def test_core_path_in_chinese_then_english(live, page, tmp_path):
    app, base = live
    with app.app_context():
        accounts.create_user(email="staff@example.com", password="secret-pass-1", role=Role.STAFF,
                             display_name="园区小李")
        db.session.commit()

    # A company posts a demand; the board suggests a segment while it types.
    sign_up(page, base, "company", "某城轨运营公司", "张经理", "zhang@example.com", app)
    expect(page.get_by_role("heading", name="我的需求")).to_be_visible()
    page.get_by_role("link", name="发布需求").first.click()
    page.fill("input[name=title]", "既有线站台门改造")
    page.fill("textarea[name=description]", "一号线屏蔽门运行近二十年，需要对站台门系统进行改造并提供维保服务。")
    segment_chip = page.locator("[data-suggest-items] button").first  # the segment comes first
    expect(segment_chip).to_contain_text("运营服务")
    segment_chip.click()
    expect(page.locator("select[name=segment]")).to_have_value("operation")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("heading", name="既有线站台门改造")).to_be_visible()
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator(".flash-success")).to_be_visible()
    sign_out(page)

    # Staff publish it.
    sign_in(page, base, "staff@example.com")
    expect(page.get_by_role("link", name="既有线站台门改造")).to_be_visible()
    page.get_by_role("link", name="既有线站台门改造").click()
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("发布")
    sign_out(page)
    expect(page.get_by_role("link", name="既有线站台门改造")).to_be_visible()  # on the public board

    # A supplier registers a matching capability (in English), finds the demand and replies.
    sign_up(page, base, "supplier", "Metro Doors Ltd", "Wang", "wang@example.com", app)
    expect(page.locator(".empty")).to_be_visible()
    page.get_by_role("link", name="添加能力").first.click()
    page.fill("input[name=title]", "Platform screen doors: retrofit and maintenance")
    page.fill("textarea[name=description]", "We retrofit and maintain platform screen doors on existing metro lines.")
    page.get_by_role("button", name="保存").click()
    page.get_by_role("link", name="与我匹配", exact=True).click()
    card = page.locator("article.match", has_text="既有线站台门改造")
    expect(card).to_be_visible()
    expect(card.locator(".reasons")).to_contain_text("站台门")
    card.get_by_role("link", name="回复", exact=True).click()
    page.fill("textarea[name=fit]", "We have retrofitted platform screen doors on three metro lines.")
    page.select_option("select[name=trl]", "7")
    page.check("input[name=cooperation][value=supply]")
    page.get_by_role("button", name="发送回复").click()
    expect(page.locator("article.reply", has_text="既有线站台门改造")).to_be_visible()
    page.screenshot(path=str(tmp_path / "supplier-replies.png"))
    sign_out(page)

    # The company sees the reply and the match with its reasons.
    sign_in(page, base, "zhang@example.com")
    page.get_by_role("link", name="既有线站台门改造").click()
    expect(page.locator("article.reply")).to_contain_text("Metro Doors Ltd")
    expect(page.locator("article.match")).to_contain_text("Platform screen doors")
    expect(page.locator("article.match mark").first).to_be_visible()

    # The language switch shows English, and it is remembered.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Replies received")).to_be_visible()
    page.goto(f"{base}/")
    expect(page.get_by_role("link", name="Demand board")).to_be_visible()
    assert re.search(r'lang="en"', page.content())


def test_board_is_usable_at_phone_width(live, browser):
    app, base = live
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base}/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    expect(page.get_by_role("link", name="注册")).to_be_visible()
    context.close()
