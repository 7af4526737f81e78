"""Plugins installed and uninstalled while the host runs: ``POST /api/v1/plugins/rescan``
and ``POST /api/v1/plugins/install`` (pip replaced by a stand-in that writes the
distribution, so these run fast)."""

from __future__ import annotations

import logging
import shutil
import sys
import textwrap
from pathlib import Path

from support.api import AUTH, TOKEN, post
from support.dists import make_plugin
from support.host import healthy_code, plugins_by_name, running_host

import plexichat.web.install_runner

PLUGINS = ("healthy", "late", "needy", "provider", "slow", "upgradable")


def ours(client):
    """The fixture plugins the host lists (the environment may hold other plugins)."""
    return {n: p for n, p in plugins_by_name(client).items() if n in PLUGINS}


def _uninstall(site, name):
    """What pip uninstall does to a fixture distribution."""
    shutil.rmtree(site / f"plx_{name}")
    for info in site.glob(f"plx_{name}-*.dist-info"):
        shutil.rmtree(info)


def test_rescan_needs_the_admin_token(site, tmp_path):
    with running_host(tmp_path / "data", *PLUGINS, admin_token=TOKEN) as client:
        assert client.post("/api/v1/plugins/rescan").status_code == 401
        assert client.post("/api/v1/plugins/rescan",
                           headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert client.post("/api/v1/plugins/install", json={"specs": ["x"]}).status_code == 401


def test_installed_plugin_is_served_and_uninstalled_one_vanishes(site, tmp_path):
    make_plugin(site, "healthy", code=healthy_code())
    with running_host(tmp_path / "data", *PLUGINS, admin_token=TOKEN) as client:
        assert set(ours(client)) == {"healthy"}
        assert client.get("/api/v1/late").status_code == 404

        make_plugin(site, "late", code=healthy_code("/api/v1/late", "late"))
        report = post(client, "/api/v1/plugins/rescan").json()
        assert report["added"] == ["late"] and report["started"] == ["late"], report
        assert report["plugins"][0]["state"] == "started"
        assert report["python"] == sys.executable
        assert client.get("/api/v1/late").json() == {"ok": "late"}

        nothing = post(client, "/api/v1/plugins/rescan").json()
        assert not any(nothing[k] for k in ("added", "removed", "upgraded", "started"))

        _uninstall(site, "late")
        report = post(client, "/api/v1/plugins/rescan").json()
        assert report["removed"] == ["late"], report
        assert set(ours(client)) == {"healthy"}
        assert client.get("/api/v1/late").status_code == 404
        assert "plx_late" not in sys.modules
        assert client.get("/api/v1/healthy").json() == {"ok": "healthy"}

        # installed again: imported afresh and served again
        make_plugin(site, "late", code=healthy_code("/api/v1/late", "again"))
        assert post(client, "/api/v1/plugins/rescan").json()["started"] == ["late"]
        assert client.get("/api/v1/late").json() == {"ok": "again"}


def test_failing_check_leaves_it_installed_not_started_until_fixed(site, tmp_path):
    with running_host(tmp_path / "data", *PLUGINS, admin_token=TOKEN) as client:
        make_plugin(site, "needy", code=healthy_code("/api/v1/needy", "needy"),
                    manifest={"name": "needy", "dependencies": ["provider>=1.0"]})
        report = post(client, "/api/v1/plugins/rescan").json()
        assert report["added"] == ["needy"] and report["started"] == []
        assert report["not_started"] == {
            "needy": "rejected: requires 'provider', which is not installed"}
        listed = plugins_by_name(client)["needy"]
        assert (listed["state"], listed["reason"]) == (
            "rejected", "requires 'provider', which is not installed")
        assert client.get("/api/v1/needy").status_code == 404

        make_plugin(site, "provider", code=healthy_code("/api/v1/provider", "provider"))
        report = post(client, "/api/v1/plugins/rescan").json()
        assert report["added"] == ["provider"]
        assert report["started"] == ["provider", "needy"], report  # dependency first
        assert client.get("/api/v1/needy").json() == {"ok": "needy"}

        # the dependency goes away: its dependent is stopped, with the reason
        _uninstall(site, "provider")
        report = post(client, "/api/v1/plugins/rescan").json()
        assert report["removed"] == ["provider"]
        assert report["stopped"] == {"needy": "requires 'provider', which is not installed"}
        assert plugins_by_name(client)["needy"]["state"] == "rejected"
        assert client.get("/api/v1/needy").status_code == 404


def test_a_rejected_plugin_is_logged_once_per_change_not_per_rescan(site, tmp_path, caplog):
    def rejections():
        return [r.getMessage() for r in caplog.records
                if r.name == "plexichat.host" and "rejected" in r.getMessage()]

    caplog.set_level(logging.INFO, logger="plexichat")
    with running_host(tmp_path / "data", *PLUGINS, admin_token=TOKEN) as client:
        make_plugin(site, "needy", manifest={"name": "needy",
                                             "dependencies": ["provider>=1.0"]})
        for _ in range(3):
            post(client, "/api/v1/plugins/rescan")
        assert rejections() == [
            "plugin needy rejected: requires 'provider', which is not installed"]

        _uninstall(site, "needy")
        make_plugin(site, "needy", version="1.1.0",
                    manifest={"name": "needy", "dependencies": ["late>=1.0"]})
        post(client, "/api/v1/plugins/rescan")
        post(client, "/api/v1/plugins/rescan")
        assert rejections()[1:] == [
            "plugin needy rejected: requires 'late', which is not installed"]


def test_upgrade_of_imported_code_says_restart_required(site, tmp_path):
    make_plugin(site, "upgradable", code=healthy_code("/api/v1/upgradable", "v1"))
    with running_host(tmp_path / "data", *PLUGINS, admin_token=TOKEN) as client:
        assert client.get("/api/v1/upgradable").json() == {"ok": "v1"}
        _uninstall(site, "upgradable")
        make_plugin(site, "upgradable", code=healthy_code("/api/v1/upgradable", "v2"),
                    version="2.0.0")
        report = post(client, "/api/v1/plugins/rescan").json()
        assert report["upgraded"] == ["upgradable"]
        assert report["restart_required"] == ["upgradable"]
        [shown] = report["plugins"]
        assert shown["state"] == "started"
        assert shown["reason"].startswith("restart required: plx-upgradable 2.0.0 is "
                                          "installed, but 1.0.0 is imported")
        assert shown["version"] == "1.0.0"  # what runs, not what is on disk
        assert client.get("/api/v1/upgradable").json() == {"ok": "v1"}


def test_rescan_while_starting_waits_and_starts_nothing_twice(site, tmp_path):
    make_plugin(site, "slow", code="""
        import asyncio
        from plexichat import hookimpl

        STARTS = []

        @hookimpl
        async def startup(context):
            STARTS.append(1)
            await asyncio.sleep(0.5)
    """)
    with running_host(tmp_path / "data", *PLUGINS, admin_token=TOKEN, wait=False) as client:
        report = post(client, "/api/v1/plugins/rescan").json()
        assert report["started"] == [] and report["added"] == [], report
        assert ours(client)["slow"]["state"] == "started"
        assert sys.modules["plx_slow"].STARTS == [1]


def test_install_endpoint_runs_pip_then_rescans(site, tmp_path, monkeypatch):
    fake_pip = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        if "--dry-run" in sys.argv:  # the plan: an install changing nothing
            print('{{"version": "1", "install": []}}')
            sys.exit(0)
        print("Collecting " + " ".join(sys.argv[1:]))
        if "broken" in sys.argv:
            print("ERROR: no such distribution")
            sys.exit(1)
        if "plx-noop" in sys.argv:
            sys.exit(0)
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from support.dists import make_plugin
        from support.host import healthy_code
        make_plugin(Path({str(site)!r}), "late",
                    code=healthy_code("/api/v1/late", "late"))
        print("Successfully installed plx-late-1.0.0")
    """)
    # The install job runs in a child process: its pip_command is replaced there, and the
    # stand-in's first line shows the action and arguments it got.
    job = textwrap.dedent(f"""
        import sys
        import plexichat.devkit.installer as installer
        from plexichat.devkit.install_job import main
        installer.pip_command = lambda action, args: [
            sys.executable, "-c", {fake_pip!r}, action, *args]
        sys.exit(main())
    """)
    monkeypatch.setattr(plexichat.web.install_runner, "job_command",
                        lambda: [sys.executable, "-c", job])
    with running_host(tmp_path / "data", *PLUGINS, admin_token=TOKEN) as client:
        failed = client.post("/api/v1/plugins/install", headers=AUTH,
                             json={"specs": ["broken"]})
        assert failed.status_code == 422
        assert failed.json()["log"][-1] == "ERROR: no such distribution"
        assert "late" not in ours(client)

        response = client.post("/api/v1/plugins/install", headers=AUTH,
                               json={"specs": ["plx-late"], "upgrade": True})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["log"][0] == "Collecting install --upgrade plx-late"
        assert body["log"][-1] == "Successfully installed plx-late-1.0.0"
        assert body["rescan"]["started"] == ["late"]
        assert body["problems"] == []
        assert client.get("/api/v1/late").json() == {"ok": "late"}

        wheel_url = "http://127.0.0.1:9/wheels/plx_late-1.0.0-py3-none-any.whl"
        again = client.post("/api/v1/plugins/install", headers=AUTH, json={
            "specs": [wheel_url], "index_url": "http://127.0.0.1:9/simple/",
            "extra_index_urls": ["http://127.0.0.1:8/simple/"]})
        assert again.status_code == 200, again.text
        assert again.json()["log"][0] == (
            "Collecting install --index-url http://127.0.0.1:9/simple/ --extra-index-url "
            f"http://127.0.0.1:8/simple/ {wheel_url}")  # a URL, not a missing file
        assert again.json()["problems"] == []  # the same version: already installed

        noop = client.post("/api/v1/plugins/install", headers=AUTH,
                           json={"specs": ["plx-noop"]})
        assert noop.status_code == 200, noop.text
        assert noop.json()["problems"] == [
            "nothing was installed: no plugin was added or changed (pip installed or "
            "changed: nothing)"]

        missing = client.post("/api/v1/plugins/install", headers=AUTH,
                              json={"specs": ["./no/such/wheel.whl"]})
        assert missing.status_code == 422
        assert "no such file" in missing.json()["detail"]
