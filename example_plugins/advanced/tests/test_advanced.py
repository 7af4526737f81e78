"""The guide's MyAdvancedPlugin, served by a real PlexiChat app with only it loaded."""

from __future__ import annotations

import pytest

from plexichat.testing import ADMIN_TOKEN

NAME = "advanced"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def plugin_log(plexichat_plugin_log):
    return plexichat_plugin_log(NAME)


@pytest.fixture
def client(plexichat_client, plugin_log):
    return plexichat_client(plugins=[NAME])


def info(client):
    response = client.get(f"/api/v1/plugins/{NAME}")
    assert response.status_code == 200, response.text
    return response.json()


def plugin_of(client):
    return client.app.state.host.records[NAME].obj


def test_advanced_is_started(client):
    detail = info(client)
    assert detail["state"] == "started", detail["reason"]
    assert detail["distribution"] == "plexichat-advanced"
    assert detail["warnings"] == []


def test_startup_event_fires(client, plugin_log):
    assert plugin_log.count("Plugin started!") == 1
    events = info(client)["contributions"]["event_handlers"]
    assert sorted(events) == ["post:shutdown", "post:startup"]  # each handler once


def test_shutdown_event_fires_when_disabled(client, plugin_log):
    assert "Plugin stopping" not in plugin_log
    response = client.post(f"/api/v1/plugins/{NAME}/disable", headers=ADMIN)
    assert response.json()["state"] == "disabled"
    assert plugin_log.count("Plugin stopping") == 1


def test_shutdown_event_fires_when_the_host_stops(plexichat_client, plugin_log):
    with plexichat_client(plugins=[NAME]):
        assert "Plugin stopping" not in plugin_log
    assert plugin_log.count("Plugin stopping") == 1


def test_startup_event_fires_again_when_enabled(client, plugin_log):
    client.post(f"/api/v1/plugins/{NAME}/disable", headers=ADMIN)
    response = client.post(f"/api/v1/plugins/{NAME}/enable", headers=ADMIN)
    assert response.json()["state"] == "started", response.json()["reason"]
    assert plugin_log.count("Plugin started!") == 2


def test_web_middleware_runs_on_a_web_request(client):
    calls = plugin_of(client).calls
    before = dict(calls)
    response = client.get("/no-such-page")  # pages pass the web layer, found or not
    assert "x-advanced-plugin" not in response.headers
    assert calls == {"web": before["web"] + 1, "api": before["api"]}


def test_api_middleware_runs_on_an_api_request(client):
    calls = plugin_of(client).calls
    before = dict(calls)
    response = client.get("/api/v1/plugins")
    assert response.status_code == 200
    assert response.headers["x-advanced-plugin"] == "api"
    assert calls == {"web": before["web"], "api": before["api"] + 1}


def test_middleware_is_listed_once_per_layer(client):
    middleware = info(client)["contributions"]["middleware"]
    assert sorted(m.split(":")[0] for m in middleware) == ["api", "web"]


def test_middleware_stops_when_disabled(client):
    plugin = plugin_of(client)
    client.post(f"/api/v1/plugins/{NAME}/disable", headers=ADMIN)
    before = dict(plugin.calls)
    assert "x-advanced-plugin" not in client.get("/api/v1/plugins").headers
    client.get("/no-such-page")
    assert plugin.calls == before


def test_config_schema_default_is_filled(client):
    response = client.get(f"/api/v1/plugins/{NAME}/settings", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["settings"] == {"my_setting": "hi"}
    assert body["settings_schema"]["properties"]["my_setting"]["default"] == "hi"
    assert dict(plugin_of(client).context.config) == {"my_setting": "hi"}


def test_changed_setting_reaches_the_context(client):
    response = client.put(f"/api/v1/plugins/{NAME}/settings", headers=ADMIN,
                          json={"my_setting": "hello"})
    assert response.status_code == 200, response.text
    health = client.get(f"/api/v1/plugins/{NAME}/health").json()
    assert health["checks"]["ready"]["my_setting"] == "hello"


def test_health_check_shows(client):
    response = client.get(f"/api/v1/plugins/{NAME}/health")
    assert response.status_code == 200
    body = response.json()
    assert body["healthy"] is True
    assert body["checks"]["ready"] == {"healthy": True, "my_setting": "hi",
                                       "kind": "readiness"}
    assert info(client)["contributions"]["health_checks"] == ["readiness:ready"]


def test_backup_handler_is_listed(client):
    assert len(info(client)["contributions"]["backup_handlers"]) == 1


def test_backup_and_restore_call_the_handlers(client, tmp_path):
    host = client.app.state.host
    archive = tmp_path / "backup.zip"
    created = client.portal.call(host.services.backup.create, archive)
    ours = [h for h in created.handlers if h.startswith(f"{NAME}/")]
    assert len(ours) == 1
    restored = client.portal.call(host.services.backup.restore, archive)
    assert ours[0] in restored.handlers
