"""Accessibility in headless Chromium: axe-core finds no serious or critical violation, and no
skipped heading level, on the main pages in Chinese and in English; the language button stays
on one line at phone width."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import Demand, DemandStatus
from board.services import matches, seeding

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js"
LANGS = {"zh": "zh-CN", "en": "en-US"}
# Rules checked whatever their impact: axe rates a skipped heading level "moderate".
ALWAYS = {"heading-order"}
DEMO = {
    "company": ("company@demo.example", "demo-company"),
    "supplier": ("supplier@demo.example", "demo-supplier"),
    "staff": ("staff@demo.example", "demo-staff1"),
}


@pytest.fixture
def seeded(make_app):
    """The seeded event board in demo mode, served from a thread; yields (base URL, ids)."""
    from tests.browser.server import serve

    app = make_app(WTF_CSRF_ENABLED=True, TESTING=False, PROPAGATE_EXCEPTIONS=False,
                   BOARD_DEMO=True)
    with app.app_context():
        seeding.load_event()
        seeding.load_demo_accounts()
        matches.rematch_all()
        db.session.commit()
        published = db.session.scalar(
            sa.select(Demand.id).where(Demand.status == DemandStatus.PUBLISHED).order_by(Demand.id)
        )
        company_demand = db.session.scalar(
            sa.select(Demand.id).where(Demand.ref == "EVT2023-D-CONTROL")
        )
        from board.models import Organization

        org = db.session.scalar(sa.select(Organization.id).where(Organization.name == "示例供给方戊"))
    with serve(app) as base:
        yield base, {"published": published, "company_demand": company_demand, "org": org}


def new_page(browser, lang, width=1280):
    # bypass_csp: the board's policy (script-src 'self') would block the injected axe script.
    context = browser.new_context(locale=LANGS[lang], viewport={"width": width, "height": 900},
                                  bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def sign_in(page, base, role):
    email, password = DEMO[role]
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form.form button").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{role} demo account could not sign in"


def run_axe(page, skip: set[str] = frozenset()) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                          html: n.html.slice(0, 160)})),
            }));
        }"""
    )
    return [v for v in result
            if (v["impact"] in ("serious", "critical") or v["id"] in ALWAYS) and v["id"] not in skip]


def describe(url: str, violations: list[dict]) -> str:
    lines = [f"{url}: {len(violations)} axe violation(s)"]
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']}")
        for n in v["nodes"][:5]:
            lines.append(f"    at {n['target']}\n      {n['html']}\n      {n['summary']}".rstrip())
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def check(page, base: str, path: str) -> str | None:
    page.goto(base + path)
    page.wait_for_load_state()
    found = run_axe(page)
    return describe(base + path, found) if found else None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_have_no_serious_violations(seeded, browser, lang):
    base, ids = seeded
    problems: list[str] = []
    public = ["/", f"/demands/{ids['published']}", "/event", "/login", "/signup", "/directory",
              f"/orgs/{ids['org']}"]
    signed_in = {
        "company": ["/company/", f"/company/demands/{ids['company_demand']}",
                    f"/directory/compare?demand={ids['company_demand']}", f"/orgs/{ids['org']}"],
        "supplier": ["/supplier/matching"],
        "staff": ["/admin/", "/admin/?status=all", f"/admin/demands/{ids['company_demand']}"],
    }
    context, page = new_page(browser, lang)
    try:
        for path in public:
            problems.append(check(page, base, path))
        for role, paths in signed_in.items():
            page.context.clear_cookies()
            sign_in(page, base, role)
            for path in paths:
                problems.append(check(page, base, path))
    finally:
        context.close()
    problems = [p for p in problems if p]
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_language_buttons_stay_on_one_line_at_phone_width(seeded, browser, lang):
    base, _ = seeded
    context, page = new_page(browser, lang, width=390)
    try:
        page.goto(base + "/")
        buttons = page.locator(".lang-switch button")
        assert buttons.count() == 2
        for i in range(2):
            button = buttons.nth(i)
            line = button.evaluate("b => parseFloat(getComputedStyle(b).lineHeight)")
            box = button.evaluate(
                """b => { const s = getComputedStyle(b);
                          return b.getBoundingClientRect().height
                                 - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom)
                                 - parseFloat(s.borderTopWidth) - parseFloat(s.borderBottomWidth); }"""
            )
            assert box <= line * 1.2, f"{button.inner_text()!r} wraps: {box}px for a {line}px line"
    finally:
        context.close()


CJK_FONTS = {"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC",
             "Source Han Sans SC", "WenQuanYi Micro Hei"}


def first_font(locator) -> str:
    family = locator.evaluate("e => getComputedStyle(e).fontFamily")
    return family.split(",")[0].strip().strip('"')


def test_english_text_is_set_in_a_latin_font_first(seeded, browser):
    """CJK fonts draw quotes and commas full-width: English text gets a Latin font first."""
    base, _ = seeded
    for lang in ("zh", "en"):
        context, page = new_page(browser, lang)
        try:
            page.goto(base + "/")
            body = first_font(page.locator("body"))
            assert (body in CJK_FONTS) == (lang == "zh"), f"{lang} page body font: {body}"
            assert first_font(page.locator(".lang-switch button[lang=en]")) not in CJK_FONTS
            assert first_font(page.locator(".lang-switch button[lang=zh-CN]")) in CJK_FONTS
        finally:
            context.close()
