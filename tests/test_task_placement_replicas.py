"""Three real replicas on one PostgreSQL database and one Redis: a singleton task runs on
exactly one of them and moves to another within one lease period when its holder is
killed; a per-replica task runs on all; a webhook event is delivered exactly once."""

from __future__ import annotations

import time

import pytest
from support.dists import make_plugin
from support.placed_tasks import PLACED
from support.placed_tasks import beats as _beats
from support.replicas import replicas
from support.webhook_receiver import make_emitter, receiving

LEASE = 2.0
"""Seconds of the task lease in these tests (short, to keep them quick)."""

def _wait(check, what: str, within: float):
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {within} s waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("leases", ["redis", "postgresql"])
def test_singleton_task_runs_on_one_replica_and_moves_when_its_holder_dies(
        site, tmp_path, leases):
    out = tmp_path / "beats"
    out.mkdir()
    make_plugin(site, "placed", code=PLACED)
    env = {"PLX_TASK_DIR": str(out), "PLEXICHAT_TASK_LEASE_SECONDS": str(LEASE),
           "PLEXICHAT_LOAD_PLUGINS": "placed"}
    if leases == "postgresql":  # no Redis: advisory locks of the shared database
        env["PLEXICHAT_REDIS_URL"] = ""
    with replicas(3, site, tmp_path, env=env) as running:
        pids = {r.proc.pid for r in running}
        _wait(lambda: {p for p, _ in _beats(out, "per_replica")} == pids,
              "the per-replica task on every replica", 10)
        time.sleep(1.0)  # every replica has had time to try for the lease
        holders = {p for p, _ in _beats(out, "singleton")}
        assert len(holders) == 1, f"singleton ran on {holders} of {pids}"
        assert holders <= pids
        undeclared = {p for p, _ in _beats(out, "undeclared")}
        assert len(undeclared) == 1, f"a task without placement ran on {undeclared}"

        (holder_pid,) = holders
        holder = next(r for r in running if r.proc.pid == holder_pid)
        holder.proc.kill()
        killed_at = time.time()
        holder.proc.wait(timeout=10)

        def taken_over():
            return [b for b in _beats(out, "singleton", killed_at) if b[0] != holder_pid]

        first = _wait(taken_over, "another replica to take the singleton over",
                      LEASE + 5)[0]
        takeover = first[1] - killed_at
        print(f"{leases} lease: singleton taken over {takeover:.2f} s after SIGKILL of "
              f"its holder (lease {LEASE:g} s)")
        assert takeover <= LEASE + 1.5, f"takeover took {takeover:.2f} s"

        time.sleep(1.0)
        after = {p for p, _ in _beats(out, "singleton", first[1])}
        assert after == {first[0]}, f"after the takeover the singleton ran on {after}"
        alive = {r.proc.pid for r in running if r.proc.poll() is None}
        assert first[0] in alive


def test_webhook_event_is_delivered_once_with_three_replicas(site, tmp_path):
    make_emitter(site)
    env = {"PLEXICHAT_LOAD_PLUGINS": "emitter", "PLEXICHAT_WEBHOOK_POLL_INTERVAL": "0.1",
           "PLEXICHAT_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}
    admin = {"Authorization": "Bearer cluster-test-admin-token"}
    with receiving() as receiver, replicas(3, site, tmp_path, env=env) as running:
        with running[0].client() as client:
            response = client.post("/api/v1/webhooks", headers=admin, json={
                "url": receiver.url(), "events": ["emitter.ping"]})
            assert response.status_code == 201, response.text
        events = 9
        started = time.monotonic()
        for i in range(events):  # each replica records some; every replica delivers
            with running[i % 3].client() as client:
                response = client.post("/api/v1/emitter/emitter.ping")
                assert response.status_code == 200, response.text
        receiver.wait_for(events, timeout=15)
        delivered_in = time.monotonic() - started
        time.sleep(1.0)  # a second delivery would arrive by now (poll interval 0.1 s)
        ids = [r.headers.get("webhook-id") for r in receiver.received]
        print(f"{events} events over 3 replicas delivered in {delivered_in:.2f} s; "
              f"received {len(ids)} requests")
        assert len(ids) == events, f"received {len(ids)} requests for {events} events"
        assert len(set(ids)) == events, "a delivery arrived twice"

