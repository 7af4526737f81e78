"""The delivery worker on its own: stopping it never costs a delivery an attempt."""

from __future__ import annotations

import asyncio
import time

import pytest
from support.databases import BACKENDS, database_url
from support.webhook_receiver import receiving

from plexichat.storage import Database
from plexichat.webhooks import DeliveryWorker, TargetGuard, WebhookEvents
from plexichat.webhooks.outbox import utcnow
from plexichat.webhooks.target_guard import parse_networks

LOOPBACK = TargetGuard(allowed_networks=parse_networks("127.0.0.1/32"))
"""The receivers listen on 127.0.0.1, which deliveries may reach only when allowed."""


@pytest.fixture(params=BACKENDS)
def outbox(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        database = Database(url)
        yield WebhookEvents(database)
        database.dispose()


async def _until(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_stopping_mid_request_hands_the_delivery_back(outbox):
    with receiving(delay=1.0) as receiver:
        sub = outbox.subscribe(receiver.url(), ["*"])

        async def scenario():
            worker = DeliveryWorker(outbox, poll_interval=0.1, timeout=5, guard=LOOPBACK)
            await worker.start()
            try:
                outbox.record("a.b", "core", {})
                await _until(lambda: outbox.deliveries(sub.id)[0].attempts == 1)
            finally:
                await worker.stop()
            assert not worker.running

        asyncio.run(scenario())
    (delivery,) = outbox.deliveries(sub.id)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.next_attempt_at <= utcnow()  # due at once after a restart


def test_stopping_while_claiming_hands_the_claims_back(outbox, monkeypatch):
    sub = outbox.subscribe("http://127.0.0.1:9/never", ["*"])
    outbox.record("a.b", "core", {})
    claiming = []
    real = outbox.claim_due

    def slow_claim(*args, **kwargs):
        claiming.append(1)
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "claim_due", slow_claim)

    async def scenario():
        worker = DeliveryWorker(outbox, poll_interval=0.1, timeout=5, guard=LOOPBACK)
        await worker.start()
        await _until(lambda: bool(claiming))
        await worker.stop()

    asyncio.run(scenario())
    (delivery,) = outbox.deliveries(sub.id)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.next_attempt_at <= utcnow()


def test_backoff_doubles_up_to_the_cap(outbox):
    worker = DeliveryWorker(outbox, backoff_base=5, backoff_cap=60)
    assert [worker.backoff(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
