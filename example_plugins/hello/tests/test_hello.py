"""The hello plugin, served by a real PlexiChat app with only this plugin loaded."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from plexichat.config import HostSettings
from plexichat.web import create_app


@pytest.fixture
def client(tmp_path):
    settings = HostSettings(data_dir=tmp_path, load_plugins="hello")
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 10
        while client.get("/api/v1/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "host never became ready"
            time.sleep(0.05)
        yield client


def test_hello_is_started(client):
    info = client.get("/api/v1/plugins/hello").json()
    assert info["state"] == "started", info["reason"]
    assert info["distribution"] == "plexichat-hello"
    assert {"path": "/api/v1/hello", "methods": ["GET"], "name": "hello"} in info["routes"]


def test_hello_route(client):
    assert client.get("/api/v1/hello").json() == {"message": "Hello from PlexiChat!"}
    assert client.get("/api/v1/hello/Ada").json() == {"message": "Hello, Ada!"}
