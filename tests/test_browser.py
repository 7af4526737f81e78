"""The web UI in a real browser: Debian's Chromium driven by Playwright against
``plexichat serve`` (uvicorn) on 127.0.0.1.

An operator logs in, disables and re-enables a plugin, submits invalid settings and sees
the error next to the field, submits valid ones and finds them after a reload, opens a
plugin's UI page, finds a phrase from a plugin's docs through ``/docs`` search, and sees
the theme plugin's CSS applied. A PNG screenshot of each page is written under
``test-artifacts/browser/``.

Chromium is ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it);
no browser is ever downloaded. When it cannot start, the tests fail saying so; they are
skipped only when the ``playwright`` package itself is missing.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from support.api import TOKEN
from support.browser import TIMEOUT_MS, launch_chromium, shot
from support.ui_plugins import DOCS_PHRASE, THEME_COLOR, install_panel, install_tint

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (pip install -e '.[test]'); "
           "the browser tests need it",
)

pytestmark = pytest.mark.browser


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(base: str) -> bool:
    try:
        with _opener.open(f"{base}/api/v1/health/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python -m plexichat serve`` with the panel and tint plugins; yields its URL."""
    root = tmp_path_factory.mktemp("browser")
    site = root / "site"
    site.mkdir()
    install_panel(site)
    install_tint(site)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
        PLEXICHAT_ADMIN_TOKEN=TOKEN,
        PLEXICHAT_LOAD_PLUGINS="panel,tint",
        PLEXICHAT_DATA_DIR=str(root / "data"),
        PLEXICHAT_CACHE_DIR=str(root / "cache"),
    )
    env.pop("PLEXICHAT_DATABASE_URL", None)
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plexichat", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _ready(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                output = log_path.read_text(errors="replace")[-4000:]
                pytest.fail(f"plexichat serve did not become ready:\n{output}")
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium under Playwright; the test fails saying why when it cannot."""
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium, server):
    """A fresh browser context (no cookies) on the server."""
    context = chromium.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def log_in(page: Any, next_path: str = "/plugins") -> None:
    page.goto(next_path)
    page.fill("#token", TOKEN)
    page.click("form.plx-login button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def state_cell(page: Any, plugin: str) -> Any:
    return page.locator(f"#plugin-{plugin} [data-role=state]")


# --- the tests ---------------------------------------------------------------------------


def test_log_in_with_the_admin_token(page):
    page.goto("/plugins")
    assert "/login" in page.url  # not logged in yet
    page.fill("#token", "not-the-token")
    page.click("form.plx-login button[type=submit]")
    sync_api.expect(page.locator("#token-error")).to_have_text("That is not the admin token.")
    shot(page, "01-login-refused")
    page.fill("#token", TOKEN)
    page.click("form.plx-login button[type=submit]")
    page.wait_for_url("**/plugins")
    sync_api.expect(page.locator("h1")).to_have_text("Plugins")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["plexichat_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert TOKEN not in session["value"]
    assert page.evaluate("document.cookie") == ""  # invisible to scripts
    shot(page, "02-plugins")


def test_the_overview_shows_version_health_and_counts(page):
    page.goto("/")
    sync_api.expect(page.locator("#host-health")).to_have_text("ok")
    sync_api.expect(page.locator("h1")).to_contain_text("PlexiChat 3.")
    sync_api.expect(page.locator('.plx-count[data-state="started"]')).to_have_text("2")
    shot(page, "03-overview")


def test_disable_and_re_enable_a_plugin(page):
    log_in(page)
    sync_api.expect(state_cell(page, "panel")).to_have_text("started")
    page.click("#plugin-panel button[data-action=disable]")
    page.wait_for_url("**/plugins")
    sync_api.expect(state_cell(page, "panel")).to_have_text("disabled")
    sync_api.expect(page.locator("#plugin-panel [data-role=reason]")).to_have_text(
        "disabled by the operator")
    sync_api.expect(page.locator(".plx-flash")).to_contain_text("panel is now disabled")
    shot(page, "04-plugin-disabled")
    page.click("#plugin-panel button[data-action=enable]")
    page.wait_for_url("**/plugins")
    sync_api.expect(state_cell(page, "panel")).to_have_text("started")
    sync_api.expect(page.locator("#plugin-panel [data-role=health]")).to_have_text("healthy")
    shot(page, "05-plugin-enabled")


def test_invalid_settings_show_the_error_next_to_the_field(page):
    log_in(page, "/plugins/panel")
    page.fill("#setting-interval", "0")
    page.fill("#setting-greeting", "x")
    page.click("#settings-form button[type=submit]")
    interval = page.locator('.plx-field[data-field="interval"]')
    sync_api.expect(interval.locator(".plx-field-error")).to_contain_text(
        "less than the minimum of 1")
    sync_api.expect(interval).to_have_class("plx-field plx-field-integer plx-invalid")
    sync_api.expect(page.locator('.plx-field[data-field="greeting"] .plx-field-error')
                    ).to_contain_text("too short")
    sync_api.expect(page.locator("#setting-interval")).to_have_value("0")
    sync_api.expect(page.locator(".plx-flash")).to_have_count(0)
    shot(page, "06-settings-invalid")


def test_valid_settings_persist_after_a_reload(page):
    log_in(page, "/plugins/panel")
    page.fill("#setting-greeting", "bonjour")
    page.fill("#setting-interval", "120")
    page.fill("#setting-ratio", "0.25")
    page.check("#setting-verbose")
    page.select_option("#setting-mode", label="careful")
    page.fill("#setting-channels", "alpha\nbeta")
    page.fill("#setting-api_key", "sekrit-value")
    page.click("#settings-form button[type=submit]")
    sync_api.expect(page.locator(".plx-flash")).to_have_text("Settings saved.")
    page.reload()
    sync_api.expect(page.locator("#setting-greeting")).to_have_value("bonjour")
    sync_api.expect(page.locator("#setting-interval")).to_have_value("120")
    sync_api.expect(page.locator("#setting-ratio")).to_have_value("0.25")
    sync_api.expect(page.locator("#setting-verbose")).to_be_checked()
    sync_api.expect(page.locator("#setting-mode option:checked")).to_have_text("careful")
    sync_api.expect(page.locator("#setting-channels")).to_have_value("alpha\nbeta")
    sync_api.expect(page.locator("#setting-api_key")).to_have_value("")
    sync_api.expect(page.locator("#setting-api_key")).to_have_attribute(
        "placeholder", "stored — leave empty to keep it")
    assert "sekrit-value" not in page.content()
    shot(page, "07-settings-saved")


def test_open_a_plugin_ui_page(page):
    log_in(page, "/plugins/panel")
    page.click("text=Panel Dashboard")
    page.wait_for_url("**/plugins/panel/ui/dashboard/")
    heading = page.locator("#panel-dashboard")
    sync_api.expect(heading).to_have_text("Panel Dashboard")
    # its stylesheet, a relative link inside the page's folder, is served too
    assert heading.evaluate("e => getComputedStyle(e).color") == "rgb(10, 120, 40)"
    shot(page, "08-plugin-ui-page")


def test_search_the_docs_and_see_the_highlighted_phrase(page):
    page.goto("/docs")
    sync_api.expect(page.locator('a[href="/docs/plugins/panel/README.md"]').first
                    ).to_be_visible()
    shot(page, "09-docs-index")
    page.fill("#docs-q", DOCS_PHRASE)
    page.press("#docs-q", "Enter")
    page.wait_for_url("**/docs/search?q=*")
    marks = page.locator(".plx-hits mark")
    sync_api.expect(marks.first).to_have_text(DOCS_PHRASE)
    shot(page, "10-docs-search")
    page.click('.plx-hit a[href="/docs/plugins/panel/README.md"]')
    sync_api.expect(page.locator(".plx-doc-body h1")).to_have_text("Panel guide")
    sync_api.expect(page.locator(".plx-doc-body")).to_contain_text(DOCS_PHRASE)
    shot(page, "11-docs-page")


def test_the_theme_css_is_applied_to_every_page(page):
    for path in ("/", "/docs", "/login"):
        page.goto(path)
        color = page.locator(".plx-brand").evaluate("e => getComputedStyle(e).color")
        assert color == THEME_COLOR, path


def test_a_real_server_refuses_traversal_out_of_a_plugin_page(server):
    host, port = server.removeprefix("http://").split(":")
    for raw in ("/plugins/panel/ui/dashboard/../../plugin.json",
                "/plugins/panel/ui/dashboard/%2e%2e/%2e%2e/plugin.json",
                "/plugins/panel/ui/dashboard/..%2f..%2f__init__.py",
                "/plugins/panel/ui/dashboard/..\\..\\plugin.json",
                "/plugins/panel/ui//etc/passwd"):
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("GET", raw)  # sent as written: nothing normalises it
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 404, (raw, body[:200])


# --- the API docs, with the network cut off ----------------------------------------------


def cut_off(page: Any) -> list[str]:
    """Let ``page`` reach 127.0.0.1 only: every other request is aborted and its URL
    added to the returned list."""
    import urllib.parse

    blocked: list[str] = []

    def handle(route: Any) -> None:
        url = route.request.url
        if urllib.parse.urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(url)
            route.abort("internetdisconnected")

    page.route("**/*", handle)
    return blocked


def served_operations(server: str) -> list[tuple[str, str, str, str]]:
    """``(method, path, summary, operationId)`` of every operation in the host's schema."""
    import json

    with _opener.open(f"{server}/api/openapi.json", timeout=5) as response:
        schema = json.load(response)
    methods = ("get", "put", "post", "delete", "patch")
    return [(method, path, item[method].get("summary", ""), item[method]["operationId"])
            for path, item in schema["paths"].items() for method in methods if method in item]


def test_swagger_ui_renders_every_operation_without_internet(page, server):
    blocked = cut_off(page)
    operations = served_operations(server)
    page.goto("/api/docs")
    register = page.locator('.opblock-post:has(.opblock-summary-path[data-path="/api/v1/users"])')
    sync_api.expect(register).to_be_visible()
    sync_api.expect(page.locator(".opblock")).to_have_count(len(operations))
    # The request body of registration, with its example: the field is `name`.
    register.locator(".opblock-summary").click()
    sync_api.expect(register.locator(".opblock-body")).to_contain_text('"name": "ada"')
    # "Try it out" calls the host from the page (its Content-Security-Policy allows that)
    live = page.locator(
        '.opblock-get:has(.opblock-summary-path[data-path="/api/v1/health/live"])')
    live.locator(".opblock-summary").click()
    live.locator("button.try-out__btn").click()
    live.locator("button.execute").click()
    sync_api.expect(live.locator(".live-responses-table tbody .response-col_status").first
                    ).to_have_text("200")
    sync_api.expect(live.locator(".live-responses-table")).to_contain_text('"status": "ok"')
    shot(page, "12-api-docs-offline")
    assert blocked == [], f"/api/docs asked for something outside the host: {blocked}"


def test_redoc_renders_every_operation_without_internet(page, server):
    blocked = cut_off(page)
    operations = served_operations(server)
    page.goto("/api/redoc")
    sections = page.locator('[data-section-id^="operation/"]')
    sync_api.expect(sections.first).to_be_visible()
    shown = sections.evaluate_all("all => all.map(e => e.dataset.sectionId)")
    # an operation with two tags is shown under each
    assert set(shown) == {f"operation/{op[3]}" for op in operations}
    register = next(op for op in operations if op[:2] == ("post", "/api/v1/users"))
    section = page.locator(f'[data-section-id="operation/{register[3]}"]').first
    sync_api.expect(section.locator("h2")).to_have_text(register[2])
    sync_api.expect(section).to_contain_text("name")
    shot(page, "13-api-redoc-offline")
    assert blocked == [], f"/api/redoc asked for something outside the host: {blocked}"
