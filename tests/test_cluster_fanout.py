"""Chat fan-out across real replicas: a message stored through one replica reaches the
WebSocket clients of every replica, in one order, with gap-free ``seq``."""

from __future__ import annotations

import contextlib
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.replicas import replicas
from websockets.sync.client import connect

FAST = {"PLEXICHAT_PASSWORD_HASH_TIME_COST": "1", "PLEXICHAT_PASSWORD_HASH_MEMORY_KIB": "64",
        "PLEXICHAT_DISABLE_PLUGINS": "moderation"}  # its rate limit would stop quick posts
DELIVERY_BOUND = 2.0
"""Seconds within which an event must reach every replica's clients."""


@pytest.fixture
def cluster(site, tmp_path):
    with replicas(2, site, tmp_path, env=FAST) as running:
        yield running


def login(replica, name):
    """Register ``name`` through ``replica``; its token."""
    credentials = {"name": name, "password": "password-1"}
    with replica.client() as client:
        assert client.post("/api/v1/users", json=credentials).status_code == 201
        return client.post("/api/v1/users/login", json=credentials).json()["token"]


def headers(token):
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def socket(replica, token):
    """A WebSocket of ``replica`` past its ``ready`` message."""
    with connect(replica.url.replace("http", "ws") + f"/api/v1/ws?token={token}",
                 open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        yield ws


def receive(ws, count):
    return [json.loads(ws.recv(timeout=DELIVERY_BOUND)) for _ in range(count)]


@pytest.fixture
def channel(cluster):
    """Ada and bob (both members of ``general``), and the channel's id."""
    first, second = cluster
    ada, bob = login(first, "ada"), login(second, "bob")
    with first.client() as client:
        general = client.post("/api/v1/channels", json={"name": "general"},
                              headers=headers(ada)).json()["id"]
    with second.client() as client:
        assert client.post(f"/api/v1/channels/{general}/join",
                           headers=headers(bob)).status_code == 200
    return ada, bob, general


def test_a_message_posted_through_one_replica_reaches_a_client_of_another(cluster, channel):
    first, second = cluster
    ada, bob, general = channel
    with socket(second, bob) as ws:
        with first.client() as client:
            posted = client.post(f"/api/v1/channels/{general}/messages",
                                 json={"text": "hello from replica 0"}, headers=headers(ada))
            assert posted.status_code == 201, posted.text
            client.patch(f"/api/v1/messages/{posted.json()['id']}", json={"text": "edited"},
                         headers=headers(ada))
            client.delete(f"/api/v1/messages/{posted.json()['id']}", headers=headers(ada))
        events = receive(ws, 3)
    assert [(e["type"], e["message"]["text"], e["seq"]) for e in events] == [
        ("message.created", "hello from replica 0", 1), ("message.updated", "edited", 2),
        ("message.deleted", "edited", 3)]
    assert {e["message"]["id"] for e in events} == {posted.json()["id"]}


def test_quick_posts_through_two_replicas_reach_every_client_in_one_order(cluster, channel):
    first, second = cluster
    ada, bob, general = channel
    per_author = 40
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket(replica, token))
                   for replica, token in ((first, ada), (second, bob), (second, ada))]
        def post_all(replica, token, name):
            with replica.client() as client:
                for i in range(per_author):
                    response = client.post(f"/api/v1/channels/{general}/messages",
                                           json={"text": f"{name} {i}"}, headers=headers(token))
                    assert response.status_code == 201, response.text

        with ThreadPoolExecutor(2) as pool:
            for done in [pool.submit(post_all, first, ada, "ada"),
                         pool.submit(post_all, second, bob, "bob")]:
                done.result()
        seen = [receive(ws, 2 * per_author) for ws in sockets]
    orders = [[e["message"]["id"] for e in events] for events in seen]
    assert orders[0] == orders[1] == orders[2]
    assert len(set(orders[0])) == 2 * per_author
    for events in seen:
        assert [e["seq"] for e in events] == list(range(1, 2 * per_author + 1))
        texts = [e["message"]["text"] for e in events]
        for name in ("ada", "bob"):  # each author's messages in the order they were stored
            assert [t for t in texts if t.startswith(name)] == [
                f"{name} {i}" for i in range(per_author)]


def test_delivery_latency_between_replicas(cluster, channel):
    first, second = cluster
    ada, bob, general = channel
    count = 200
    sent: dict[str, float] = {}
    arrived: dict[str, dict[str, float]] = {"local": {}, "remote": {}}

    def read(ws, into: dict[str, float]) -> None:
        for _ in range(count):
            event = json.loads(ws.recv(timeout=DELIVERY_BOUND + 5))
            into[event["message"]["text"]] = time.perf_counter()

    with socket(first, ada) as local, socket(second, bob) as remote:
        readers = [threading.Thread(target=read, args=(local, arrived["local"])),
                   threading.Thread(target=read, args=(remote, arrived["remote"]))]
        for reader in readers:
            reader.start()
        with first.client() as client:
            for i in range(count):
                text = f"m{i}"
                sent[text] = time.perf_counter()
                assert client.post(f"/api/v1/channels/{general}/messages", json={"text": text},
                                   headers=headers(ada)).status_code == 201
        for reader in readers:
            reader.join(DELIVERY_BOUND + 10)
    print(f"\ndelivery over {count} messages posted through replica 0, from sending the POST "
          "to the WebSocket frame:")
    for where, times in arrived.items():
        assert len(times) == count, where
        latencies = sorted((times[t] - sent[t]) * 1000 for t in sent)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"  {where} ({'replica 0' if where == 'local' else 'replica 1'}): "
              f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, "
              f"max {latencies[-1]:.1f} ms")
        assert latencies[-1] < DELIVERY_BOUND * 1000, where
