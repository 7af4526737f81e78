"""The audit trail of a real ``plexichat serve`` (uvicorn on 127.0.0.1): the API, the
CLI (``plexichat audit``, reading the running host as ``plugins list`` does, and
``--follow``) and the Audit page in Chromium.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from support.api import AUTH, TOKEN
from support.browser import TIMEOUT_MS, launch_chromium, shot
from support.host import make_healthy
from support.served import serve

SECRET = "hunter2-but-longer"


@pytest.fixture
def served(site, tmp_path):
    make_healthy(site)
    with serve(site, tmp_path, env={"PLEXICHAT_ADMIN_TOKEN": TOKEN,
                                    "PLEXICHAT_LOAD_PLUGINS": "healthy",
                                    "PLEXICHAT_DATABASE_URL": ""}) as server:
        server.wait_ready()
        yield server


def cli(tmp_path, *args, extra_env=None):
    env = {**os.environ, "PLEXICHAT_DATA_DIR": str(tmp_path / "served-data"),
           **(extra_env or {})}
    env.pop("PLEXICHAT_ADMIN_TOKEN", None)  # the CLI uses the token the host wrote
    env.pop("PLEXICHAT_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "plexichat", "audit", *args], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_served_host_records_disable_and_a_failed_ui_login(served, tmp_path):
    with served.client() as client:
        assert client.post("/api/v1/plugins/healthy/disable",
                           headers=AUTH).status_code == 200
        refused = client.post("/login", data={"token": SECRET, "next": "/plugins"},
                              headers={"Origin": served.url})
        assert refused.status_code == 401
        answer = client.get("/api/v1/audit", headers=AUTH)
    assert answer.status_code == 200
    assert SECRET not in answer.text
    entries = {e["action"]: e for e in answer.json()["entries"]}
    disable = entries["plugin.disable"]
    assert (disable["actor"], disable["source"], disable["target"]) == (
        "admin:admin-token", "127.0.0.1", "healthy")
    failed = entries["ui.login_failed"]
    assert (failed["actor_kind"], failed["source"]) == ("ui", "127.0.0.1")
    assert entries["plugin.stopped"]["actor"] == "host:local"

    # the CLI reads the running host, as `plugins list` does
    shown = cli(tmp_path, "--json", "--action", "plugin.disable")
    assert shown.returncode == 0, shown.stderr
    [entry] = json.loads(shown.stdout)["entries"]
    assert entry["id"] == disable["id"] and entry["actor"] == "admin:admin-token"
    table = cli(tmp_path, "--limit", "3", extra_env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    assert "ui.login_failed" in table.stdout and "127.0.0.1" in table.stdout


def test_cli_follow_prints_new_entries(served, tmp_path):
    env = {**os.environ, "PLEXICHAT_DATA_DIR": str(tmp_path / "served-data")}
    env.pop("PLEXICHAT_DATABASE_URL", None)
    follower = subprocess.Popen(
        [sys.executable, "-m", "plexichat", "audit", "--follow", "--json", "--interval",
         "0.2", "--action", "plugin.enable"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # it has read the (empty) trail and polls
        with served.client() as client:
            assert client.post("/api/v1/plugins/healthy/enable",
                               headers=AUTH).status_code == 200
        line = _read_line(follower, within=20)
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    entry = json.loads(line)
    assert entry["action"] == "plugin.enable" and entry["target"] == "healthy"


def _read_line(proc, within: float) -> str:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = proc.stdout.readline()
            if line.strip():
                return line
        assert proc.poll() is None, proc.stderr.read()
    raise AssertionError("plexichat audit --follow printed nothing")


@pytest.mark.browser
def test_the_audit_page_shows_a_disable(served):
    pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright")
    from playwright import sync_api

    with launch_chromium() as browser:
        context = browser.new_context(base_url=served.url,
                                      viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto("/plugins")
        page.fill("#token", TOKEN)
        page.click("form.plx-login button[type=submit]")
        page.wait_for_url("**/plugins")
        page.click("#plugin-healthy button[data-action=disable]")
        page.wait_for_url("**/plugins")
        page.click("nav.plx-nav a[href='/audit']")
        page.wait_for_url("**/audit")
        row = page.locator("#audit-table tr[data-action='plugin.disable']")
        sync_api.expect(row).to_have_count(1)
        sync_api.expect(row.locator("[data-role=target]")).to_have_text("healthy")
        sync_api.expect(row.locator("[data-role=actor]")).to_contain_text("ui:")
        sync_api.expect(row.locator("[data-role=source]")).to_contain_text("127.0.0.1")
        page.select_option("#audit-filters select[name=action]", "ui.login")
        page.click("#audit-filters button[type=submit]")
        page.wait_for_url("**/audit?*action=ui.login*")
        sync_api.expect(page.locator("#audit-table tbody tr")).to_have_count(1)
        sync_api.expect(page.locator("#audit-table tbody tr [data-role=action]")
                        ).to_have_text("ui.login")
        shot(page, "audit-page")
        context.close()


def test_replicas_share_one_trail_and_name_themselves(site, tmp_path):
    """Two replicas on one PostgreSQL: an operator's disable through the first is read
    through the second, naming the replica that recorded it; each replica records its
    own stop of the plugin as ``host:<its replica id>``."""
    from support.replicas import replicas

    make_healthy(site)
    admin = {"Authorization": "Bearer cluster-test-admin-token"}
    with replicas(2, site, tmp_path, env={"PLEXICHAT_LOAD_PLUGINS": "healthy"}) as running:
        first, second = (r.client() for r in running)
        ids = [c.get("/api/v1/cluster", headers=admin).json()["replica_id"]
               for c in (first, second)]
        assert first.post("/api/v1/plugins/healthy/disable", headers=admin).status_code == 200
        deadline = time.monotonic() + 20
        while True:
            entries = second.get("/api/v1/audit", params={"plugin": "healthy"},
                                 headers=admin).json()["entries"]
            stops = {e["actor"] for e in entries if e["action"] == "plugin.stopped"}
            if len(stops) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        first.close()
        second.close()
    [disable] = [e for e in entries if e["action"] == "plugin.disable"]
    assert (disable["replica"], disable["source"]) == (ids[0], "127.0.0.1")
    assert stops == {f"host:{ids[0]}", f"host:{ids[1]}"}
