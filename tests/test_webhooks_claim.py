"""Replicas sharing PostgreSQL claim webhook deliveries without waiting on each other:
a delivery another replica is claiming is skipped, never taken twice."""

from __future__ import annotations

import concurrent.futures

import pytest
import sqlalchemy as sa
from support.databases import database_url

from plexichat.storage import Database
from plexichat.storage.database import webhook_deliveries
from plexichat.webhooks import WebhookEvents


@pytest.fixture
def outbox(tmp_path):
    with database_url("postgresql", tmp_path) as url:
        database = Database(url)
        yield WebhookEvents(database)
        database.dispose()


def test_a_delivery_being_claimed_elsewhere_is_skipped_not_waited_for(outbox):
    outbox.subscribe("https://a.example/hook", ["*"])
    outbox.record("message.posted", "core", {"n": 1})
    outbox.record("message.posted", "core", {"n": 2})
    first, second = sorted(d.id for d in outbox.deliveries())
    d = webhook_deliveries.c
    with outbox.database.engine.connect() as other, \
            concurrent.futures.ThreadPoolExecutor(1) as pool:
        with other.begin():  # another replica, in the middle of claiming `first`
            other.execute(sa.select(d.id).where(d.id == first).with_for_update())
            claim = pool.submit(outbox.claim_due, 10, 60)
            try:
                claimed = claim.result(timeout=5)
            except concurrent.futures.TimeoutError:
                claimed = None  # waited on the other replica's lock
        if claimed is None:
            claim.result(timeout=10)
    assert claimed is not None, "claiming waited for a row another replica had locked"
    assert [c.id for c in claimed] == [second]
    (later,) = outbox.claim_due(10, 60)  # once that replica let go, it is due still
    assert later.id == first
