"""The webhook outbox in the host database, on SQLite and PostgreSQL: recording fans an
event out into deliveries atomically, the worker's claims, outcomes and the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.databases import BACKENDS, database_url

from plexichat.storage import Database
from plexichat.storage.database import webhook_deliveries, webhook_events
from plexichat.storage.sealing import SecretBox
from plexichat.webhooks import (
    SubscriptionNotFound,
    UndeclaredWebhookEvent,
    WebhookEvents,
)
from plexichat.webhooks.outbox import utcnow


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def outbox(db_url):
    database = Database(db_url)
    yield WebhookEvents(database)
    database.dispose()


def test_recording_fans_out_to_matching_subscriptions(outbox):
    exact = outbox.subscribe("https://a.example/hook", ["message.posted"])
    prefix = outbox.subscribe("https://b.example/hook", ["message.*"])
    every = outbox.subscribe("http://c.example/hook", ["*"])
    other = outbox.subscribe("https://d.example/hook", ["user.registered"])

    posted = outbox.record("message.posted", "core", {"text": "hi"})
    deleted = outbox.record("message.deleted", "core", {"id": 1})
    outbox.record("channel.created", "core", {"id": 2})

    by_event = {(d.event_id, d.subscription_id) for d in outbox.deliveries()}
    assert by_event == {(posted, exact.id), (posted, prefix.id), (posted, every.id),
                        (deleted, prefix.id), (deleted, every.id),
                        (posted + 2, every.id)}
    assert outbox.deliveries(other.id) == []
    for d in outbox.deliveries():
        assert d.status == "pending" and d.attempts == 0
        assert d.message_id.startswith("msg_")
    assert len({d.message_id for d in outbox.deliveries()}) == 6
    assert outbox.counts()[every.id] == {"pending": 3, "delivered": 0, "failed": 0}


def test_an_event_and_its_deliveries_share_one_transaction(outbox):
    outbox.subscribe("https://a.example/hook", ["*"])
    engine = outbox.database.engine
    with engine.connect() as conn:
        outbox.record("message.posted", "core", {"n": 1}, connection=conn)
        conn.rollback()
    assert outbox.recent() == [] and outbox.deliveries() == []

    woken = []
    outbox.add_listener(lambda: woken.append(1))
    with engine.begin() as conn:
        event_id = outbox.record("message.posted", "core", {"n": 2}, connection=conn)
        assert woken == []  # not before the transaction commits
    assert woken == [1]
    assert [d.event_id for d in outbox.deliveries()] == [event_id]


def test_a_failing_fan_out_stores_no_event(outbox, monkeypatch):
    outbox.subscribe("https://a.example/hook", ["*"])
    import plexichat.webhooks.outbox as module

    def broken(*_args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(module, "event_matches", broken)
    with pytest.raises(RuntimeError):
        outbox.record("message.posted", "core", {})
    with outbox.database.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(webhook_events)
                            ).scalar() == 0


def test_unserialisable_payloads_are_refused_before_storing(outbox):
    with pytest.raises(TypeError):
        outbox.record("x.y", "core", {"when": object()})
    assert outbox.recent() == []


def test_claims_count_attempts_and_lease_the_delivery(outbox):
    sub = outbox.subscribe("https://a.example/hook", ["*"])
    outbox.record("a.b", "core", {"n": 1})
    (due,) = outbox.claim_due(limit=10, lease=60)
    assert (due.attempts, due.subscription_id, due.event, due.payload) == (
        1, sub.id, "a.b", {"n": 1})
    assert due.secrets == [sub.secret] and sub.secret not in repr(due)
    assert outbox.claim_due(limit=10, lease=60) == []  # leased
    # once the lease runs out (the worker died mid-request) it is due again
    later = utcnow() + timedelta(seconds=61)
    (again,) = outbox.claim_due(limit=10, lease=60, now=later)
    assert again.attempts == 2
    # the stale claim may no longer record a failure over the newer one
    outbox.finish(due, delivered=False, response_code=500, error="old", retry_at=None)
    assert outbox.deliveries()[0].status == "pending"
    outbox.finish(again, delivered=True, response_code=204, error="", retry_at=None)
    (logged,) = outbox.deliveries(sub.id)
    assert (logged.status, logged.attempts, logged.response_code, logged.next_attempt_at) == (
        "delivered", 2, 204, None)
    assert logged.delivered_at is not None


def test_failures_are_retried_then_failed(outbox):
    sub = outbox.subscribe("https://a.example/hook", ["*"])
    outbox.record("a.b", "core", {})
    (due,) = outbox.claim_due(limit=10, lease=60)
    retry_at = utcnow() + timedelta(seconds=30)
    outbox.finish(due, delivered=False, response_code=503, error="HTTP 503", retry_at=retry_at)
    (logged,) = outbox.deliveries(sub.id)
    assert (logged.status, logged.last_error, logged.response_code) == (
        "pending", "HTTP 503", 503)
    assert abs((logged.next_attempt_at - retry_at).total_seconds()) < 1
    assert outbox.claim_due(limit=10, lease=60) == []  # not due yet
    assert abs((outbox.next_due() - retry_at).total_seconds()) < 1
    (due,) = outbox.claim_due(limit=10, lease=60, now=retry_at + timedelta(seconds=1))
    outbox.finish(due, delivered=False, response_code=None, error="ConnectError: refused",
                  retry_at=None)
    (logged,) = outbox.deliveries(sub.id, status="failed")
    assert (logged.attempts, logged.last_error, logged.next_attempt_at) == (
        2, "ConnectError: refused", None)
    assert outbox.next_due() is None
    # an operator retry starts it over
    retried = outbox.retry(logged.id)
    assert (retried.status, retried.attempts) == ("pending", 0)
    assert len(outbox.claim_due(limit=10, lease=60)) == 1


def test_release_hands_a_claim_back(outbox):
    outbox.subscribe("https://a.example/hook", ["*"])
    outbox.record("a.b", "core", {})
    (due,) = outbox.claim_due(limit=10, lease=60)
    outbox.release(due)
    (again,) = outbox.claim_due(limit=10, lease=60)
    assert again.attempts == 1


def test_claims_are_bounded_and_oldest_first(outbox):
    outbox.subscribe("https://a.example/hook", ["*"])
    ids = [outbox.record("a.b", "core", {"n": n}) for n in range(5)]
    first = outbox.claim_due(limit=3, lease=60)
    assert [d.payload["n"] for d in first] == [0, 1, 2]
    rest = outbox.claim_due(limit=3, lease=60)
    assert [d.payload["n"] for d in rest] == [3, 4]
    assert ids == sorted(ids)


def test_deliveries_page_newest_first(outbox):
    sub = outbox.subscribe("https://a.example/hook", ["*"])
    for n in range(5):
        outbox.record("a.b", "core", {"n": n})
    page = outbox.deliveries(sub.id, limit=2)
    assert len(page) == 2 and page[0].id > page[1].id
    older = outbox.deliveries(sub.id, limit=10, before=page[-1].id)
    assert len(older) == 3 and all(d.id < page[-1].id for d in older)


def test_unsubscribing_drops_the_deliveries(outbox):
    keep = outbox.subscribe("https://a.example/hook", ["*"])
    drop = outbox.subscribe("https://b.example/hook", ["*"])
    outbox.record("a.b", "core", {})
    outbox.unsubscribe(drop.id)
    assert [d.subscription_id for d in outbox.deliveries()] == [keep.id]
    with pytest.raises(SubscriptionNotFound):
        outbox.subscription(drop.id)
    with pytest.raises(SubscriptionNotFound):
        outbox.unsubscribe(drop.id)
    outbox.record("a.b", "core", {})
    assert {d.subscription_id for d in outbox.deliveries()} == {keep.id}


def test_pending_deliveries_survive_reopening_the_database(db_url):
    box = SecretBox.ephemeral()  # the host's key outlives its database connections
    first = Database(db_url)
    outbox = WebhookEvents(first, box)
    sub = outbox.subscribe("https://a.example/hook", ["*"])
    outbox.record("a.b", "core", {"n": 1})
    first.dispose()

    second = Database(db_url)
    try:
        reopened = WebhookEvents(second, box)
        assert reopened.subscription(sub.id).secret == sub.secret
        (due,) = reopened.claim_due(limit=10, lease=60)
        assert due.payload == {"n": 1}
    finally:
        second.dispose()


def test_plugins_emit_only_declared_events(outbox):
    outbox.subscribe("https://a.example/hook", ["*"])
    emitter = outbox.for_plugin("awesome", ["awesome.event.triggered"])
    emitted = emitter.emit("awesome.event.triggered", {"n": 1})
    with pytest.raises(UndeclaredWebhookEvent, match="does not declare"):
        emitter.emit("awesome.other", {})
    (row,) = outbox.recent()
    assert (row["id"], row["event"], row["source"], row["payload"]) == (
        emitted, "awesome.event.triggered", "awesome", {"n": 1})
    with outbox.database.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(webhook_deliveries)
                            ).scalar() == 1


def test_the_service_module_names_the_same_objects():
    from plexichat.services import webhooks as service

    assert service.WebhookEvents is WebhookEvents
    assert service.UndeclaredWebhookEvent is UndeclaredWebhookEvent
