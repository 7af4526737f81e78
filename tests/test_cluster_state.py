"""One plugin state across real replicas: a change through one is served by all.

Each test runs real ``plexichat serve`` replicas on one fresh PostgreSQL database and
one Redis database (:mod:`support.replicas`). Propagation is measured and printed
(``pytest -s`` shows it). The poll interval is set far above the bound asserted, so
only the Redis signal can meet it — except where Redis is unreachable on purpose.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

import httpx
from click.testing import CliRunner
from support.replicas import replicas
from support.served import free_port

from plexichat.cli import main
from plexichat.testing import make_plugin

ADMIN = {"Authorization": "Bearer cluster-test-admin-token"}
FAST = {"PLEXICHAT_PASSWORD_HASH_TIME_COST": "1", "PLEXICHAT_PASSWORD_HASH_MEMORY_KIB": "64",
        "PLEXICHAT_CLUSTER_HEARTBEAT_INTERVAL": "0.5"}
SIGNAL_ONLY = {**FAST, "PLEXICHAT_CLUSTER_POLL_INTERVAL": "60"}
BOUND = 1.0


def _until(check: Callable[[], bool], within: float, what: str,
           since: float | None = None) -> float:
    """Seconds from ``since`` (a ``time.monotonic()``; default: now) until ``check()``
    holds (polled every 20 ms); fails after ``within``."""
    start = time.monotonic() if since is None else since
    while not check():
        elapsed = time.monotonic() - start
        assert elapsed < within, f"{what}: not within {within} s"
        time.sleep(0.02)
    return time.monotonic() - start


def _status(client: httpx.Client, path: str) -> int:
    return client.get(path).status_code


def test_enable_disable_propagates_to_every_replica_within_a_second(site, tmp_path):
    with replicas(3, site, tmp_path, env=SIGNAL_ONLY) as running:
        clients = [r.client() for r in running]
        for client in clients:
            assert _status(client, "/api/v1/hello") == 200
        assert clients[0].post("/api/v1/plugins/hello/disable",
                               headers=ADMIN).status_code == 200
        changed = time.monotonic()
        for i in (1, 2):
            took = _until(lambda c=clients[i]: _status(c, "/api/v1/hello") == 404, BOUND,
                          f"hello disabled on replica {i}", changed)
            print(f"disable propagated to replica {i} in {took * 1000:.0f} ms")
        assert clients[0].post("/api/v1/plugins/hello/enable",
                               headers=ADMIN).status_code == 200
        changed = time.monotonic()
        for i in (1, 2):
            took = _until(lambda c=clients[i]: _status(c, "/api/v1/hello") == 200, BOUND,
                          f"hello enabled again on replica {i}", changed)
            print(f"enable propagated to replica {i} in {took * 1000:.0f} ms")
        states = {c.get("/api/v1/plugins/hello").json()["state"] for c in clients}
        assert states == {"started"}


def _granted(client: httpx.Client) -> list[str]:
    """The permissions the running hello plugin of that replica holds."""
    return client.get("/api/v1/plugins/hello").json()["permissions_granted"]


def test_a_grant_reaches_the_running_plugin_of_every_replica_within_a_second(site,
                                                                           tmp_path):
    with replicas(3, site, tmp_path, env=SIGNAL_ONLY) as running:
        clients = [r.client() for r in running]
        assert all("events:emit" not in _granted(c) for c in clients)
        for change, held in (({"grant": ["events:emit"]}, True),
                             ({"revoke": ["events:emit"]}, False)):
            response = clients[0].post("/api/v1/plugins/hello/grants", headers=ADMIN,
                                       json=change)
            assert response.status_code == 200, response.text
            changed = time.monotonic()
            for i in (1, 2):
                took = _until(lambda c=clients[i], h=held: ("events:emit" in _granted(c)) == h,
                              BOUND, f"{change} on replica {i}", changed)
                print(f"{next(iter(change))} propagated to replica {i} in "
                      f"{took * 1000:.0f} ms")


def test_settings_changed_through_one_replica_apply_on_the_others(site, tmp_path):
    with replicas(3, site, tmp_path, env=SIGNAL_ONLY) as running:
        first, second, third = (r.client() for r in running)
        for name in ("ann", "bob"):
            assert second.post("/api/v1/users", json={"name": name, "password": "pw-123456"}
                               ).status_code == 201
        token = second.post("/api/v1/users/login", json={"name": "ann",
                                                         "password": "pw-123456"}
                            ).json()["token"]
        user = {"Authorization": f"Bearer {token}"}
        channel = second.post("/api/v1/channels", json={"name": "general", "topic": ""},
                              headers=user).json()["id"]

        def post(through: httpx.Client, text: str) -> httpx.Response:
            return through.post(f"/api/v1/channels/{channel}/messages", json={"text": text},
                                headers=user)

        for other in (second, third):
            assert post(other, "darn it").status_code == 201
        response = first.put("/api/v1/plugins/moderation/settings", headers=ADMIN,
                             json={"blocked_words": ["darn"], "action": "reject"})
        assert response.status_code == 200, response.text
        changed = time.monotonic()
        for i, other in ((1, second), (2, third)):
            took = _until(lambda o=other: post(o, "darn it").status_code == 400, BOUND,
                          f"blocked word rejected on replica {i}", changed)
            print(f"settings change propagated to replica {i} in {took * 1000:.0f} ms")
            assert post(other, "fine words").status_code == 201


def test_concurrent_change_with_a_stale_generation_answers_409(site, tmp_path):
    with replicas(2, site, tmp_path, env=SIGNAL_ONLY) as running:
        first, second = (r.client() for r in running)
        seen = first.get("/api/v1/plugins/hello").json()["generation"]
        assert second.get("/api/v1/plugins/hello").json()["generation"] == seen
        won = first.post("/api/v1/plugins/hello/disable",
                         headers={**ADMIN, "If-Match": str(seen)})
        assert won.status_code == 200, won.text
        after = won.json()["generation"]
        assert after > seen
        lost = second.post("/api/v1/plugins/hello/enable",
                           headers={**ADMIN, "If-Match": str(seen)})
        assert lost.status_code == 409, lost.text
        assert lost.json()["current"]["generation"] == after
        _until(lambda: _status(second, "/api/v1/hello") == 404, BOUND,
               "the winning change on the other replica")
        for client in (first, second):
            assert client.get("/api/v1/plugins/hello").json()["state"] == "disabled"
        grants = second.post("/api/v1/plugins/hello/grants", headers=ADMIN,
                             json={"grant": ["db:read"], "generation": seen})
        assert grants.status_code == 409, grants.text
        settings = second.put("/api/v1/plugins/moderation/settings",
                              headers={**ADMIN, "If-Match": "0"}, json={"action": "reject"})
        assert settings.status_code == 409, settings.text
        # without If-Match the last write wins, everywhere alike
        assert second.post("/api/v1/plugins/hello/enable", headers=ADMIN).status_code == 200
        _until(lambda: _status(first, "/api/v1/hello") == 200, BOUND, "enabled again")


def test_a_replica_without_redis_converges_by_polling(site, tmp_path):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    each = [{}, {"PLEXICHAT_REDIS_URL": closed}]
    polling = {**FAST, "PLEXICHAT_CLUSTER_POLL_INTERVAL": "1"}
    with replicas(2, site, tmp_path, env=polling, each_env=each) as running:
        first, cut_off = (r.client() for r in running)
        assert first.post("/api/v1/plugins/hello/disable", headers=ADMIN).status_code == 200
        took = _until(lambda: _status(cut_off, "/api/v1/hello") == 404, 5.0,
                      "disable seen by polling")
        print(f"disable reached the replica without Redis by polling in {took:.2f} s")
        assert cut_off.post("/api/v1/plugins/hello/enable", headers=ADMIN).status_code == 200
        took = _until(lambda: _status(first, "/api/v1/hello") == 200, 5.0,
                      "an enable through the replica without Redis, seen by polling")
        print(f"enable through the replica without Redis reached the other in {took:.2f} s")
        assert "Redis unavailable" in running[1].log()


def test_cluster_lists_every_replica(site, tmp_path):
    with replicas(3, site, tmp_path, env=FAST) as running:
        client = running[0].client()
        assert client.get("/api/v1/cluster").status_code == 401

        def listed() -> bool:
            data = client.get("/api/v1/cluster", headers=ADMIN).json()
            return len(data["replicas"]) == 3 and all(
                any(p["name"] == "hello" and p["state"] == "started" for p in r["plugins"])
                for r in data["replicas"])

        _until(listed, 10.0, "three replicas with hello started")
        data = client.get("/api/v1/cluster", headers=ADMIN).json()
        assert data["clustered"] is True
        assert sum(r["this"] for r in data["replicas"]) == 1
        assert {r["url"] for r in data["replicas"]} == {r.url for r in running}
        assert data["skew"] == []
        # the CLI asks a running replica the same
        shown = CliRunner().invoke(main, ["cluster", "status", "--url", running[2].url,
                                          "--token", "cluster-test-admin-token"])
        assert shown.exit_code == 0, shown.output
        assert "3 live replica(s)" in shown.output and "no version skew" in shown.output
        assert shown.output.count("(this)") == 1
        # the web UI's overview lists them for a logged-in operator
        assert 'id="replicas"' not in client.get("/").text
        assert client.post("/login", data={"token": "cluster-test-admin-token",
                                           "next": "/"}).status_code == 303
        page = client.get("/").text
        assert 'id="replicas"' in page
        for replica in data["replicas"]:
            assert f'data-replica="{replica["replica_id"]}"' in page


def test_version_skew_is_reported_on_the_replica_that_has_it(site, tmp_path):
    older, newer = tmp_path / "older", tmp_path / "newer"
    older.mkdir()
    newer.mkdir()
    make_plugin(older, "skewed", version="1.0.0")
    make_plugin(older, "only_here")
    make_plugin(newer, "skewed", version="1.1.0")
    with replicas(3, site, tmp_path, env=FAST, sites=[older, newer, newer]) as running:
        client = running[1].client()

        def cluster() -> dict:
            return client.get("/api/v1/cluster", headers=ADMIN).json()

        _until(lambda: len(cluster()["replicas"]) == 3 and all(
            r["ready"] for r in cluster()["replicas"]), 10.0, "three replicas ready")
        data = cluster()
        by_url = {r["url"]: r for r in data["replicas"]}
        old, new, third = (by_url[r.url] for r in running)
        assert {(s["replica_id"], s["plugin"], s["state"], s["reason"])
                for s in data["skew"]} == {
            (old["replica_id"], "skewed", "rejected", "version 1.0.0 here, 1.1.0 elsewhere"),
            (new["replica_id"], "only_here", "rejected", "not installed on this replica"),
            (third["replica_id"], "only_here", "rejected", "not installed on this replica"),
        }
        plugins = {p["name"]: p for p in new["plugins"]}
        assert plugins["only_here"]["state"] == "rejected"
        assert plugins["skewed"]["state"] == "started"


class _Proxy:
    """A TCP proxy to Redis that can be cut (every connection closed, none accepted)
    and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: socket.socket | None = None
        self._open: list[socket.socket] = []

    def start(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
        self._open.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)


def test_a_replica_catches_up_as_soon_as_redis_returns(site, tmp_path):
    import os
    from urllib.parse import urlsplit

    real = urlsplit(os.environ.get("PLEXICHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    proxy = _Proxy((real.hostname or "127.0.0.1", real.port or 6379))
    proxy.start()
    through = f"redis://127.0.0.1:{proxy.port}{real.path}"
    each = [{}, {"PLEXICHAT_REDIS_URL": through}]
    with replicas(2, site, tmp_path, env=SIGNAL_ONLY, each_env=each) as running:
        first, second = (r.client() for r in running)
        proxy.cut()
        _until(lambda: "Redis unavailable" in running[1].log(), 10.0, "the loss noticed")
        assert first.post("/api/v1/plugins/hello/disable", headers=ADMIN).status_code == 200
        time.sleep(1.5)  # no signal reaches it, and it polls only every 60 s
        assert _status(second, "/api/v1/hello") == 200
        proxy.start()
        took = _until(lambda: _status(second, "/api/v1/hello") == 404, 5.0,
                      "caught up once Redis is back")
        print(f"caught up {took:.2f} s after Redis returned")
