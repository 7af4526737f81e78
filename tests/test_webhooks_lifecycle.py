"""A subscription's life beyond single deliveries, against a real receiver on 127.0.0.1
(loopback allowed through ``webhook_allowed_networks``): a ``410 Gone`` disables it,
redirects are never followed, its signing secret rotates with an overlap during which
both signatures are sent, and finished deliveries are pruned after the retention."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from support.api import AUTH, TOKEN, eventually
from support.databases import BACKENDS, database_url
from support.host import running_host
from support.webhook_receiver import receiving

from plexichat.storage import Database
from plexichat.storage.database import metadata, webhook_deliveries, webhook_events
from plexichat.webhooks import DeliveryWorker, TargetGuard, WebhookEvents
from plexichat.webhooks.outbox import utcnow

FAST = {
    "admin_token": TOKEN,
    "webhook_poll_interval": 0.2,
    "webhook_backoff_base": 0.05,
    "webhook_backoff_cap": 0.2,
    "webhook_timeout": 2.0,
    "webhook_allowed_networks": "127.0.0.1/32",  # the receiver listens on loopback
}


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


def subscribe(client, url):
    response = client.post("/api/v1/webhooks", headers=AUTH,
                           json={"url": url, "events": ["*"]})
    assert response.status_code == 201, response.text
    return response.json()


def record(client, n):
    return client.app.state.host.services.webhooks.record("thing.happened", "core", {"n": n})


def show(client, sub_id):
    response = client.get(f"/api/v1/webhooks/{sub_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def deliveries(client, sub_id):
    response = client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


# --- 410 Gone ----------------------------------------------------------------------------


def test_a_410_answer_disables_the_subscription_with_its_reason(tmp_path, db_url):
    with receiving(answers=[410]) as receiver, running_host(
            tmp_path / "data", database_url=db_url, **FAST) as client:
        sub = subscribe(client, receiver.url())
        record(client, 1)
        gone = eventually(lambda: show(client, sub["id"])["state"] == "disabled"
                          and show(client, sub["id"]), timeout=10, what="disabled")
        assert "410 Gone" in gone["disabled_reason"]
        assert gone["disabled_at"] is not None
        (first,) = deliveries(client, sub["id"])
        assert first["status"] == "failed" and first["response_code"] == 410
        assert first["attempts"] == 1  # not retried

        record(client, 2)  # nothing is queued for a disabled subscription
        time.sleep(0.6)
        assert len(deliveries(client, sub["id"])) == 1
        assert len(receiver.received) == 1

        enabled = client.post(f"/api/v1/webhooks/{sub['id']}/enable", headers=AUTH)
        assert enabled.status_code == 200, enabled.text
        assert enabled.json()["state"] == "active"
        assert enabled.json()["disabled_reason"] == ""
        record(client, 3)
        got = receiver.wait_for(2)
        assert Webhook(sub["secret"]).verify(got[1].body, got[1].headers)["data"] == {"n": 3}
        assert client.post("/api/v1/webhooks/999/enable", headers=AUTH).status_code == 404


# --- redirects ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [302, 307, 308])
def test_redirects_are_not_followed(tmp_path, code):
    with receiving(answers=[code], location="/elsewhere") as receiver, running_host(
            tmp_path / "data", **{**FAST, "webhook_backoff_base": 30.0,
                                  "webhook_backoff_cap": 60.0}) as client:
        sub = subscribe(client, receiver.url("/hook"))
        record(client, 1)
        (delivery,) = eventually(
            lambda: [d for d in deliveries(client, sub["id"]) if d["response_code"]],
            timeout=10, what="the first attempt")
        time.sleep(0.5)  # a followed redirect would have reached /elsewhere by now
        assert [r.path for r in receiver.received] == ["/hook"]
        assert delivery["response_code"] == code
        assert delivery["last_error"].startswith(f"HTTP {code}")
        assert delivery["status"] == "pending"  # a failed attempt, retried later


# --- secret rotation ---------------------------------------------------------------------


def verifies(secret, got):
    try:
        Webhook(secret).verify(got.body, got.headers)
    except WebhookVerificationError:
        return False
    return True


def test_rotating_the_secret_signs_with_both_during_the_overlap_then_the_new_only(
        tmp_path, db_url):
    with receiving() as receiver, running_host(
            tmp_path / "data", database_url=db_url, **FAST) as client:
        sub = subscribe(client, receiver.url())
        old = sub["secret"]
        response = client.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", headers=AUTH,
                               json={"overlap_seconds": 2})
        assert response.status_code == 200, response.text
        rotated = response.json()
        new = rotated["secret"]
        assert new.startswith("whsec_") and new != old
        assert rotated["previous_secret_until"] is not None
        shown = show(client, sub["id"])
        assert shown["secret"] != new and new not in str(shown)
        assert shown["previous_secret_until"] is not None

        record(client, 1)
        (during,) = receiver.wait_for(1)
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert verifies(old, during) and verifies(new, during)

        time.sleep(2.2)  # the overlap is over
        assert show(client, sub["id"])["previous_secret_until"] is None
        record(client, 2)
        after = receiver.wait_for(2)[1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert verifies(new, after) and not verifies(old, after)


def test_rotation_takes_a_given_secret_or_switches_at_once(tmp_path):
    given = "whsec_" + "Z2l2ZW4tc2VjcmV0LW9mLWF0LWxlYXN0LTI0LWJ5dGVz"
    with receiving() as receiver, running_host(tmp_path / "data", **FAST) as client:
        sub = subscribe(client, receiver.url())
        url = f"/api/v1/webhooks/{sub['id']}/rotate-secret"
        bad = client.post(url, headers=AUTH, json={"secret": "whsec_c2hvcnQ="})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "secret"]
        assert "c2hvcnQ" not in bad.text  # the refused secret is not echoed
        assert client.post("/api/v1/webhooks/999/rotate-secret", headers=AUTH,
                           json={}).status_code == 404
        response = client.post(url, headers=AUTH, json={"secret": given,
                                                        "overlap_seconds": 0})
        assert response.status_code == 200, response.text
        assert response.json()["secret"] == given
        assert response.json()["previous_secret_until"] is None
        record(client, 1)
        (got,) = receiver.wait_for(1)
        assert verifies(given, got) and not verifies(sub["secret"], got)


# --- retention ---------------------------------------------------------------------------


def age(database, delivery_ids, days):
    """Make deliveries (and their events) look ``days`` old."""
    then = utcnow() - timedelta(days=days)
    d = webhook_deliveries.c
    with database.engine.begin() as conn:
        conn.execute(sa.update(webhook_deliveries).where(d.id.in_(delivery_ids)).values(
            created_at=then, last_attempt_at=then,
            delivered_at=sa.case((d.status == "delivered", then), else_=None)))
        events = sa.select(d.event_id).where(d.id.in_(delivery_ids))
        conn.execute(sa.update(webhook_events).where(webhook_events.c.id.in_(events))
                     .values(created_at=then))


def test_finished_deliveries_are_pruned_after_the_retention(db_url):
    database = Database(db_url)
    try:
        outbox = WebhookEvents(database)
        sub = outbox.subscribe("https://a.example/hook", ["*"])
        for n in range(4):
            outbox.record("a.b", "core", {"n": n})
        claimed = outbox.claim_due(limit=10, lease=60)
        done, dead, old_pending = claimed[0], claimed[1], claimed[2]
        outbox.finish(done, delivered=True, response_code=200, error="", retry_at=None)
        outbox.finish(dead, delivered=False, response_code=500, error="HTTP 500",
                      retry_at=None)
        age(database, [done.id, dead.id, old_pending.id], days=40)
        assert outbox.prune(utcnow() - timedelta(days=30)) == (2, 2)
        left = {d.id: d.status for d in outbox.deliveries(sub.id)}
        assert done.id not in left and dead.id not in left
        assert old_pending.id in left  # unfinished deliveries stay, however old
        assert len(left) == 2
        assert {e["payload"]["n"] for e in outbox.recent()} == {2, 3}
        assert outbox.prune(utcnow() - timedelta(days=30)) == (0, 0)
    finally:
        database.dispose()


def test_the_delivery_worker_prunes_periodically(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    outbox = WebhookEvents(database)
    # loopback is not allowed here: the worker fails the delivery at once, sending nothing
    sub = outbox.subscribe("http://127.0.0.1:9/hook", ["*"])

    async def scenario() -> None:
        worker = DeliveryWorker(outbox, retention=86400.0, prune_interval=0.05,
                                poll_interval=0.05, guard=TargetGuard())
        await worker.start()
        try:
            outbox.record("a.b", "core", {})
            for _ in range(200):
                found = outbox.deliveries(sub.id, status="failed")
                if found:
                    break
                await asyncio.sleep(0.02)
            (failed,) = found
            assert outbox.recent() != []
            age(database, [failed.id], days=2)  # now older than the retention
            for _ in range(200):
                if not outbox.deliveries():
                    break
                await asyncio.sleep(0.02)
            assert outbox.deliveries() == [] and outbox.recent() == []
        finally:
            await worker.stop()

    try:
        asyncio.run(scenario())
    finally:
        database.dispose()


def test_a_subscription_table_of_an_older_host_is_brought_up_to_date(db_url):
    """The columns of states and rotations are added, clear secrets get sealed."""
    old = sa.MetaData()
    table = sa.Table(
        "plexichat_webhook_subscriptions", old,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()))
    secret = "whsec_" + "Y2xlYXItc2VjcmV0LW9mLWFuLW9sZGVyLWhvc3QhIQ=="
    database = Database(db_url)
    try:
        with database.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE plexichat_webhook_deliveries"))
            conn.execute(sa.text("DROP TABLE plexichat_webhook_subscriptions"))
        old.create_all(database.engine)
        with database.engine.begin() as conn:
            conn.execute(sa.insert(table).values(url="https://a.example/hook",
                                                 secret=secret, events=["*"]))
        outbox = WebhookEvents(database)
        (sub,) = outbox.subscriptions()
        assert sub.secret == secret and sub.state == "active"
        with database.engine.connect() as conn:
            raw = conn.execute(sa.text(
                "SELECT secret FROM plexichat_webhook_subscriptions")).scalar_one()
        assert raw.startswith("plexichat-sealed:v1:") and secret not in raw
        database.create_tables(metadata)  # the deliveries table, as a host start does
        outbox.record("a.b", "core", {})
        assert len(outbox.claim_due(limit=5, lease=60)) == 1
    finally:
        database.dispose()
