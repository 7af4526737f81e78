"""Installing a plugin from the web UI, in a real browser against a served host: the
operator sees pip's plan first, a refusal for a plugin that would break the host, and
for a good plugin the install's progress, then its success.

The host runs ``plexichat serve`` with a throwaway environment's interpreter
(:func:`support.wheels.serve_in`), so what it installs lands there; pip has
``PIP_NO_INDEX=1`` and a find-links directory this test writes: a good plugin
(``plx-ui-good``, requiring ``plx-ui-lib``), a fake ``rich`` 12.6.0 and a plugin
requiring ``rich<13`` (the host requires ``rich>=13.7``). Debian's Chromium under
Playwright, as in ``test_browser.py``; screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import importlib.metadata as md

import pytest
from support.browser import launch_chromium, shot
from support.wheels import make_env, serve_in, write_wheel

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (pip install -e '.[test]'); "
           "the browser tests need it",
)

pytestmark = pytest.mark.browser

TOKEN = "browser-install-token"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-install")
    links = root / "links"
    write_wheel(links, "plx-ui-lib", "1.0")
    write_wheel(links, "plx-ui-good", "1.0", requires=["plx-ui-lib>=1"], plugin="ui_good")
    write_wheel(links, "rich", "12.6.0")
    write_wheel(links, "plx-old-rich", "1.0", requires=["rich<13"], plugin="old_rich")
    env = make_env(root / "venv", links)
    with serve_in(env, root / "served", {"PLEXICHAT_ADMIN_TOKEN": TOKEN}) as server:
        yield server, env


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, served):
    server, _env = served
    context = browser.new_context(base_url=server.url,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto("/install")
    page.fill("#token", TOKEN)
    page.click("form.plx-login button[type=submit]")
    page.wait_for_url("**/install")
    yield page
    context.close()


def show_plan(page, spec: str) -> None:
    page.fill("#specs", spec)
    page.click("#install-plan-form button[data-action=plan]")
    page.wait_for_url("**/install/plan")


def test_a_plan_breaking_the_host_is_shown_as_a_refusal(page, served):
    _server, env = served
    before = env.freeze()
    show_plan(page, "plx-old-rich")
    rich = page.locator("#plan-table tr[data-distribution=rich]")
    sync_api.expect(rich.locator("[data-role=change]")).to_have_text("downgraded")
    sync_api.expect(rich.locator("[data-role=previous]")).to_have_text(md.version("rich"))
    sync_api.expect(rich.locator("[data-role=version]")).to_have_text("12.6.0")
    sync_api.expect(page.locator("#plan-table tr[data-distribution=plx-old-rich]")
                    ).to_contain_text("requested")
    refusal = page.locator("#install-refusal li[data-requirer=plexichat]")
    sync_api.expect(refusal).to_have_text(
        f"rich 12.6.0 would replace {md.version('rich')}, but plexichat "
        f"{md.version('plexichat')} requires rich>=13.7")
    sync_api.expect(page.locator("#install-refusal")).to_contain_text("Nothing was changed.")
    # installing anyway takes an explicit, warned-about force
    confirm = page.locator("#install-confirm-form")
    sync_api.expect(confirm.locator(".plx-warning")).to_contain_text("installing anyway")
    sync_api.expect(confirm.locator("button[data-action=install]")).to_have_text(
        "Install anyway")
    sync_api.expect(confirm.locator("#force")).not_to_be_checked()
    shot(page, "install-refused")
    assert env.freeze() == before


def test_a_good_plugin_shows_its_plan_then_progress_then_success(page, served):
    _server, env = served
    show_plan(page, "plx-ui-good")
    for distribution, requested in (("plx-ui-good", True), ("plx-ui-lib", False)):
        row = page.locator(f"#plan-table tr[data-distribution={distribution}]")
        sync_api.expect(row.locator("[data-role=change]")).to_have_text("new")
        sync_api.expect(row.locator("[data-role=version]")).to_have_text("1.0")
        assert ("requested" in row.inner_text()) is requested
    sync_api.expect(page.locator("#install-refusal")).to_have_count(0)
    assert "plx-ui-good" not in env.freeze()  # the plan installed nothing

    page.click("#install-confirm-form button[data-action=install]")
    page.wait_for_url("**/install/jobs/*")
    job = page.locator("#install-job")
    sync_api.expect(job).to_have_attribute("data-state", "running")
    sync_api.expect(job.locator(".plx-phase[data-status=current]")).to_have_count(1)
    shot(page, "install-running")

    sync_api.expect(job).to_have_attribute("data-state", "succeeded", timeout=90_000)
    statuses = {li.get_attribute("data-phase"): li.get_attribute("data-status")
                for li in page.locator("#install-phases li").all()}
    assert statuses == {"resolve": "done", "download": "done", "build": "skipped",
                        "install": "done", "start": "done"}, statuses
    sync_api.expect(page.locator("#install-success a[data-started=ui_good]")).to_be_visible()
    sync_api.expect(page.locator("#install-log")).to_contain_text(
        "Successfully installed")
    shot(page, "install-succeeded")

    page.goto("/plugins")
    sync_api.expect(page.locator("#plugin-ui_good [data-role=state]")).to_have_text("started")
    assert "plx-ui-good==1.0" in env.freeze()
