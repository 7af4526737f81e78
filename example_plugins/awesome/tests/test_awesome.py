"""The guide's AwesomePlugin, served by a real PlexiChat app with only it loaded."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plexichat.testing import ADMIN_TOKEN

NAME = "my_awesome_plugin"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def wait_for(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    """The guide's plugin writes to ``data/plugins/...`` under the working directory."""
    path = tmp_path / "cwd"
    path.mkdir()
    monkeypatch.chdir(path)
    return path


@pytest.fixture
def start(plexichat_client, tmp_path, cwd):
    """Start a host with only this plugin; the plugin module is imported afresh."""

    def start():
        sys.modules.pop("plexichat_awesome.main", None)  # a fresh AwesomePlugin()
        # the webhook tests' receiver listens on 127.0.0.1, which the host refuses unless
        # the operator allows it
        return plexichat_client(plugins=[NAME], data_dir=tmp_path / "host",
                                settings={"webhook_allowed_networks": "127.0.0.1/32"})

    yield start
    sys.modules.pop("plexichat_awesome.main", None)


@pytest.fixture
def client(start):
    return start()


def info(client):
    response = client.get(f"/api/v1/plugins/{NAME}")
    assert response.status_code == 200, response.text
    return response.json()


def plugin_of(client):
    return client.app.state.host.records[NAME].obj


def test_awesome_is_started(client):
    detail = info(client)
    assert detail["state"] == "started", detail["reason"]
    assert detail["distribution"] == "plexichat-awesome"
    assert detail["warnings"] == []
    routes = {(r["path"], tuple(r["methods"])) for r in detail["routes"]}
    assert ("/api/v1/awesome/status", ("GET",)) in routes
    assert ("/api/v1/awesome/action", ("POST",)) in routes


def test_manifest_permissions_are_granted(client):
    assert info(client)["permissions_granted"] == ["plugin:read", "plugin:write",
                                                   "webhooks:emit"]


def test_get_metadata_matches_the_manifest(client):
    metadata = plugin_of(client).get_metadata()
    manifest = info(client)["manifest"]
    assert metadata.name == manifest["name"] == NAME
    assert metadata.version == manifest["version"] == "1.0.0"


def test_status_is_awesome(client):
    response = client.get("/api/v1/awesome/status")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "awesome"
    assert body["enabled"] is True
    assert body["config"] == {"enabled": True, "interval": 60}
    assert set(body["stats"]) == {"actions_performed", "last_action", "errors"}


def test_action_succeeds_and_counts(client):
    for n in (1, 2):
        response = client.post("/api/v1/awesome/action")
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        assert body["message"] == "Awesome action performed!"
        stats = client.get("/api/v1/awesome/status").json()["stats"]
        assert stats["actions_performed"] == n
        assert stats["last_action"] == body["timestamp"]


def test_background_task_runs_and_is_cancelled_on_disable(client):
    wait_for(lambda: client.get("/api/v1/awesome/status").json()["stats"]["last_action"],
             what="the background task to record its run")
    plugin = plugin_of(client)
    task = plugin.background_task
    assert not task.done()
    health = client.get(f"/api/v1/plugins/{NAME}/health").json()
    assert health["healthy"] is True
    assert health["checks"]["health_check"]["background_task_running"] is True

    response = client.post(f"/api/v1/plugins/{NAME}/disable", headers=ADMIN)
    assert response.json()["state"] == "disabled"
    wait_for(task.done, what="the background task to stop")
    assert task.cancelled()


def test_disable_then_enable_without_restart(client):
    assert client.get("/api/v1/awesome/status").status_code == 200
    assert client.post(f"/api/v1/plugins/{NAME}/disable", headers=ADMIN).status_code == 200
    assert client.get("/api/v1/awesome/status").status_code == 404
    assert client.post("/api/v1/awesome/action").status_code == 404
    assert client.get("/plugins/awesome/static/star.svg").status_code == 404

    response = client.post(f"/api/v1/plugins/{NAME}/enable", headers=ADMIN)
    assert response.json()["state"] == "started", response.json()["reason"]
    assert client.get("/api/v1/awesome/status").json()["status"] == "awesome"
    assert client.post("/api/v1/awesome/action").status_code == 200
    assert client.get("/plugins/awesome/static/star.svg").status_code == 200
    assert not plugin_of(client).background_task.done()


def test_static_files_are_mounted(client):
    response = client.get("/plugins/awesome/static/star.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")


def test_dashboard_page_from_the_manifest_is_served(client):
    page = client.get(f"/plugins/{NAME}/ui/dashboard/")
    assert page.status_code == 200
    assert "<title>Awesome Dashboard</title>" in page.text
    assert client.get(f"/plugins/{NAME}/ui/dashboard/script.js").status_code == 200


def test_data_dir_is_created_under_the_working_directory(client, cwd):
    assert (cwd / "data" / "plugins" / NAME).is_dir()


def test_config_json_in_the_data_dir_is_loaded(start, cwd):
    config = cwd / "data" / "plugins" / NAME / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"interval": 5}))
    client = start()
    assert client.get("/api/v1/awesome/status").json()["config"] == {
        "enabled": True, "interval": 5}


def test_manifest_settings_defaults_are_filled(client):
    response = client.get(f"/api/v1/plugins/{NAME}/settings", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["settings"] == {"enabled": True, "interval": 60}


# --- webhooks --------------------------------------------------------------------------------


@contextlib.contextmanager
def webhook_receiver():
    """A webhook receiver on 127.0.0.1: yields (url, list of the JSON bodies received)."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def subscribe(client, url, events):
    response = client.post("/api/v1/webhooks", json={"url": url, "events": events},
                           headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_an_action_is_sent_to_webhook_subscribers(client):
    with webhook_receiver() as (url, received):
        subscription = subscribe(client, url, ["awesome.action.completed"])
        action = client.post("/api/v1/awesome/action").json()
        wait_for(lambda: received, what="the webhook delivery")
    [delivered] = received
    assert delivered["type"] == "awesome.action.completed"
    assert delivered["data"] == {"actions_performed": 1, "timestamp": action["timestamp"]}
    deliveries = client.get(f"/api/v1/webhooks/{subscription}/deliveries",
                            headers=ADMIN).json()
    assert [(d["event"], d["status"]) for d in deliveries] == [
        ("awesome.action.completed", "delivered")]


def test_each_background_run_records_the_triggered_event(client):
    wait_for(lambda: any(e["event"] == "awesome.event.triggered" for e in
                         client.get("/api/v1/webhooks/events", headers=ADMIN).json()),
             what="the background task's event")
    events = client.get("/api/v1/webhooks/events", headers=ADMIN).json()
    triggered = [e for e in events if e["event"] == "awesome.event.triggered"]
    assert triggered[0]["source"] == NAME
    assert set(triggered[0]["payload"]) == {"timestamp"}


def test_without_the_webhooks_grant_actions_still_succeed(plexichat_client, tmp_path, cwd):
    sys.modules.pop("plexichat_awesome.main", None)
    client = plexichat_client(plugins=[NAME], settings={"strict_permissions": True},
                              data_dir=tmp_path / "strict")
    assert info(client)["permissions_granted"] == []
    assert client.post("/api/v1/awesome/action").status_code == 200
    events = client.get("/api/v1/webhooks/events", headers=ADMIN).json()
    assert [e for e in events if e["source"] == NAME] == []
