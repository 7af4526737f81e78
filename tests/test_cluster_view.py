"""The desired-state generation, compare-and-set, and the cluster picture (no Redis)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from plexichat.cli import main
from plexichat.cluster import heartbeats
from plexichat.cluster.heartbeats import Heartbeat, InstalledPlugin
from plexichat.cluster.view import build_view
from plexichat.storage import Database, HostStore, default_url
from plexichat.storage.generation import GenerationMismatch, expecting

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    db = Database(default_url(tmp_path))
    yield HostStore(db)
    db.dispose()


def test_every_desired_state_write_bumps_the_generation_and_is_announced(store):
    announced: list[int] = []
    store.add_change_listener(announced.append)
    assert store.generation() == 0
    store.set_enabled("hello", False, "operator")
    store.put_settings("moderation", {"action": "reject"})
    store.grant("hello", ["db:read"], by="operator")
    store.revoke("hello", ["db:read"])
    assert announced == [1, 2, 3, 4]
    assert store.generation() == 4
    assert store.plugin_generations() == {"hello": 4, "moderation": 2}
    store.kv_set("hello", "k", 1)  # not desired state
    assert store.generation() == 4


def test_a_stale_expected_generation_writes_nothing(store):
    store.set_enabled("hello", True)
    seen = store.plugin_generation("hello")
    store.put_settings("other", {})  # another plugin's change does not conflict
    with expecting("hello", seen):
        store.set_enabled("hello", False)
    with pytest.raises(GenerationMismatch) as caught, expecting("hello", seen):
        store.set_enabled("hello", True)
    assert caught.value.actual == store.plugin_generation("hello") > seen
    assert store.enabled_states()["hello"] is False
    assert store.generation() == 3


def _beat(replica: str, *plugins: InstalledPlugin, seen: datetime = NOW) -> Heartbeat:
    return Heartbeat(replica, "3.0.0", f"http://{replica}", 5, NOW - timedelta(minutes=1),
                     seen, list(plugins))


def test_skew_is_reported_on_the_replica_that_lacks_a_plugin_or_runs_another_version():
    beats = [
        _beat("a", InstalledPlugin("hello", "1.1.0", "started"),
              InstalledPlugin("chat", "2.0.0", "started")),
        _beat("b", InstalledPlugin("hello", "1.0.0", "started")),
    ]
    view = build_view(beats, {"off": False}, 7, NOW)
    assert view.generation == 7
    assert [(s.replica_id, s.plugin, s.reason) for s in view.skew] == [
        ("b", "hello", "version 1.0.0 here, 1.1.0 elsewhere"),
        ("b", "chat", "not installed on this replica"),
    ]
    b = {p.name: p for p in view.replicas[1].plugins}
    assert b["chat"].state == b["hello"].state == "rejected"


def test_a_replica_still_starting_reports_no_skew():
    starting = Heartbeat("b", "3.0.0", "", 0, NOW, NOW, [], ready=False)
    beats = [_beat("a", InstalledPlugin("hello", "1.0.0", "started")), starting]
    view = build_view(beats, {}, 1, NOW)
    assert view.skew == []
    assert [r.ready for r in view.replicas] == [True, False]


def test_a_plugin_disabled_cluster_wide_is_no_skew():
    beats = [_beat("a", InstalledPlugin("hello", "1.0.0", "started")), _beat("b")]
    assert build_view(beats, {"hello": False}, 1, NOW).skew == []


def test_stale_heartbeats_are_left_out(store):
    heartbeats.write(store.db, _beat("fresh", seen=NOW - timedelta(seconds=2)))
    heartbeats.write(store.db, _beat("gone", seen=NOW - timedelta(seconds=60)))
    assert [b.replica_id for b in heartbeats.read(store.db, stale_after=15, now=NOW)] == [
        "fresh"]


def test_cli_cluster_status_reads_the_database(tmp_path, monkeypatch):
    db = Database(default_url(tmp_path))
    heartbeats.write(db, _beat("r1", InstalledPlugin("hello", "1.0.0", "started"),
                               seen=datetime.now(timezone.utc)))
    HostStore(db).set_enabled("hello", True)
    db.dispose()
    monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PLEXICHAT_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["cluster", "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["generation"] == 1
    assert [r["replica_id"] for r in data["replicas"]] == ["r1"]
    text = CliRunner().invoke(main, ["cluster", "status"])
    assert "1 live replica(s)" in text.output and "no version skew" in text.output


def test_a_single_process_host_imports_nothing_of_the_cluster(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from fastapi.testclient import TestClient
        from plexichat.config import HostSettings
        from plexichat.web.app import create_app
        settings = HostSettings(data_dir={str(tmp_path)!r}, load_plugins="hello",
                                redis_url=None)
        with TestClient(create_app(settings)) as client:
            assert client.get("/api/v1/health/live").status_code == 200
            assert client.app.state.cluster is None
        loaded = sorted(m for m in sys.modules
                        if m == "redis" or m.startswith(("redis.", "plexichat.cluster.state",
                                                         "plexichat.cluster.connection")))
        print(loaded)
    """)
    env = {k: v for k, v in __import__("os").environ.items() if k != "PLEXICHAT_REDIS_URL"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_malformed_if_match_is_a_validation_error(tmp_path):
    from support.api import AUTH, TOKEN
    from support.host import running_host

    with running_host(tmp_path / "data", "hello", admin_token=TOKEN) as client:
        answer = client.post("/api/v1/plugins/hello/disable",
                             headers={**AUTH, "If-Match": "null"})
        assert answer.status_code == 422
        [problem] = answer.json()["detail"]
        assert problem["loc"] == ["header", "if-match"] and problem["input"] == "null"
        assert client.get("/api/v1/hello").status_code == 200  # nothing was changed


def test_plugin_operations_declare_the_404_of_a_plugin_that_is_not_running(tmp_path):
    from support.host import running_host

    with running_host(tmp_path / "data", "hello") as client:
        schema = client.get("/api/openapi.json").json()
        assert "404" in schema["paths"]["/api/v1/hello"]["get"]["responses"]
        assert "404" not in schema["paths"]["/api/v1/health/live"]["get"]["responses"]
