"""A failed plugin's page in a real browser: each failure's traceback is folded away
until the operator opens it, and the page does not overflow at 1280 or 800 px wide.

Debian's Chromium (``/usr/bin/chromium``) under Playwright, as in ``test_browser.py``;
a PNG screenshot of each width goes to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import pytest
from support.browser import launch_chromium, shot
from support.dists import make_plugin
from support.served import serve

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (pip install -e '.[test]'); "
           "the browser tests need it",
)

pytestmark = pytest.mark.browser

TOKEN = "browser-failures-token"

VAULT = """
    from plexichat import hookimpl

    def open_the_vault(context):
        raise RuntimeError("the vault is locked")

    @hookimpl
    async def startup(context):
        open_the_vault(context)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-failures")
    site = root / "site"
    site.mkdir()
    make_plugin(site, "vault", code=VAULT)
    with serve(site, root, "--log-level", "warning", env={
            "PLEXICHAT_LOAD_PLUGINS": "vault", "PLEXICHAT_ADMIN_TOKEN": TOKEN,
            "PLEXICHAT_CACHE_DIR": str(root / "cache"), "PLEXICHAT_DATABASE_URL": ""}) as s:
        s.wait_ready()
        yield s.url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


@pytest.mark.parametrize("width", [1280, 800])
def test_a_failure_traceback_is_folded_until_opened(browser, server, width):
    context = browser.new_context(base_url=server, viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto("/plugins/vault")
        page.fill("#token", TOKEN)
        page.click("form.plx-login button[type=submit]")
        page.wait_for_url("**/plugins/vault")
        failure = page.locator("#plugin-failures .plx-failure")
        sync_api.expect(failure).to_have_count(1)
        sync_api.expect(failure.locator("summary")).to_contain_text(
            "startup: RuntimeError: the vault is locked")
        traceback = failure.locator(".plx-traceback")
        sync_api.expect(traceback).to_be_hidden()
        failure.locator("summary").click()
        sync_api.expect(traceback).to_be_visible()
        sync_api.expect(traceback).to_contain_text(", in open_the_vault")
        sync_api.expect(traceback).to_contain_text('raise RuntimeError("the vault is locked")')
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"plugin-failure-{width}")
    finally:
        context.close()
