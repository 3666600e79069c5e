import os

import pytest

from tests.browser.server import browser_missing, chromium, serve


def _require() -> None:
    reason = browser_missing()
    if reason:
        if os.environ.get("BOARD_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    _require()
    with chromium() as b:
        yield b


@pytest.fixture
def live(make_app):
    """A board with CSRF on, served from a thread; yields (app, base URL)."""
    app = make_app(WTF_CSRF_ENABLED=True, TESTING=False, PROPAGATE_EXCEPTIONS=False)
    with serve(app) as base:
        yield app, base


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(15000)
    yield p
    context.close()
