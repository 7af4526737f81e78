"""Redis dies and comes back (empty) under three real replicas: the whole cluster
converges again.

The test runs its own ``redis-server`` on a free loopback port (no persistence) so it
can kill and restart it. While Redis is down a plugin is disabled through replica 0 (the
others see it by polling) and a message is posted; after the restart:

- the plugin state is the same on every replica, and a change is signalled again;
- the message posted during the outage, then one posted after, reach the WebSocket
  clients of the other replicas in storage order with gap-free ``seq``;
- the singleton task has exactly one holder again (none ran during the outage).

Meanwhile stored bearer tokens keep working and logins are refused (the throttle's
counts are out of reach). See docs/DEPLOYMENT.md, *When Redis goes away*.

Times are printed (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable

from support.dists import make_plugin
from support.placed_tasks import PLACED, beats
from support.replicas import own_redis, replicas
from websockets.sync.client import connect

ADMIN = {"Authorization": "Bearer cluster-test-admin-token"}
LEASE = 2.0
POLL = 1.0
ENV = {"PLEXICHAT_PASSWORD_HASH_TIME_COST": "1", "PLEXICHAT_PASSWORD_HASH_MEMORY_KIB": "64",
       "PLEXICHAT_CLUSTER_HEARTBEAT_INTERVAL": "0.5",
       "PLEXICHAT_CLUSTER_POLL_INTERVAL": str(POLL),
       "PLEXICHAT_TASK_LEASE_SECONDS": str(LEASE),
       "PLEXICHAT_LOAD_PLUGINS": "hello,placed"}


def _until(check: Callable[[], object], within: float, what: str) -> float:
    """Seconds until ``check()`` is true (polled every 20 ms); fails after ``within``."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < within, f"{what}: not within {within} s"
        time.sleep(0.02)
    return time.monotonic() - start


def _register(replica, name: str) -> dict[str, str]:
    credentials = {"name": name, "password": "password-1"}
    with replica.client() as client:
        assert client.post("/api/v1/users", json=credentials).status_code == 201
        token = client.post("/api/v1/users/login", json=credentials).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def _socket(replica, auth: dict[str, str]):
    token = auth["Authorization"].removeprefix("Bearer ")
    with connect(replica.url.replace("http", "ws") + f"/api/v1/ws?token={token}",
                 open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        yield ws


def _messages(ws, count: int, within: float) -> list[dict]:
    """The next ``count`` message events ``ws`` receives (other events skipped)."""
    got: list[dict] = []
    deadline = time.monotonic() + within
    while len(got) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {count} messages within {within} s: {got}"
        event = json.loads(ws.recv(timeout=left))
        if event.get("type") == "message.created":
            got.append(event)
    return got


def test_the_cluster_converges_after_redis_is_killed_and_restarted(site, tmp_path):
    out = tmp_path / "beats"
    out.mkdir()
    make_plugin(site, "placed", code=PLACED)
    env = {**ENV, "PLX_TASK_DIR": str(out)}
    with own_redis(tmp_path) as redis_server, \
            replicas(3, site, tmp_path, env=env, redis_url=redis_server.url) as running:
        clients = [r.client() for r in running]
        ada, bob, cy = (_register(r, n) for r, n in zip(running, ("ada", "bob", "cy"), strict=True))
        general = clients[0].post("/api/v1/channels", json={"name": "general"},
                                  headers=ada).json()["id"]
        for client, auth in ((clients[1], bob), (clients[2], cy)):
            assert client.post(f"/api/v1/channels/{general}/join",
                               headers=auth).status_code == 200

        def post(text: str) -> int:
            response = clients[0].post(f"/api/v1/channels/{general}/messages",
                                       json={"text": text}, headers=ada)
            assert response.status_code == 201, response.text
            return int(response.json()["id"])

        def singleton_holders(since: float) -> set[int]:
            return {pid for pid, _ in beats(out, "singleton", since)}

        _until(lambda: len(singleton_holders(0)) == 1, 10, "a singleton holder")
        with _socket(running[1], bob) as ws1, _socket(running[2], cy) as ws2:
            before = post("before")
            for ws in (ws1, ws2):
                assert [e["message"]["id"] for e in _messages(ws, 1, 5)] == [before]

            redis_server.kill()
            killed_at = time.time()
            during = post("during the outage")  # bearer tokens live in the database
            login = clients[1].post("/api/v1/users/login",
                                    json={"name": "bob", "password": "password-1"})
            # the throttle cannot count: no unthrottled login, but a 503 that says why
            assert login.status_code == 503, login.text
            assert "Redis" in login.json()["detail"]
            assert login.headers["Retry-After"] == "5"
            assert clients[0].post("/api/v1/plugins/hello/disable",
                                   headers=ADMIN).status_code == 200
            for i in (1, 2):
                took = _until(lambda c=clients[i]: c.get("/api/v1/hello").status_code == 404,
                              POLL + 4, f"disable seen by polling on replica {i}")
                print(f"Redis down: disable reached replica {i} by polling in {took:.2f} s")
            time.sleep(max(0.0, killed_at + LEASE + 0.5 - time.time()))
            idle_from = time.time()
            time.sleep(1.0)
            assert singleton_holders(idle_from) == set(), "a singleton ran without its lease"

            redis_server.start()
            restarted = time.monotonic()
            restarted_at = time.time()
            after = post("after the restart")
            for i, ws in ((1, ws1), (2, ws2)):
                events = _messages(ws, 2, 10)
                took = time.monotonic() - restarted
                assert [e["message"]["id"] for e in events] == [during, after]
                seqs = [e["seq"] for e in events]
                assert seqs[1] == seqs[0] + 1, seqs
                print(f"Redis back: held + new message reached replica {i}'s client "
                      f"{took:.2f} s after the restart")

        _until(lambda: len(singleton_holders(restarted_at)) >= 1, LEASE + 5,
               "a singleton holder after the restart")
        took = min(at for _, at in beats(out, "singleton", restarted_at)) - restarted_at
        print(f"Redis back: singleton running again {took:.2f} s after the restart")
        settled = time.time()
        time.sleep(1.5)
        assert len(singleton_holders(settled)) == 1, singleton_holders(settled)

        states = {c.get("/api/v1/plugins/hello").json()["state"] for c in clients}
        assert states == {"disabled"}
        _until(lambda: all("following desired-state signals again" in r.log()
                           for r in running), 10, "every replica resubscribed")
        started = time.monotonic()
        assert clients[2].post("/api/v1/plugins/hello/enable",
                               headers=ADMIN).status_code == 200
        for i in (0, 1):
            _until(lambda c=clients[i]: c.get("/api/v1/hello").status_code == 200,
                   POLL + 4, f"enable seen on replica {i}")
            print(f"Redis back: enable reached replica {i} in "
                  f"{(time.monotonic() - started) * 1000:.0f} ms")
        for client in clients:
            client.close()
