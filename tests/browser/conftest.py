import pytest

from tests.browser.server import serve

# ``browser`` (one Chromium for the whole session) is in tests/conftest.py: tests/security
# uses it too, and Playwright's sync API runs once per process.


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
