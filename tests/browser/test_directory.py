"""The directory in headless Chromium, in Chinese and in English: a company searches in
English for a supplier that wrote its capability in Chinese, keeps two suppliers, filters
by a valid credential, compares the two for its demand and invites one."""

import datetime as dt

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from board.extensions import db
from board.models import Credential, CredentialType, DemandStatus, Invitation, Organization, Role
from board.services import accounts, capabilities, demands
from tests.factories import board_today

pytestmark = pytest.mark.browser

TEXT = {
    "zh": {"sign_in": "登录", "compare": "比较供给方", "compare_btn": "比较", "invite": "邀请回复",
           "sent": "邀请已发送", "heading": "机构名录"},
    "en": {"sign_in": "Sign in", "compare": "Compare suppliers", "compare_btn": "Compare",
           "invite": "Invite to reply", "sent": "Invitation sent", "heading": "Directory of organisations"},
}


def build(app):
    """A company with a published demand; two suppliers writing in Chinese, one holding a
    valid CRCC certificate, the other an expired one."""
    today = board_today()
    with app.app_context():
        staff = accounts.create_user(email="staff@example.com", password="secret-pass-1",
                                     role=Role.STAFF, display_name="园区小李")
        company = accounts.create_user(email="buyer@example.com", password="secret-pass-1",
                                       role=Role.COMPANY, display_name="张经理",
                                       organization=Organization(name="某城轨运营公司"))
        d = demands.create(company, {
            "title": "信号系统联调测试", "description": "新线开通前的信号系统（CBTC）联调测试与互联互通验证。",
            "keywords": "信号系统、联调", "segment": "control", "themes": [], "visibility": "public"})
        demands.submit(company, d)
        demands.publish(staff, d)
        orgs = {}
        for key, name, title, valid in (
            ("a", "华信列控技术有限公司", "基于通信的列车控制系统信号联调测试", today + dt.timedelta(days=300)),
            ("b", "京南信号工程公司", "城轨信号系统集成与联调服务", today - dt.timedelta(days=3)),
        ):
            org = Organization(name=name, profile_visibility="public", district="丰台区")
            user = accounts.create_user(email=f"{key}@example.com", password="secret-pass-1",
                                        role=Role.SUPPLIER, display_name=name, organization=org)
            capabilities.create(user, {"title": title, "description": f"{title}，服务地铁新线开通。",
                                       "keywords": "信号系统、联调", "segment": "control", "themes": []})
            db.session.add(Credential(organization_id=org.id, type=CredentialType.CRCC, valid_until=valid))
            orgs[key] = org.id
        db.session.commit()
        assert d.status == DemandStatus.PUBLISHED
        return orgs, d.id


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_search_filter_compare_and_invite(live, browser, lang, tmp_path):
    app, base = live
    orgs, demand_id = build(app)
    t = TEXT[lang]
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/login")
    page.fill("input[name=email]", "buyer@example.com")
    page.fill("input[name=password]", "secret-pass-1")
    page.locator("form.form").get_by_role("button", name=t["sign_in"]).click()

    # The directory, searched in English: both Chinese-written suppliers are found.
    page.goto(f"{base}/directory")
    expect(page.get_by_role("heading", name=t["heading"])).to_be_visible()
    page.fill("input#q", "signalling system integration testing")
    page.press("input#q", "Enter")
    card_a, card_b = page.locator(f"#org-{orgs['a']}"), page.locator(f"#org-{orgs['b']}")
    expect(card_a).to_be_visible()
    expect(card_b).to_be_visible()
    expect(card_a.locator("mark").first).to_be_visible()  # the matched words, in Chinese
    # Keep both.
    card_a.locator("button[aria-pressed=false]").click()
    page.locator(f"#org-{orgs['b']}").locator("button[aria-pressed=false]").click()
    expect(page.locator(f"#org-{orgs['b']} button[aria-pressed=true]")).to_be_visible()

    # Filter by a valid CRCC certificate: the one whose certificate expired drops out.
    page.locator(".facets a[href*='credential=crcc']").click()
    expect(page.locator(f"#org-{orgs['a']}")).to_be_visible()
    expect(page.locator(f"#org-{orgs['b']}")).to_have_count(0)
    page.screenshot(path=str(tmp_path / f"directory-{lang}.png"))

    # Compare the two for the demand.
    page.get_by_role("link", name=t["compare"]).first.click()
    page.select_option("select#demand", str(demand_id))
    page.get_by_role("button", name=t["compare_btn"], exact=True).click()
    page.check(f"input[name=org][value='{orgs['a']}']")
    page.check(f"input[name=org][value='{orgs['b']}']")
    page.get_by_role("button", name=t["compare_btn"], exact=True).click()
    table = page.locator("table.compare")
    expect(table).to_contain_text("华信列控技术有限公司")
    expect(table).to_contain_text("京南信号工程公司")
    expect(table).to_contain_text("CRCC")
    page.screenshot(path=str(tmp_path / f"compare-{lang}.png"), full_page=True)

    # Invite the one with the valid certificate.
    page.locator(f"form[action='/orgs/{orgs['a']}/invite'] button").click()
    expect(page.locator(".flash-success")).to_contain_text(t["sent"])
    with app.app_context():
        invited = db.session.scalars(sa.select(Invitation.organization_id)).all()
    assert invited == [orgs["a"]]
    context.close()


def test_directory_and_profile_fit_a_phone(live, browser):
    from board.services import matches, seeding

    app, base = live
    with app.app_context():
        seeding.load_event()
        matches.rematch_all()
        db.session.commit()
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.name == "示例供给方戊"))
    for locale in ("zh-CN", "en-US"):
        context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
        page = context.new_page()
        for url in (f"{base}/directory", f"{base}/orgs/{org_id}"):
            page.goto(url)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, (locale, url)
        # The expired certificate is shown as expired, the valid one with its SIL level.
        expect(page.locator("#credentials")).to_contain_text("SIL 4")
        expect(page.locator("#credentials .badge-declined")).to_have_count(1)
        context.close()
