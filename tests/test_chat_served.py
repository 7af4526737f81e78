"""The chat served by a real uvicorn on 127.0.0.1, talked to by real HTTP and WebSocket
clients (``httpx`` and ``websockets``), with the example plugins where installed."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from support.api import AUTH, TOKEN
from support.chat import FAST_HASHING
from support.databases import BACKENDS, database_url
from websockets.sync.client import connect

from plexichat.config import HostSettings
from plexichat.web import create_app


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@contextlib.contextmanager
def served(tmp_path, backend: str, *plugins: str) -> Iterator[httpx.Client]:
    """A host served by uvicorn on a free loopback port; an HTTP client of it."""
    with database_url(backend, tmp_path) as url:
        settings = HostSettings(data_dir=tmp_path / "data", database_url=url,
                                load_plugins=",".join(plugins), admin_token=TOKEN,
                                **FAST_HASHING)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # bound here, so no other process can take the port
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False,
                              timeout=10) as client:
                deadline = time.monotonic() + 20
                while not server.started or client.get(
                        "/api/v1/health/ready").status_code != 200:
                    assert thread.is_alive(), "the server stopped"
                    assert time.monotonic() < deadline, "the server never became ready"
                    time.sleep(0.02)
                yield client
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()


class Member:
    """A user of the served host, with a WebSocket connection when asked."""

    def __init__(self, client: httpx.Client, name: str) -> None:
        self.client = client
        credentials = {"name": name, "password": "password-1"}
        assert client.post("/api/v1/users", json=credentials).status_code == 201
        self.token = client.post("/api/v1/users/login", json=credentials).json()["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def post(self, channel: int, text: str) -> httpx.Response:
        return self.client.post(f"/api/v1/channels/{channel}/messages", json={"text": text},
                                headers=self.headers)

    @contextlib.contextmanager
    def websocket(self) -> Iterator[Any]:
        url = f"ws://{self.client.base_url.host}:{self.client.base_url.port}/api/v1/ws"
        with connect(f"{url}?token={self.token}", proxy=None, open_timeout=10) as ws:
            ready = json.loads(ws.recv(timeout=10))
            assert ready["type"] == "ready"
            yield ws


def next_event(ws: Any) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=10)))


def channel_of(owner: Member, *members: Member) -> int:
    response = owner.client.post("/api/v1/channels", json={"name": "general"},
                                 headers=owner.headers)
    channel = int(response.json()["id"])
    for member in members:
        member.client.post(f"/api/v1/channels/{channel}/join", headers=member.headers)
    return channel


def test_a_websocket_client_receives_a_posted_message(tmp_path, backend):
    with served(tmp_path, backend) as client:
        ada, bob = Member(client, "ada"), Member(client, "bob")
        general = channel_of(ada, bob)
        with bob.websocket() as ws:
            posted = ada.post(general, "hello over the wire")
            assert posted.status_code == 201
            event = next_event(ws)
        assert event["type"] == "message.created"
        assert event["message"]["text"] == "hello over the wire"
        assert event["message"]["id"] == posted.json()["id"]


def test_a_refused_websocket_handshake_is_an_http_403(tmp_path, backend):
    from websockets.exceptions import InvalidStatus

    with served(tmp_path, backend) as client:
        url = f"ws://127.0.0.1:{client.base_url.port}/api/v1/ws?token=wrong"
        with pytest.raises(InvalidStatus) as info, connect(url, proxy=None):
            pass
        assert info.value.response.status_code == 403


def test_moderation_masks_or_rejects_and_clients_see_only_what_was_stored(tmp_path, backend):
    pytest.importorskip("plexichat_moderation")
    with served(tmp_path, backend, "moderation") as client:
        ada, bob = Member(client, "ada"), Member(client, "bob")
        general = channel_of(ada, bob)

        def configure(action: str) -> None:
            response = client.put("/api/v1/plugins/moderation/settings", headers=AUTH,
                                  json={"blocked_words": ["heck"], "action": action})
            assert response.status_code == 200, response.text

        with bob.websocket() as ws:
            configure("mask")
            masked = ada.post(general, "what the heck")
            assert (masked.status_code, masked.json()["text"]) == (201, "what the ****")
            assert next_event(ws)["message"]["text"] == "what the ****"

            configure("reject")
            rejected = ada.post(general, "heck again")
            assert rejected.status_code == 400
            assert "blocked words: heck" in rejected.json()["detail"]
            ada.post(general, "all clean")
            assert next_event(ws)["message"]["text"] == "all clean"  # nothing in between

        page = client.get(f"/api/v1/channels/{general}/messages", headers=bob.headers).json()
        assert [m["text"] for m in page["messages"]] == ["what the ****", "all clean"]


def test_bot_replies_reach_websocket_clients_through_the_filters(tmp_path, backend):
    pytest.importorskip("plexichat_moderation")
    pytest.importorskip("plexichat_echo_bot")
    with served(tmp_path, backend, "moderation", "echo_bot") as client:
        ada, bob = Member(client, "ada"), Member(client, "bob")
        general = channel_of(ada, bob)
        client.put("/api/v1/plugins/moderation/settings", headers=AUTH,
                   json={"blocked_words": ["heck"], "action": "mask"})
        with bob.websocket() as ws:
            posted = ada.post(general, "/echo heck yes").json()
            command, reply = next_event(ws), next_event(ws)
        assert command["message"]["text"] == posted["text"] == "/echo **** yes"
        assert (reply["message"]["author"], reply["message"]["text"]) == (
            "bot:echo_bot", "**** yes")
        assert reply["seq"] > command["seq"]
