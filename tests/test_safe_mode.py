"""Safe mode: a plugin that kills the host at import cannot keep it down.

The served tests run real ``plexichat serve`` processes on 127.0.0.1: a plugin calls
``os._exit`` while being imported (after appending a line to a marker file, so every
import is counted), three starts die, the fourth is in safe mode, imports nothing, and
lets the operator disable the plugin and leave safe mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from support.api import TOKEN
from support.dists import make_plugin
from support.host import make_healthy
from support.served import serve
from support.web import login

from plexichat.boot import BOOT_FILE, READY_WITHIN, SAFE_MODE_AFTER, read_boot_record
from plexichat.cli import main
from plexichat.config import HostSettings
from plexichat.web import create_app

CRASHER = """
    import os

    with open({marker!r}, "a", encoding="utf-8") as fh:
        fh.write("imported\\n")
    os._exit(3)
"""

ENV = {"PLEXICHAT_ADMIN_TOKEN": TOKEN, "PLEXICHAT_URL": "",
       "PLEXICHAT_LOAD_PLUGINS": "", "PLEXICHAT_DISABLE_PLUGINS": ""}


def _imports(marker: Path) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def _cli(site: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PLEXICHAT_URL",)}
    env.update(PLEXICHAT_DATA_DIR=str(data), PLEXICHAT_ADMIN_TOKEN=TOKEN,
               PYTHONPATH=os.pathsep.join([str(site), *(p for p in sys.path if p)]))
    return subprocess.run([sys.executable, "-m", "plexichat", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_three_crashed_starts_then_safe_mode_then_back(tmp_path):
    site, workdir = tmp_path / "site", tmp_path / "host"
    site.mkdir()
    workdir.mkdir()
    marker = tmp_path / "imports.txt"
    data = workdir / "served-data"
    make_plugin(site, "crasher", code=CRASHER.format(marker=str(marker)))
    make_healthy(site)

    for attempt in range(1, SAFE_MODE_AFTER + 1):
        with serve(site, workdir, env=ENV) as host:
            code = host.proc.wait(timeout=120)
            assert code == 3, host.log()  # the plugin's os._exit took the host down
            assert "SAFE MODE" not in host.log()
        assert _imports(marker) == attempt
        assert read_boot_record(data).failed_starts == attempt

    with serve(site, workdir, env=ENV) as host:
        host.wait_ready(within=60)
        log = host.log()
        assert "SAFE MODE: no plugin is imported: the last 3 starts did not reach ready " \
               "within 10 minutes" in log
        with host.client() as client:
            ready = client.get("/api/v1/health/ready")
            assert ready.status_code == 200
            assert ready.json()["status"] == "safe-mode"
            assert ready.json()["safe_mode"] is True
            assert "plexichat safe-mode clear" in ready.json()["safe_mode_reason"]
            listed = {p["name"]: p for p in client.get("/api/v1/plugins").json()}
            assert listed["crasher"]["state"] == "disabled"
            assert listed["crasher"]["reason"] == "safe mode: not loaded"
            assert listed["healthy"]["reason"] == "safe mode: not loaded"
            assert client.get("/api/v1/healthy").status_code == 404
            # starting it on demand is refused too: safe mode imports nothing
            refused = client.post("/api/v1/plugins/healthy/start",
                                  headers={"Authorization": f"Bearer {TOKEN}"})
            assert refused.status_code == 409
            assert "safe mode" in refused.json()["detail"]
            login(client)
            overview = client.get("/").text
            assert 'id="safe-mode"' in overview and "plexichat safe-mode clear" in overview
            assert 'id="host-health">safe-mode<' in overview
        # the operator's CLI works, and imports no plugin either
        helped = _cli(site, data, "--help")
        assert helped.returncode == 0, helped.stderr
        assert "safe mode: plugin commands are not loaded" in helped.stderr
        disabled = _cli(site, data, "plugins", "disable", "crasher")
        assert disabled.returncode == 0, disabled.stderr
        assert "crasher: disabled (disabled by the operator)" in disabled.stdout
        with host.client() as client:
            crasher = client.get("/api/v1/plugins/crasher").json()
            assert crasher["reason"] == "disabled by the operator"
        assert _imports(marker) == SAFE_MODE_AFTER  # nothing imported the plugin
        # safe mode lasts until the operator clears it
        assert read_boot_record(data).safe_mode
        cleared = _cli(site, data, "safe-mode", "clear")
        assert cleared.returncode == 0, cleared.stderr
        assert "cleared 3 failed start(s)" in cleared.stdout

    with serve(site, workdir, env=ENV) as host:
        host.wait_ready(within=60)
        assert "SAFE MODE" not in host.log()
        with host.client() as client:
            assert client.get("/api/v1/health/ready").json()["safe_mode"] is False
            listed = {p["name"]: p for p in client.get("/api/v1/plugins").json()}
            assert listed["healthy"]["state"] == "started"
            assert listed["crasher"]["reason"] == "disabled by the operator"
        assert read_boot_record(data).failed_starts == 0  # ready in time: reset
    assert _imports(marker) == SAFE_MODE_AFTER


def test_serve_safe_mode_flag_imports_nothing_and_keeps_the_count(tmp_path):
    site, workdir = tmp_path / "site", tmp_path / "host"
    site.mkdir()
    workdir.mkdir()
    marker = tmp_path / "imports.txt"
    make_plugin(site, "crasher", code=CRASHER.format(marker=str(marker)))
    with serve(site, workdir, "--safe-mode", env=ENV) as host:
        host.wait_ready(within=60)
        assert "SAFE MODE: no plugin is imported: started with --safe-mode" in host.log()
        with host.client() as client:
            assert client.get("/api/v1/health/ready").json()["safe_mode_reason"] == (
                "started with --safe-mode")
    assert _imports(marker) == 0
    assert read_boot_record(workdir / "served-data").failed_starts == 0


def test_boot_record_counts_and_resets(tmp_path):
    record = read_boot_record(tmp_path)
    assert record.failed_starts == 0 and not record.safe_mode
    for _ in range(SAFE_MODE_AFTER):
        record.begin()
    again = read_boot_record(tmp_path)
    assert again.failed_starts == SAFE_MODE_AFTER and again.safe_mode
    assert again.reached_ready(READY_WITHIN + 1) is False  # too late: still failed
    assert read_boot_record(tmp_path).safe_mode
    assert again.reached_ready(READY_WITHIN - 1) is True
    assert read_boot_record(tmp_path).failed_starts == 0
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, nothing left behind


@pytest.mark.parametrize("content", ["{not json", '{"failed_starts": "3"}', "[]"])
def test_a_damaged_boot_record_is_no_failed_start(tmp_path, content):
    (tmp_path / BOOT_FILE).write_text(content)
    assert read_boot_record(tmp_path).failed_starts == 0


def test_safe_mode_status_and_clear_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path))
    record = read_boot_record(tmp_path)
    for _ in range(SAFE_MODE_AFTER):
        record.begin()
    runner = CliRunner()
    shown = runner.invoke(main, ["safe-mode", "status", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["safe_mode"] is True
    assert runner.invoke(main, ["safe-mode", "clear"]).exit_code == 0
    assert runner.invoke(main, ["safe-mode", "status"]).output.startswith("normal start: 0")


def test_in_process_safe_mode_lists_plugins_without_importing(site, tmp_path):
    make_healthy(site)
    settings = HostSettings(data_dir=tmp_path / "data", admin_token=TOKEN)
    with TestClient(create_app(settings, safe_mode="testing")) as client:
        ready = client.get("/api/v1/health/ready").json()
        assert ready == {"status": "safe-mode", "detail": "no plugin is loaded",
                         "safe_mode": True, "safe_mode_reason": "testing"}
        assert "plx_healthy" not in sys.modules
