"""Webhook deliveries from a running host to a real receiver on 127.0.0.1, verified with
the ``standardwebhooks`` reference package; on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import logging
import time

import pytest
from standardwebhooks import Webhook
from support.api import AUTH, TOKEN, eventually
from support.databases import BACKENDS, database_url
from support.host import running_host
from support.webhook_receiver import free_port, make_emitter, receiving

FAST = {
    "admin_token": TOKEN,
    "webhook_poll_interval": 0.2,
    "webhook_backoff_base": 0.05,
    "webhook_backoff_cap": 0.2,
    "webhook_timeout": 2.0,
    # the receiver listens on loopback, which webhooks may reach only when allowed
    "webhook_allowed_networks": "127.0.0.1/32",
}


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


def subscribe(client, url, events=("*",), **extra):
    response = client.post("/api/v1/webhooks", headers=AUTH,
                           json={"url": url, "events": list(events), **extra})
    assert response.status_code == 201, response.text
    return response.json()


def record(client, event="message.posted", payload=None):
    outbox = client.app.state.host.services.webhooks
    return outbox.record(event, "core", payload or {"channel": "general", "text": "hello"})


def deliveries(client, sub_id, **params):
    response = client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=AUTH,
                          params=params)
    assert response.status_code == 200, response.text
    return response.json()


def settled(client, sub_id, status, count=1):
    def check():
        found = deliveries(client, sub_id, status=status)
        return found if len(found) >= count else None
    return eventually(check, timeout=10, what=f"{count} {status} deliveries")


def test_receiver_verifies_the_standard_webhooks_signature(tmp_path, db_url):
    with receiving() as receiver, running_host(tmp_path / "data", database_url=db_url,
                                               **FAST) as client:
        sub = subscribe(client, receiver.url(), ["message.posted"])
        event_id = record(client, payload={"channel": "general", "text": "héllo"})
        (got,) = receiver.wait_for(1)
        payload = Webhook(sub["secret"]).verify(got.body, got.headers)
        assert payload["type"] == "message.posted"
        assert payload["data"] == {"channel": "general", "text": "héllo"}
        assert payload["timestamp"].endswith("Z")
        assert got.headers["content-type"] == "application/json"
        assert got.headers["webhook-signature"].startswith("v1,")
        assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
        assert got.path == "/hook"
        # a different secret does not verify
        from standardwebhooks.webhooks import WebhookVerificationError

        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43 + "=").verify(got.body, got.headers)

        (logged,) = settled(client, sub["id"], "delivered")
        assert (logged["event_id"], logged["event"], logged["attempts"],
                logged["response_code"], logged["last_error"]) == (
            event_id, "message.posted", 1, 200, "")
        assert logged["webhook_id"] == got.headers["webhook-id"]


def test_failures_are_retried_with_backoff_until_delivered(tmp_path, db_url):
    with receiving(answers=[500, 503, 500]) as receiver, \
            running_host(tmp_path / "data", database_url=db_url, **FAST) as client:
        sub = subscribe(client, receiver.url())
        record(client)
        got = receiver.wait_for(4)
        assert [r.answered for r in got] == [500, 503, 500, 200]
        # the same webhook-id on every retry, each attempt signed afresh
        assert len({r.headers["webhook-id"] for r in got}) == 1
        for r in got:
            Webhook(sub["secret"]).verify(r.body, r.headers)
        gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
        # backoff 0.05, 0.1, 0.2 s (capped at 0.2): never sooner than scheduled
        for gap, least in zip(gaps, [0.05, 0.1, 0.2], strict=True):
            assert gap >= least * 0.9, gaps
        (logged,) = settled(client, sub["id"], "delivered")
        assert (logged["attempts"], logged["response_code"]) == (4, 200)


def test_after_the_attempt_limit_a_delivery_fails_with_its_last_error(tmp_path, db_url):
    with receiving(default=500) as receiver, \
            running_host(tmp_path / "data", database_url=db_url,
                         **{**FAST, "webhook_max_attempts": 3}) as client:
        sub = subscribe(client, receiver.url())
        record(client)
        (logged,) = settled(client, sub["id"], "failed")
        assert logged["attempts"] == 3
        assert logged["response_code"] == 500
        assert logged["last_error"] == "HTTP 500: receiver says no"
        assert logged["next_attempt_at"] is None
        assert len(receiver.received) == 3
        time.sleep(0.4)  # nothing more is attempted
        assert len(receiver.received) == 3
        listed = client.get(f"/api/v1/webhooks/{sub['id']}", headers=AUTH).json()
        assert listed["deliveries"] == {"pending": 0, "delivered": 0, "failed": 1}

        # an operator sends it again once the receiver is fixed
        receiver.default = 200
        retried = client.post(f"/api/v1/webhooks/{sub['id']}/deliveries/{logged['id']}/retry",
                              headers=AUTH)
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "pending"
        (done,) = settled(client, sub["id"], "delivered")
        assert done["attempts"] == 1
        assert client.post(f"/api/v1/webhooks/{sub['id']}/deliveries/9999/retry",
                           headers=AUTH).status_code == 404


def test_unreachable_receivers_are_logged_and_retried(tmp_path):
    port = free_port()  # nothing listens there
    with running_host(tmp_path / "data", **{**FAST, "webhook_max_attempts": 2}) as client:
        sub = subscribe(client, f"http://127.0.0.1:{port}/hook")
        record(client)
        (logged,) = settled(client, sub["id"], "failed")
        assert logged["response_code"] is None
        assert logged["last_error"].startswith("ConnectError")


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(tmp_path):
    with receiving(delay=1.0) as receiver, \
            running_host(tmp_path / "data", **{**FAST, "webhook_timeout": 0.2,
                                               "webhook_max_attempts": 1}) as client:
        sub = subscribe(client, receiver.url())
        record(client)
        (logged,) = settled(client, sub["id"], "failed")
        assert logged["last_error"] == "no answer within 0.2 s"


def test_recording_wakes_the_worker_at_once(tmp_path):
    with receiving() as receiver, \
            running_host(tmp_path / "data", **{**FAST, "webhook_poll_interval": 30}) as client:
        subscribe(client, receiver.url())
        time.sleep(0.1)  # the worker is asleep for its 30 s poll interval
        started = time.monotonic()
        record(client)
        receiver.wait_for(1, timeout=5)
        assert time.monotonic() - started < 3


def test_pending_deliveries_are_delivered_by_a_restarted_host(tmp_path, db_url):
    port = free_port()
    settings = {**FAST, "database_url": db_url, "webhook_max_attempts": 100}
    with running_host(tmp_path / "data", **settings) as client:
        sub = subscribe(client, f"http://127.0.0.1:{port}/hook", ["message.*"])
        ids = [record(client, payload={"n": n}) for n in range(3)]
        eventually(lambda: all(d["attempts"] >= 1 and d["last_error"]
                               for d in deliveries(client, sub["id"]))
                   and len(deliveries(client, sub["id"])) == 3, what="failed first attempts")
        assert {d["status"] for d in deliveries(client, sub["id"])} == {"pending"}
    # the host is stopped; the receiver comes up; a new host on the same database
    with receiving(port=port) as receiver, running_host(tmp_path / "data", **settings) as client:
        got = receiver.wait_for(3)
        bodies = [Webhook(sub["secret"]).verify(r.body, r.headers) for r in got]
        assert sorted(b["data"]["n"] for b in bodies) == [0, 1, 2]
        logged = settled(client, sub["id"], "delivered", 3)
        assert sorted(d["event_id"] for d in logged) == ids
        time.sleep(0.3)
        assert len(receiver.received) == 3  # each delivered once


def test_a_plugins_declared_event_is_delivered_and_undeclared_refused(site, tmp_path, db_url):
    make_emitter(site)
    with receiving() as receiver, running_host(tmp_path / "data", "emitter",
                                               database_url=db_url, **FAST) as client:
        sub = subscribe(client, receiver.url(), ["emitter.*"])
        assert client.post("/api/v1/emitter/emitter.ping").status_code == 200
        refused = client.post("/api/v1/emitter/emitter.other")
        assert refused.status_code == 400
        assert "does not declare" in refused.json()["detail"]
        (got,) = receiver.wait_for(1)
        payload = Webhook(sub["secret"]).verify(got.body, got.headers)
        assert (payload["type"], payload["data"]) == ("emitter.ping", {"from": "emitter"})
        events = client.get("/api/v1/webhooks/events", headers=AUTH).json()
        assert [(e["event"], e["source"]) for e in events] == [("emitter.ping", "emitter")]
        time.sleep(0.2)
        assert len(receiver.received) == 1


def test_the_secret_never_reaches_the_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with receiving(answers=[500]) as receiver, \
            running_host(tmp_path / "data", **{**FAST, "webhook_max_attempts": 2}) as client:
        sub = subscribe(client, receiver.url())
        given = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
        other = subscribe(client, receiver.url("/other"), secret=given)
        record(client)
        settled(client, sub["id"], "delivered")
        settled(client, other["id"], "delivered")
        client.get("/api/v1/webhooks", headers=AUTH)
    text = caplog.text + "\n".join(
        repr(r.args) + repr(getattr(r, "__dict__", {})) for r in caplog.records)
    assert "delivered to subscription" in caplog.text  # the delivery was logged
    for secret in (sub["secret"], other["secret"]):
        assert secret not in text
        assert secret.removeprefix("whsec_") not in text
    assert json.dumps(sub["secret"]) not in text
