"""The guide's get_services example, served by a real PlexiChat app with only it loaded."""

from __future__ import annotations

import logging

import pytest

NAME = "services_demo"


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


def test_services_demo_is_started(client):
    detail = info(client)
    assert detail["state"] == "started", detail["reason"]
    assert detail["distribution"] == "plexichat-services-demo"
    assert detail["warnings"] == []


def test_it_got_a_logger(client, plugin_log):
    logger = plugin_of(client).logger
    assert isinstance(logger, logging.Logger)
    assert logger.name == f"plexichat.plugins.{NAME}"
    assert plugin_log == ["MyPlugin initialized!"]


def test_it_got_an_answer_from_the_local_ai(client):
    plugin = plugin_of(client)
    assert plugin.ai is client.app.state.host.services.ai
    assert plugin.ai.label == "plexichat-local-ai"
    response = client.get("/api/v1/services-demo/last")
    assert response.status_code == 200
    body = response.json()
    assert body["prompt"] == "Hello, AI!"
    assert body["result"].startswith("[plexichat-local-ai] ")
    assert "Hello AI" in body["result"]
    assert body["result"] == plugin.last_result


def test_get_services_requests_ai_use_and_it_is_granted_by_default(client):
    detail = info(client)
    assert detail["manifest"]["permissions"] == []
    assert detail["permissions_requested"] == ["ai:use"]
    assert detail["permissions_granted"] == ["ai:use"]


def test_without_the_grant_it_fails_and_the_host_serves_on(plexichat_client):
    with plexichat_client(plugins=[NAME], settings={"strict_permissions": True},
                          expect_started=False) as client:
        detail = info(client)
        assert detail["state"] == "failed"
        assert "PermissionDenied" in detail["reason"]
        assert "'ai:use'" in detail["reason"]
        assert detail["permissions_granted"] == []
        assert client.get("/api/v1/services-demo/last").status_code == 404
        assert client.get("/api/v1/health/live").status_code == 200
        assert client.get("/api/v1/plugins").status_code == 200
