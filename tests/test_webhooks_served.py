"""A real host (``python -m plexichat serve`` on a free 127.0.0.1 port) killed with
SIGKILL while webhook deliveries are pending, restarted on the same SQLite file:
the deliveries arrive, signed, once the receiver is up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest
from standardwebhooks import Webhook
from support.api import TOKEN
from support.webhook_receiver import free_port, make_emitter, receiving

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# Never through a proxy: this talks to the server it started, nothing else.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(port, method, path, body=None, timeout=5.0):
    """``(status, JSON)`` of one request to the served host, with the admin token."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@contextmanager
def served(site, tmp_path, port, run):
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
        PLEXICHAT_DATA_DIR=str(tmp_path / "data"),  # the same SQLite file on every run
        PLEXICHAT_ADMIN_TOKEN=TOKEN,
        PLEXICHAT_LOAD_PLUGINS="emitter",
        PLEXICHAT_WEBHOOK_POLL_INTERVAL="0.2",
        PLEXICHAT_WEBHOOK_BACKOFF_BASE="0.05",
        PLEXICHAT_WEBHOOK_BACKOFF_CAP="0.3",
        PLEXICHAT_WEBHOOK_TIMEOUT="2",
        PLEXICHAT_WEBHOOK_MAX_ATTEMPTS="1000",
        PLEXICHAT_WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32",  # the receiver is on loopback
    )
    env.pop("PLEXICHAT_DATABASE_URL", None)
    log_path = tmp_path / f"server-{run}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plexichat", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            wait_until(lambda: _ready(port, proc), what="the host to be ready", within=30)
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            sys.stdout.write(log_path.read_text(errors="replace"))  # shown on failure


def _ready(port, proc):
    assert proc.poll() is None, f"server exited with {proc.returncode}"
    try:
        return call(port, "GET", "/api/v1/health/ready", timeout=1)[0] == 200
    except OSError:
        return False


def wait_until(check, what, within=15.0):
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_deliveries_pending_when_the_host_is_killed_arrive_after_it_restarts(site, tmp_path):
    make_emitter(site)
    receiver_port = free_port()  # nothing listens there until the receiver starts
    host_port = free_port()
    with served(site, tmp_path, host_port, 1) as proc:
        code, sub = call(host_port, "POST", "/api/v1/webhooks",
                         {"url": f"http://127.0.0.1:{receiver_port}/hook",
                          "events": ["emitter.ping"]})
        assert code == 201, sub
        emitted = []
        for _ in range(3):
            code, body = call(host_port, "POST", "/api/v1/emitter/emitter.ping")
            assert code == 200, body
            emitted.append(body["id"])

        def attempted():
            code, log = call(host_port, "GET", f"/api/v1/webhooks/{sub['id']}/deliveries")
            assert code == 200, log
            return len(log) == 3 and all(d["attempts"] >= 1 and d["last_error"] for d in log) \
                and log

        log = wait_until(attempted, what="first attempts against the missing receiver")
        assert {d["status"] for d in log} == {"pending"}
        assert all(d["last_error"].startswith("ConnectError") for d in log)
        proc.send_signal(signal.SIGKILL)  # no lifespan shutdown, nothing flushed
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL

    with receiving(port=receiver_port) as receiver, \
            served(site, tmp_path, host_port, 2):
        got = receiver.wait_for(3, timeout=20)
        payloads = [Webhook(sub["secret"]).verify(r.body, r.headers) for r in got]
        assert [p["type"] for p in payloads] == ["emitter.ping"] * 3
        assert len({r.headers["webhook-id"] for r in got}) == 3

        def delivered():
            code, log = call(host_port, "GET",
                             f"/api/v1/webhooks/{sub['id']}/deliveries?status=delivered")
            return len(log) == 3 and log

        log = wait_until(delivered, what="the delivery log to show 3 delivered")
        assert sorted(d["event_id"] for d in log) == sorted(emitted)
        assert {d["webhook_id"] for d in log} == {r.headers["webhook-id"] for r in got}
        time.sleep(0.3)
        assert len(receiver.received) == 3  # each once
