"""The WebSocket ``/api/v1/ws``: message events of joined channels, in storage order."""

from __future__ import annotations

import asyncio

import pytest
from starlette.websockets import WebSocketDisconnect
from support.chat import Chatter, chat_host
from support.databases import BACKENDS
from support.dists import make_plugin


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def client(tmp_path, backend):
    with chat_host(tmp_path, backend) as client:
        yield client


def connect(client, chatter):
    ws = client.websocket_connect(f"/api/v1/ws?token={chatter.token}")
    return ws


def test_ready_then_created_updated_deleted_in_order(client):
    ada = Chatter(client, "ada")
    general = ada.create_channel()
    with connect(client, ada) as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready"
        assert ready["user"]["name"] == "ada"
        assert ready["channels"] == [general]
        first = ada.say(general, "one")
        second = ada.say(general, "two")
        ada.edit(first["id"], "one!")
        ada.delete(second["id"])
        events = [ws.receive_json() for _ in range(4)]
    assert [(e["type"], e["message"]["text"]) for e in events] == [
        ("message.created", "one"), ("message.created", "two"),
        ("message.updated", "one!"), ("message.deleted", "two")]
    assert all(e["channel_id"] == general for e in events)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    assert events[0]["message"] == {k: v for k, v in first.items()
                                    if k not in ("replies", "notices")}


def test_only_joined_channels_are_delivered_and_joining_counts_at_once(client):
    ada, bob = Chatter(client, "ada"), Chatter(client, "bob")
    general, random = ada.create_channel("general"), ada.create_channel("random")
    bob.join(general)
    with connect(client, bob) as ws:
        assert ws.receive_json()["channels"] == [general]
        ada.say(random, "not for bob yet")
        ada.say(general, "for bob")
        assert ws.receive_json()["message"]["text"] == "for bob"
        bob.join(random)
        ada.say(random, "now for bob too")
        event = ws.receive_json()
        assert (event["channel_id"], event["message"]["text"]) == (random, "now for bob too")


def test_every_connection_of_every_member_receives(client):
    ada, bob = Chatter(client, "ada"), Chatter(client, "bob")
    general = ada.create_channel()
    bob.join(general)
    with connect(client, ada) as a1, connect(client, ada) as a2, connect(client, bob) as b:
        for ws in (a1, a2, b):
            ws.receive_json()
        ada.say(general, "all of you")
        for ws in (a1, a2, b):
            assert ws.receive_json()["message"]["text"] == "all of you"


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_a_connection_without_a_valid_token_is_refused(client, token):
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect(
            f"/api/v1/ws?token={token}"):
        pass
    assert info.value.code == 1008


def test_the_token_may_come_as_a_bearer_header(client):
    ada = Chatter(client, "ada")
    with client.websocket_connect("/api/v1/ws", headers=ada.headers) as ws:
        assert ws.receive_json()["type"] == "ready"


def test_the_token_may_come_as_the_first_message(client):
    ada = Chatter(client, "ada")
    general = ada.create_channel()
    with client.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"type": "auth", "token": ada.token})
        ready = ws.receive_json()
        assert (ready["type"], ready["user"]["name"], ready["channels"]) == (
            "ready", "ada", [general])
        ada.say(general, "after auth")
        assert ws.receive_json()["message"]["text"] == "after auth"


@pytest.mark.parametrize("first", [{"type": "auth", "token": "not-a-token"},
                                   {"type": "hello"}, "not json"])
def test_a_first_message_without_a_valid_token_closes_the_connection(client, first):
    with client.websocket_connect("/api/v1/ws") as ws:
        if isinstance(first, dict):
            ws.send_json(first)
        else:
            ws.send_text(first)
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    assert info.value.code == 1008


def test_a_silent_connection_is_closed_after_the_auth_timeout(client, monkeypatch):
    from plexichat.web import api_chat

    monkeypatch.setattr(api_chat, "AUTH_TIMEOUT", 0.05)
    with client.websocket_connect("/api/v1/ws") as ws, pytest.raises(
            WebSocketDisconnect) as info:
        ws.receive_json()
    assert info.value.code == 1008
    assert '"type": "auth"' in info.value.reason


def test_clients_see_what_the_filters_stored(tmp_path, backend, site):
    make_plugin(site, "polite", code="""
        from plexichat import hookimpl
        from plexichat.chat import Reject

        @hookimpl
        def message_will_post(message):
            if "rude" in message.text:
                return Reject("be polite")
            return message.replace(text=message.text.replace("darn", "d**n"))
    """)
    with chat_host(tmp_path, backend, "polite") as client:
        ada = Chatter(client, "ada")
        general = ada.create_channel()
        with connect(client, ada) as ws:
            ws.receive_json()
            assert ada.post(general, "rude words").status_code == 400
            ada.say(general, "darn it")
            event = ws.receive_json()
        assert (event["type"], event["message"]["text"]) == ("message.created", "d**n it")


# --- the hub ---------------------------------------------------------------------------


def test_a_client_too_far_behind_is_cut_off():
    from plexichat.chat.fanout import FanoutHub

    async def run():
        hub = FanoutHub(max_pending=3)
        slow = hub.subscribe(1, [7])
        other = hub.subscribe(2, [8])
        for i in range(5):
            hub.publish(7, {"n": i})
        got = [await slow.next() for _ in range(4)]
        assert [g and g["n"] for g in got] == [0, 1, 2, None]
        assert slow.overflowed and other.queue.empty()

    asyncio.run(run())
