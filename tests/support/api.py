"""Driving the plugin REST API of a running host as an operator would."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

TOKEN = "test-admin-token"
"""The admin token tests configure with ``HostSettings(admin_token=TOKEN)``."""

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def detail(client: TestClient, name: str) -> dict[str, Any]:
    """``GET /api/v1/plugins/{name}``; asserts the host answers."""
    response = client.get(f"/api/v1/plugins/{name}")
    assert response.status_code == 200, response.text
    return response.json()


def state_of(client: TestClient, name: str) -> str:
    """The live state of one plugin."""
    return detail(client, name)["state"]


def post(client: TestClient, path: str, **kwargs: Any) -> Any:
    """An authorised POST."""
    return client.post(path, headers=AUTH, **kwargs)


def put_settings(client: TestClient, name: str, settings: dict[str, Any]) -> Any:
    """An authorised ``PUT /api/v1/plugins/{name}/settings``."""
    return client.put(f"/api/v1/plugins/{name}/settings", headers=AUTH, json=settings)


def get_settings(client: TestClient, name: str) -> dict[str, Any]:
    """``GET /api/v1/plugins/{name}/settings`` (authorised), as JSON."""
    response = client.get(f"/api/v1/plugins/{name}/settings", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def eventually(check: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.01)
