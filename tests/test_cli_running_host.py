"""The CLI acts on the host serving its data directory, or says it stored the change.

The first tests run a real ``plexichat serve`` on a free 127.0.0.1 port and the CLI as
separate processes, as an operator would; the others use the CLI in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from support.dists import make_plugin
from support.host import healthy_code
from support.served import free_port, serve

from plexichat.cli import main
from plexichat.config import HostSettings
from plexichat.runtime import (
    HOST_FILE,
    TOKEN_FILE,
    HostAnnouncement,
    data_dir,
    find_running_host,
)
from plexichat.web import create_app

RAISES = """
    from plexichat import hookimpl

    @hookimpl
    async def startup(context):
        raise RuntimeError("cannot start")
"""

FAST_HASHING = {"PLEXICHAT_PASSWORD_HASH_TIME_COST": "1",
                "PLEXICHAT_PASSWORD_HASH_MEMORY_KIB": "64"}


def _env(site, **extra):
    """The environment of a real process: this test's ``sys.path``, no inherited
    PLEXICHAT_DATA_DIR or admin token (the CLI must find the host on its own)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PLEXICHAT_DATA_DIR", "PLEXICHAT_ADMIN_TOKEN", "PLEXICHAT_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *(p for p in sys.path if p)])
    env.update(extra)
    return env


class Served(NamedTuple):
    base: str
    proc: subprocess.Popen[bytes]
    workdir: Path
    """Where the host runs; its data directory is ``workdir/data``."""
    site: Path
    """Where the fixture plugin is installed (on PYTHONPATH of every process)."""


@contextlib.contextmanager
def serving(root: Path) -> Iterator[Served]:
    """``plexichat serve`` run in ``root/host`` (data: its ./data) with moderation and
    a plugin whose startup raises."""
    pytest.importorskip("plexichat_moderation")
    site, workdir = root / "site", root / "host"
    site.mkdir()
    workdir.mkdir()
    make_plugin(site, "raising_startup", code=RAISES)
    # No inherited data directory, token or URL: the host finds ./data of its workdir.
    env = {"PLEXICHAT_DATA_DIR": "", "PLEXICHAT_ADMIN_TOKEN": "", "PLEXICHAT_URL": "",
           "PLEXICHAT_LOAD_PLUGINS": "moderation,raising_startup", **FAST_HASHING}
    with serve(site, workdir, "--log-level", "info", env=env) as host:
        try:
            host.wait_ready(within=60)
            yield Served(host.url, host.proc, workdir, site)
        finally:
            sys.stdout.write(host.log())


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One served host for the tests that leave it as they found it (module-wide: a
    host takes seconds to start)."""
    with serving(tmp_path_factory.mktemp("shared")) as served:
        yield served


@pytest.fixture
def served(tmp_path):
    """A served host of this test's own (for tests that stop it)."""
    with serving(tmp_path) as host:
        yield host


def cli(site: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``plexichat *args`` in a real process run in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "plexichat", *args], cwd=cwd,
                          env=_env(site, **env), capture_output=True, text=True, timeout=60)


def chat_user(base: str, name: str) -> tuple[dict[str, str], int]:
    """A new user (headers) and a channel they created."""
    credentials = {"name": name, "password": "password-1"}
    assert httpx.post(base + "/api/v1/users", json=credentials,
                      trust_env=False).status_code == 201
    token = httpx.post(base + "/api/v1/users/login", json=credentials,
                       trust_env=False).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    channel = httpx.post(base + "/api/v1/channels", json={"name": "general"},
                         headers=headers, trust_env=False).json()["id"]
    return headers, int(channel)


def test_config_set_applies_to_the_running_host_without_a_restart(shared):
    base, proc, workdir, site = shared
    headers, channel = chat_user(base, "ada")

    def say(text: str) -> httpx.Response:
        return httpx.post(f"{base}/api/v1/channels/{channel}/messages", json={"text": text},
                          headers=headers, trust_env=False)

    done = cli(site, workdir, "plugins", "config", "set", "moderation", "blocked_words",
               '["heck"]')
    assert done.returncode == 0, done.stderr
    assert f"applied to the running host at {base}" in done.stdout
    assert say("what the heck").json()["text"] == "what the ****"

    done = cli(site, workdir, "plugins", "config", "set", "moderation", "action", "reject")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f'moderation: action = "reject"; applied to the running '
                                   f"host at {base}")
    rejected = say("heck again")
    assert rejected.status_code == 400, rejected.text
    assert "blocked words: heck" in rejected.json()["detail"]
    assert proc.poll() is None  # the same process: no restart


def test_plugins_list_shows_the_plugin_the_host_failed(shared):
    base, _, workdir, site = shared
    done = cli(site, workdir, "plugins", "list", "--json")
    assert done.returncode == 0, done.stderr
    items = {i["name"]: i for i in json.loads(done.stdout)}
    assert (items["raising_startup"]["state"], items["raising_startup"]["reason"]) == (
        "failed", "startup raised RuntimeError: cannot start")
    assert items["moderation"]["state"] == "started"

    table = cli(site, workdir, "plugins", "list", COLUMNS="80")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if "raising_startup" in line)
    assert "failed" in row and "startup raised" in table.stdout
    assert f"live, from the host at {base}" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80

    static = json.loads(cli(site, workdir, "plugins", "list", "--json", "--static").stdout)
    assert {i["name"]: i["state"] for i in static}["raising_startup"] == "available"


def test_plugins_info_and_status_read_the_running_host(shared):
    base, proc, workdir, site = shared
    info = cli(site, workdir, "plugins", "info", "raising_startup", COLUMNS="80")
    assert info.returncode == 0, info.stderr
    assert "state: failed — startup raised RuntimeError: cannot start" in info.stdout
    assert f"source: live, from {base}" in info.stdout
    assert "failures (1, newest last):" in info.stdout
    assert "startup: RuntimeError: cannot start" in info.stdout

    done = cli(site, workdir, "status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["data_dir"] == str((workdir / "data").resolve())
    assert status["host"]["url"] == base and status["host"]["pid"] == proc.pid
    assert status["plugins"]["source"] == "live"
    assert status["plugins"]["counts"]["failed"] == 1
    assert status["plugins"]["counts"]["started"] >= 1


@pytest.fixture(autouse=True)
def _no_explicit_host(monkeypatch):
    """Nothing from the developer's shell names a host or a token for the CLI."""
    for var in ("PLEXICHAT_URL", "PLEXICHAT_ADMIN_TOKEN", "PLEXICHAT_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)


def test_enabling_a_plugin_that_fails_again_exits_non_zero(served):
    base, _, workdir, site = served
    done = cli(site, workdir, "plugins", "enable", "raising_startup")
    assert done.returncode == 1
    assert ("raising_startup: failed (startup raised RuntimeError: cannot start); applied "
            f"to the running host at {base}, but it did not start") in done.stderr


def test_the_host_record_and_cli_token_live_as_long_as_the_host(served):
    base, proc, workdir, _ = served
    data = workdir / "data"
    record = json.loads((data / HOST_FILE).read_text())
    assert (record["url"], record["pid"]) == (base, proc.pid)
    assert record["data_dir"] == str(data.resolve())
    assert oct((data / TOKEN_FILE).stat().st_mode & 0o777) == "0o600"
    proc.terminate()
    proc.wait(timeout=15)
    assert not (data / HOST_FILE).exists() and not (data / TOKEN_FILE).exists()
    log = (workdir / "server.log").read_text()
    assert (f"plexichat.serve: data directory {data.resolve()} (from the default ./data of the "
            "current directory)") in log
    assert "(new: created on this first start)" in log


def test_cli_elsewhere_does_not_create_a_database(shared, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli(shared.site, elsewhere, "plugins", "disable", "moderation")
    assert done.returncode == 1
    expected = elsewhere.resolve() / "data" / "plexichat.db"
    assert f"no PlexiChat database at {expected}" in done.stderr
    assert "--init" in done.stderr and "PLEXICHAT_DATA_DIR" in done.stderr
    assert list(elsewhere.iterdir()) == []

    # the same kind of command aimed at the host's data directory acts on the host
    done = cli(shared.site, elsewhere, "plugins", "config", "set", "moderation",
               "rate_limit_per_minute", "1000", PLEXICHAT_DATA_DIR=str(shared.workdir / "data"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("moderation: rate_limit_per_minute = 1000; applied to "
                                   f"the running host at {shared.base}")
    assert list(elsewhere.iterdir()) == []


# --- without a running host ------------------------------------------------------------


@pytest.fixture
def fine(site):
    make_plugin(site, "fine", manifest={"name": "fine", "type": "feature",
                                        "permissions": ["chat:read"]})
    return site


def invoke(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env)


def test_fallback_refuses_a_fresh_database_then_stores_with_init(fine, tmp_path):
    db = tmp_path / "data" / "plexichat.db"
    refused = invoke("plugins", "disable", "fine")
    assert refused.exit_code == 1
    assert f"no PlexiChat database at {db}" in refused.output
    assert not (tmp_path / "data").exists()

    stored = invoke("plugins", "disable", "fine", "--init")
    assert stored.exit_code == 0, stored.output
    assert stored.output.strip().endswith(
        "fine: disabled — stored; takes effect at the next start (no host is serving "
        f"{tmp_path / 'data'})")
    assert db.is_file()
    listed = json.loads(invoke("plugins", "list", "--json").output)
    assert {i["name"]: i["state"] for i in listed}["fine"] == "disabled"

    granted = invoke("plugins", "grant", "fine", "chat:write")
    assert granted.exit_code == 0, granted.output
    assert "granted chat:write — stored; takes effect at the next start" in granted.output


def test_config_set_negative_value_reaches_schema_validation(site, tmp_path):
    pytest.importorskip("plexichat_moderation")
    done = invoke("plugins", "config", "set", "moderation", "rate_limit_per_minute", "-5",
                  "--init", env={"PLEXICHAT_LOAD_PLUGINS": "moderation"})
    assert done.exit_code == 1
    assert "No such option" not in done.output
    assert "-5 is less than the minimum of 0" in done.output
    assert "settings of moderation not changed" in done.output


def test_a_stale_host_record_is_ignored_and_said_so(fine, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = {"url": "http://127.0.0.1:9", "pid": dead.pid, "python": sys.executable,
              "started_at": 0.0, "data_dir": str(data), "database_url": "sqlite://"}
    (data / HOST_FILE).write_text(json.dumps(record))

    lookup = find_running_host(data)
    assert lookup.host is None
    assert lookup.ignored == f"stale {data / HOST_FILE}: pid {dead.pid} is not running"
    listed = invoke("plugins", "list")
    assert listed.exit_code == 0, listed.output
    assert f"ignoring stale {data / HOST_FILE}" in listed.output
    assert "static view" in listed.output

    # a live pid, but nothing answers at the URL: stale too
    record.update(pid=os.getpid(), url=f"http://127.0.0.1:{free_port()}")
    (data / HOST_FILE).write_text(json.dumps(record))
    status = json.loads(CliRunner().invoke(main, ["status", "--json"]).stdout)
    assert status["host"] is None
    assert "nothing answers at http://127.0.0.1:" in status["host_ignored"]
    assert status["plugins"]["source"] == "static"


def test_the_cli_token_is_an_admin_token_while_the_host_runs(site, tmp_path):
    make_plugin(site, "healthy", code=healthy_code())
    settings = HostSettings(data_dir=tmp_path / "data", load_plugins="healthy",
                            admin_token="configured")
    app = create_app(settings, serve_url="http://127.0.0.1:1")
    with TestClient(app) as client:
        token = (tmp_path / "data" / TOKEN_FILE).read_text().strip()
        ok = client.post("/api/v1/plugins/healthy/disable",
                         headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        wrong = client.post("/api/v1/plugins/healthy/enable",
                            headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 403
    assert app.state.admin_token.check(token) is False  # gone with the run
    assert not (tmp_path / "data" / TOKEN_FILE).exists()


def test_grants_endpoint_changes_a_started_plugins_grants(site, tmp_path):
    make_plugin(site, "healthy", code=healthy_code(),
                manifest={"name": "healthy", "type": "feature"})
    settings = HostSettings(data_dir=tmp_path / "data", load_plugins="healthy",
                            admin_token="t")
    auth = {"Authorization": "Bearer t"}
    with TestClient(create_app(settings)) as client:
        while client.get("/api/v1/health/ready").status_code != 200:
            time.sleep(0.01)
        answer = client.post("/api/v1/plugins/healthy/grants", headers=auth,
                             json={"grant": ["kv"]})
        assert answer.status_code == 422 and "unknown permission(s): kv" in answer.text
        answer = client.post("/api/v1/plugins/healthy/grants", headers=auth,
                             json={"grant": ["chat:write"]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["granted"] == ["chat:write"]
        record = client.app.state.host.records["healthy"]  # type: ignore[attr-defined]
        assert record.context.has_permission("chat:write")
        assert client.post("/api/v1/plugins/healthy/grants", json={}).status_code == 401


def test_one_data_directory_rule_for_server_and_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path / "x"))
    assert HostSettings().data_dir.resolve() == data_dir().path == (tmp_path / "x")
    monkeypatch.delenv("PLEXICHAT_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert HostSettings().data_dir.resolve() == data_dir().path == tmp_path / "data"


def test_tables_read_well_at_80_columns(fine, site):
    make_plugin(site, "invalid", manifest={"name": "invalid",
                                           "ui_pages": [{"name": "x", "path": "ui/x"}]})
    for args in (("plugins", "list"), ("plugins", "info", "invalid"), ("status",)):
        done = invoke(*args, env={"COLUMNS": "80"})
        assert done.exit_code == 0, done.output
        assert max(len(line) for line in done.output.splitlines()) <= 80, done.output
    listed = invoke("plugins", "list", env={"COLUMNS": "80"}).output
    assert re.search(r"│ invalid +│ 1\.0\.0 +│ rejected +│ plx-invalid:", listed), listed


def test_plugins_info_prints_json_not_a_python_repr(fine):
    done = invoke("plugins", "info", "fine", env={"COLUMNS": "80"})
    assert done.exit_code == 0, done.output
    manifest = done.output[done.output.index("{"):]
    assert json.loads(manifest)["permissions"] == ["chat:read"]
    assert "'permissions'" not in done.output


def test_announcement_replaces_only_its_own_record(tmp_path):
    first = HostAnnouncement(tmp_path, "http://127.0.0.1:1", "sqlite://")
    first.publish()
    assert oct((tmp_path / TOKEN_FILE).stat().st_mode & 0o777) == "0o600"
    other = json.loads((tmp_path / HOST_FILE).read_text())
    other["pid"] = first.record.pid + 1
    (tmp_path / HOST_FILE).write_text(json.dumps(other))
    first.withdraw()  # another host announced itself since: its record stays
    assert (tmp_path / HOST_FILE).exists()


def test_plugins_info_prints_failures_with_or_without_tracebacks(capsys, monkeypatch):
    from plexichat.cli.views import _print_info

    monkeypatch.setenv("COLUMNS", "80")
    trace = 'Traceback (most recent call last):\n  File "x.py", line 3, in startup\n'
    _print_info({"name": "p", "state": "failed", "reason": "startup raised", "failures": [
        {"hook": "startup", "error": "RuntimeError: [boom]", "at": 1.5},
        {"hook": "startup", "error": "E", "traceback": trace + "RuntimeError: [boom]\n"},
        {"hook": "tick", "error": "E", "traceback": [trace, "ValueError: v\n"]},
        "an older host's plain text"]})
    out = capsys.readouterr().out
    assert "failures (4, newest last):" in out
    assert "  - startup: RuntimeError: [boom] (1970-01-01 00:00:01 UTC)" in out  # no markup
    assert '      File "x.py", line 3, in startup' in out and "      ValueError: v" in out
    assert "an older host's plain text" in out
    _print_info({"name": "p", "state": "started"})  # no failures field at all
    assert "failures" not in capsys.readouterr().out


def test_plugins_info_prints_the_start_timings(capsys, monkeypatch):
    from plexichat.cli.views import _print_info

    monkeypatch.setenv("COLUMNS", "120")
    _print_info({"name": "p", "state": "failed", "timings": {
        "import_seconds": 0.0123, "settings_seconds": 0.001, "startup_seconds": 3.0,
        "contribute_seconds": None, "routes_seconds": None, "total_seconds": 3.0151}})
    out = capsys.readouterr().out
    assert ("start: 3.015 s (import 0.012 s, settings 0.001 s, startup hook 3.000 s)"
            in out)
    _print_info({"name": "p", "state": "available", "timings": None})  # never started
    assert "start:" not in capsys.readouterr().out
