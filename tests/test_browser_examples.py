"""The web UI in Debian's Chromium (Playwright) against ``plexichat serve`` on 127.0.0.1,
with every example plugin installed, plus three fixture plugins: ``broken`` (its startup
raises), ``longhaul`` (a long route, a long task name) and ``crashy`` (a task that keeps
failing with a long error, until the plugin is quarantined).

- The plugin pages' tables and lists stay inside their columns at 1280 and 800 px
  (measured: scroll widths and bounding boxes against the column and the viewport).
- Tasks are named by their function; "no checks" where a plugin has none; the
  overview's health counts the failed plugin; ``/favicon.ico`` is the linked icon.
- ``/chat`` in two browser contexts at once: one user posts, the other sees it arrive
  over the WebSocket without reloading; ``/echo`` and ``/roll`` get echo_bot's replies,
  ``/ask`` ai_node's answer;
  moderation's masking and its refusal (with the reason) show; theme_dark's colours
  apply; a user who only uses the keyboard registers, creates a channel and posts. The
  user token never appears in a URL or the server's log.

Screenshots go to ``test-artifacts/browser/``. Chromium is ``/usr/bin/chromium``, never
downloaded; the tests fail (not skip) when it cannot start.
"""

from __future__ import annotations

import json
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
from support.dists import make_plugin

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (pip install -e '.[test]'); "
           "the browser tests need it",
)

pytestmark = pytest.mark.browser

WIDTHS = (1280, 800)
LONG_TASK = "deliver_reminders_to_every_subscriber_of_every_channel_in_the_workspace"
LONG_ROUTE = "/api/v1/longhaul/" + "-".join(["a-very-long-route-segment"] * 6)
PASSWORD = "correct horse battery"
DARK_BG = "rgb(15, 18, 24)"  # theme_dark's --plx-bg, #0f1218

BROKEN = """
    from plexichat import hookimpl

    @hookimpl
    def startup(context):
        raise RuntimeError("the broken fixture refuses to start")
"""

LONGHAUL = f"""
    import asyncio
    from fastapi import APIRouter
    from plexichat import hookimpl

    router = APIRouter()

    @router.get({LONG_ROUTE!r})
    def long_route():
        return {{}}

    @hookimpl
    def register_routers():
        return router

    @hookimpl
    def register_background_tasks():
        async def {LONG_TASK}():
            await asyncio.Event().wait()

        async def poll_the_upstream_service():
            await asyncio.Event().wait()

        return [{LONG_TASK}, poll_the_upstream_service]
"""

CRASHY = """
    from plexichat import hookimpl

    @hookimpl
    def register_background_tasks():
        async def fails_with_a_long_message():
            raise RuntimeError("x" * 300)

        return [fails_with_a_long_message]
"""

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    try:
        with _opener.open(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except (urllib.error.URLError, OSError):
        return 0, None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python -m plexichat serve`` with the example plugins and the two fixtures;
    yields ``(url, log path)``."""
    root = tmp_path_factory.mktemp("browser-examples")
    site = root / "site"
    site.mkdir()
    make_plugin(site, "broken", code=BROKEN)
    make_plugin(site, "longhaul", code=LONGHAUL)
    make_plugin(site, "crashy", code=CRASHY)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
        PLEXICHAT_ADMIN_TOKEN=TOKEN,
        PLEXICHAT_DATA_DIR=str(root / "data"),
        PLEXICHAT_CACHE_DIR=str(root / "cache"),
    )
    for name in ("PLEXICHAT_DATABASE_URL", "PLEXICHAT_LOAD_PLUGINS",
                 "PLEXICHAT_DISABLE_PLUGINS"):
        env.pop(name, None)
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plexichat", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "info"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while _call(base, "GET", "/api/v1/health/live")[0] != 200 or not _started(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                output = log_path.read_text(errors="replace")[-4000:]
                states = _call(base, "GET", "/api/v1/plugins")[1]
                pytest.fail("plexichat serve did not start the example and fixture plugins "
                            "(install the examples: python scripts/install_example_plugins"
                            f".py); plugins: {states}\nlog:\n{output}")
            time.sleep(0.1)
        yield base, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _started(base: str) -> bool:
    status, plugins = _call(base, "GET", "/api/v1/plugins")
    if status != 200:
        return False
    states = {p["name"]: p["state"] for p in plugins}
    return (states.get("broken") == "failed" and states.get("longhaul") == "started"
            and all(states.get(p) == "started" for p in ("moderation", "echo_bot",
                                                          "theme_dark", "ai_node")))


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium under Playwright; the test fails saying why when it cannot."""
    with launch_chromium() as browser:
        yield browser


class Browsers:
    """Opens browser contexts on the server and checks each for JavaScript errors and
    for the user token in a URL when the test ends."""

    def __init__(self, chromium: Any, base: str) -> None:
        self.chromium = chromium
        self.base = base
        self.contexts: list[Any] = []
        self.errors: list[str] = []
        self.urls: list[str] = []

    def page(self, width: int = 1280) -> Any:
        context = self.chromium.new_context(base_url=self.base,
                                            viewport={"width": width, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsers(chromium, server):
    opened = Browsers(chromium, server[0])
    try:
        yield opened
    finally:
        opened.close()
    assert not opened.errors, f"JavaScript errors on the page: {opened.errors}"


def log_in_admin(page: Any, next_path: str) -> None:
    page.goto(next_path)
    page.fill("#token", TOKEN)
    page.click("form.plx-login button[type=submit]")
    page.wait_for_url(f"**{next_path}")


# --- the operator's pages ----------------------------------------------------------------

OVERFLOW = """() => {
  const viewport = document.documentElement.clientWidth;
  const bad = [];
  if (document.documentElement.scrollWidth > viewport) {
    bad.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${viewport}`);
    const wide = [...document.querySelectorAll("body *")].filter(element => {
      const spills = element.clientWidth > 0 && element.scrollWidth > element.clientWidth + 1
        && getComputedStyle(element).overflowX === "visible";
      return spills || element.getBoundingClientRect().right > viewport + 1;
    });
    for (const element of wide.filter(e => !wide.some(o => o !== e && e.contains(o)))) {
      const right = element.getBoundingClientRect().right;
      const text = element.textContent.trim().slice(0, 40);
      bad.push(`${element.tagName}.${element.className} (${element.scrollWidth} wide, ` +
               `ends at ${right}): ${text}`);
    }
  }
  for (const column of document.querySelectorAll(".plx-grid > *, .plx-summary > *")) {
    const title = (column.querySelector("h2") || column).textContent.trim().slice(0, 30);
    const box = column.getBoundingClientRect();
    if (column.scrollWidth > column.clientWidth + 1) {
      bad.push(`${title}: scrollWidth ${column.scrollWidth} > clientWidth ${column.clientWidth}`);
    }
    if (box.right > viewport + 1) { bad.push(`${title}: ends at ${box.right} > ${viewport}`); }
    for (const part of column.querySelectorAll("table, ul, dl, code, td")) {
      const inner = part.getBoundingClientRect();
      if (inner.right > box.right + 1 || inner.left < box.left - 1) {
        bad.push(`${title}: a ${part.tagName} spans ${inner.left}-${inner.right}, ` +
                 `outside its column ${box.left}-${box.right}`);
      }
    }
  }
  return bad;
}"""


def test_plugin_pages_stay_inside_their_columns_at_1280_and_800_px(browsers, server):
    names = sorted(p["name"] for p in _call(server[0], "GET", "/api/v1/plugins")[1])
    assert {"longhaul", "crashy", "broken", "backup_node"} <= set(names)
    for width in WIDTHS:
        page = browsers.page(width)
        log_in_admin(page, "/plugins")
        assert page.evaluate(OVERFLOW) == [], "/plugins"
        for name in names:
            page.goto(f"/plugins/{name}")
            sync_api.expect(page.locator("h1")).to_contain_text(name)
            assert page.evaluate(OVERFLOW) == [], f"/plugins/{name} at {width} px"
        page.goto("/plugins/longhaul")
        shot(page, f"20-plugin-longhaul-{width}px")


def test_tasks_are_named_by_their_function_and_no_checks_is_not_healthy(browsers):
    page = browsers.page()
    log_in_admin(page, "/plugins/longhaul")
    tasks = page.locator("section.plx-grid table").filter(has_text="last error")
    sync_api.expect(tasks).to_contain_text(LONG_TASK)
    sync_api.expect(tasks).to_contain_text("poll_the_upstream_service")
    assert "<locals>" not in tasks.inner_text()
    sync_api.expect(page.locator("#plugin-health")).to_have_text("no checks")
    page.goto("/plugins")
    sync_api.expect(page.locator("#plugin-longhaul [data-role=health]")).to_have_text(
        "no checks")


def test_the_overview_health_counts_failed_and_quarantined_plugins(browsers, server):
    deadline = time.monotonic() + 20
    while _call(server[0], "GET", "/api/v1/plugins/crashy")[1]["state"] != "quarantined":
        assert time.monotonic() < deadline, "crashy was never quarantined"
        time.sleep(0.1)
    page = browsers.page()
    page.goto("/")
    sync_api.expect(page.locator("#host-health")).to_have_text("degraded")
    health = page.locator(".plx-card").first
    sync_api.expect(health).to_contain_text(
        "broken failed: startup raised RuntimeError: the broken fixture refuses to start")
    sync_api.expect(health).to_contain_text("crashy quarantined: fault budget spent")
    sync_api.expect(page.locator('.plx-count[data-state="failed"]')).to_have_text("1")
    sync_api.expect(page.locator('.plx-count[data-state="quarantined"]')).to_have_text("1")
    assert page.evaluate(OVERFLOW) == []
    shot(page, "21-overview-degraded")


def test_the_favicon_is_linked_and_served(browsers):
    page = browsers.page()
    page.goto("/")
    href = page.locator('link[rel="icon"]').evaluate("e => e.href")
    assert href.endswith("/favicon.ico")
    response = page.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"] == "image/vnd.microsoft.icon"
    assert response.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file


# --- the chat page -----------------------------------------------------------------------


def register(page: Any, name: str) -> None:
    page.goto("/chat")
    page.fill("#chat-name", name)
    page.fill("#chat-password", PASSWORD)
    page.click("#chat-register")
    sync_api.expect(page.locator("#chat-me")).to_have_text(name)
    sync_api.expect(page.locator("#chat-connection")).to_have_text("live")


def messages(page: Any) -> Any:
    return page.locator("#chat-log .plx-chat-message")


def post(page: Any, text: str) -> None:
    page.fill("#chat-text", text)
    page.press("#chat-text", "Enter")


def set_moderation(base: str, **settings: Any) -> None:
    status, body = _call(base, "PUT", "/api/v1/plugins/moderation/settings", settings)
    assert status == 200, body


def test_two_users_chat_live_and_see_what_the_plugins_do(browsers, server):
    base, log_path = server
    set_moderation(base, blocked_words=["darn"], action="mask")
    ada, bob = browsers.page(), browsers.page()
    register(ada, "ada")
    ada.fill("#chat-channel-name", "lobby")
    ada.press("#chat-channel-name", "Enter")
    sync_api.expect(ada.locator("#chat-title")).to_have_text("#lobby")
    register(bob, "bob")
    bob.click('#chat-channels [data-channel="lobby"]')
    sync_api.expect(bob.locator("#chat-title")).to_have_text("#lobby")
    commands = bob.locator("#chat-commands")
    for command in ("/echo", "/roll", "/ask"):
        sync_api.expect(commands).to_contain_text(command)

    post(ada, "hello bob")  # arrives at bob's over the WebSocket: he never reloads
    sync_api.expect(messages(bob).last).to_contain_text("hello bob")
    sync_api.expect(messages(bob).last).to_have_attribute("data-author", "ada")

    post(bob, "/echo hi")
    for page in (ada, bob):
        reply = messages(page).last
        sync_api.expect(reply).to_have_attribute("data-author", "bot:echo_bot")
        sync_api.expect(reply.locator(".plx-chat-text")).to_have_text("hi")
        sync_api.expect(reply).to_have_class("plx-chat-message plx-chat-bot")
    post(bob, "/roll 2d6")
    sync_api.expect(messages(ada).last.locator(".plx-chat-text")).to_contain_text("2d6")
    sync_api.expect(messages(ada).last).to_have_attribute("data-author", "bot:echo_bot")

    post(bob, "/ask hello")  # ai_node's answer, from its bot
    sync_api.expect(messages(ada).last).to_have_attribute("data-author", "bot:ai_node")
    sync_api.expect(messages(ada).last.locator(".plx-chat-text")).to_contain_text(
        "[plexichat-ai-node]")

    post(ada, "what a darn day")  # moderation masks it, for everyone
    sync_api.expect(messages(bob).last.locator(".plx-chat-text")).to_have_text(
        "what a **** day")
    sync_api.expect(ada.locator("#chat-notice")).to_contain_text("filter changed")
    shot(ada, "22-chat-ada")

    set_moderation(base, blocked_words=["darn"], action="reject")
    post(ada, "darn it")  # refused: the reason shows, the text stays to be edited
    error = ada.locator("#chat-post-error")
    sync_api.expect(error).to_contain_text("Not posted")
    sync_api.expect(error).to_contain_text("blocked words")
    sync_api.expect(ada.locator("#chat-text")).to_have_value("darn it")
    sync_api.expect(messages(bob).last.locator(".plx-chat-text")).to_have_text(
        "what a **** day")
    shot(ada, "23-chat-rejected")
    shot(bob, "24-chat-bob")

    # theme_dark's palette is applied to the chat page
    body = ada.locator("body").evaluate("e => getComputedStyle(e).backgroundColor")
    assert body == DARK_BG

    token = ada.evaluate("sessionStorage.getItem('plexichat.chat.token')")
    assert token and len(token) > 10
    assert not [url for url in browsers.urls if token in url]
    assert token not in log_path.read_text(errors="replace")
    set_moderation(base, blocked_words=[], action="mask")


def test_a_keyboard_user_registers_creates_a_channel_and_posts(browsers):
    page = browsers.page()
    page.goto("/chat")
    sync_api.expect(page.locator("#chat-name")).to_be_focused()
    page.keyboard.type("kim")
    page.keyboard.press("Tab")
    sync_api.expect(page.locator("#chat-password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    sync_api.expect(page.locator("#chat-login")).to_be_focused()
    page.keyboard.press("Tab")
    sync_api.expect(page.locator("#chat-register")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#chat-me")).to_have_text("kim")
    sync_api.expect(page.locator("#chat-channel-name")).to_be_focused()  # no channel joined yet
    page.keyboard.type("keys")
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#chat-title")).to_have_text("#keys")
    sync_api.expect(page.locator("#chat-text")).to_be_focused()
    page.keyboard.type("typed, never clicked")
    page.keyboard.press("Enter")
    sync_api.expect(messages(page).last.locator(".plx-chat-text")).to_have_text(
        "typed, never clicked")
    sync_api.expect(page.locator("#chat-text")).to_have_value("")
    sync_api.expect(page.locator("#chat-text")).to_be_focused()
    shot(page, "25-chat-keyboard")
