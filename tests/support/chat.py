"""Driving the chat of a running host as its users would."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from .api import AUTH, TOKEN
from .databases import database_url
from .host import running_host

FAST_HASHING = {"password_hash_time_cost": 1, "password_hash_memory_kib": 64}
"""Argon2 parameters that keep tests quick (never use them in production)."""


@contextlib.contextmanager
def chat_host(tmp_path: Path, backend: str, *plugins: str, wait: bool = True,
              **settings: Any) -> Iterator[TestClient]:
    """A started host on ``backend`` (``sqlite``/``postgresql``) loading only ``plugins``
    (``wait=False``: serving while the plugins are still starting)."""
    with database_url(backend, tmp_path) as url, running_host(
            tmp_path / "data", *plugins, wait=wait, database_url=url, admin_token=TOKEN,
            **{**FAST_HASHING, **settings}) as client:
        yield client


def host_of(client: TestClient) -> Any:
    """The :class:`~plexichat.host.PluginHost` behind a test client."""
    return client.app.state.host  # type: ignore[attr-defined]


def plugin_module(name: str) -> Any:
    """The module of fixture plugin ``name`` (``make_plugin`` names it ``plx_<name>``)."""
    return sys.modules[f"plx_{name}"]


class Chatter:
    """A registered, logged-in user talking to the REST API."""

    def __init__(self, client: TestClient, name: str, password: str = "password-1") -> None:
        self.client = client
        self.name = name
        response = client.post("/api/v1/users", json={"name": name, "password": password})
        assert response.status_code == 201, response.text
        self.id = response.json()["id"]
        response = client.post("/api/v1/users/login", json={"name": name,
                                                             "password": password})
        assert response.status_code == 200, response.text
        self.token = response.json()["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def create_channel(self, name: str = "general", topic: str = "") -> int:
        """Create a channel; its id."""
        response = self.client.post("/api/v1/channels", json={"name": name, "topic": topic},
                                    headers=self.headers)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def join(self, channel_id: int) -> Any:
        """``POST /api/v1/channels/{id}/join``."""
        return self.client.post(f"/api/v1/channels/{channel_id}/join", headers=self.headers)

    def post(self, channel_id: int, text: str) -> Any:
        """``POST /api/v1/channels/{id}/messages``, the response."""
        return self.client.post(f"/api/v1/channels/{channel_id}/messages",
                                json={"text": text}, headers=self.headers)

    def say(self, channel_id: int, text: str) -> dict[str, Any]:
        """Post and expect it stored; the stored message."""
        response = self.post(channel_id, text)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def page(self, channel_id: int, **params: Any) -> dict[str, Any]:
        """``GET /api/v1/channels/{id}/messages``, as JSON."""
        response = self.client.get(f"/api/v1/channels/{channel_id}/messages", params=params,
                                   headers=self.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def texts(self, channel_id: int) -> list[str]:
        """The texts of the channel's newest messages, oldest first."""
        return [m["text"] for m in self.page(channel_id, limit=200)["messages"]]

    def edit(self, message_id: int, text: str, *, admin: bool = False) -> Any:
        """``PATCH /api/v1/messages/{id}`` as this user (or with the admin token)."""
        return self.client.patch(f"/api/v1/messages/{message_id}", json={"text": text},
                                 headers=AUTH if admin else self.headers)

    def delete(self, message_id: int, *, admin: bool = False) -> Any:
        """``DELETE /api/v1/messages/{id}`` as this user (or with the admin token)."""
        return self.client.delete(f"/api/v1/messages/{message_id}",
                                  headers=AUTH if admin else self.headers)
