"""The webhook outbox: events, subscriptions and deliveries in the host database.

Recording an event stores it and, in the same transaction, one ``pending`` delivery per
subscription whose event names match. A crash can therefore not lose a delivery: it is
a row until the :class:`~plexichat.webhooks.worker.DeliveryWorker` marks it
``delivered``, or ``failed`` once its attempts are spent.

A plugin may emit only the events its manifest declares in ``webhooks``; anything else
is refused with :class:`UndeclaredWebhookEvent`.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage import Database
from ..storage.database import webhook_deliveries, webhook_events, webhook_subscriptions
from ..storage.sealing import SecretBox
from .validation import (
    event_matches,
    generate_secret,
    validate_events,
    validate_secret,
    validate_url,
)

__all__ = [
    "Delivery",
    "DueDelivery",
    "PluginWebhooks",
    "Subscription",
    "SubscriptionNotFound",
    "UndeclaredWebhookEvent",
    "WebhookEvents",
    "origin",
    "utcnow",
]

log = logging.getLogger("plexichat.webhooks")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
ACTIVE, DISABLED = "active", "disabled"


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def _utc(value: datetime | None) -> datetime | None:
    """Times as stored: SQLite gives them back naive (they are UTC), PostgreSQL aware."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else \
        value.astimezone(timezone.utc)


class UndeclaredWebhookEvent(ValueError):
    """A plugin emitted an event its manifest does not declare."""


class SubscriptionNotFound(LookupError):
    """No webhook subscription has that id."""


@dataclass(frozen=True)
class Subscription:
    """One operator subscription. ``secret`` is the signing key: never log or show it."""

    id: int
    url: str
    events: list[str]
    description: str
    created_at: datetime
    secret: str
    state: str = ACTIVE
    """``active``, or ``disabled`` (nothing is queued or sent; see ``disabled_reason``)."""
    disabled_reason: str = ""
    disabled_at: datetime | None = None
    previous_secret: str | None = None
    """The secret before the last rotation, still signing until ``previous_secret_until``."""
    previous_secret_until: datetime | None = None

    def __repr__(self) -> str:  # keep the secret out of tracebacks and debug logs
        return (f"Subscription(id={self.id}, url={self.url!r}, events={self.events!r}, "
                f"state={self.state!r})")

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The secrets deliveries are signed with now: the current one, and the previous
        one while its overlap lasts."""
        return _signing_secrets(self.secret, self.previous_secret,
                                self.previous_secret_until, now or utcnow())


@dataclass(frozen=True)
class Delivery:
    """One row of the delivery log: an event on its way to one subscription."""

    id: int
    event_id: int
    event: str
    subscription_id: int
    message_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str
    response_code: int | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class DueDelivery:
    """A delivery the worker has claimed for one attempt (``attempts`` counts it)."""

    id: int
    message_id: str
    attempts: int
    subscription_id: int
    url: str
    secrets: list[str]
    """Sign with each (the current secret, and the previous one during an overlap)."""
    event: str
    payload: dict[str, Any]
    created_at: datetime

    def __repr__(self) -> str:
        return (f"DueDelivery(id={self.id}, event={self.event!r}, "
                f"subscription_id={self.subscription_id}, attempts={self.attempts})")

    def body(self) -> str:
        """The request body: the Standard Webhooks payload structure."""
        return json.dumps({
            "type": self.event,
            "timestamp": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": self.payload,
        }, separators=(",", ":"), ensure_ascii=False)


class WebhookEvents:
    """The host's webhook outbox: recorded events, subscriptions and their deliveries."""

    def __init__(self, database: Database, box: SecretBox | None = None) -> None:
        self.database = database
        self.box = box if box is not None else SecretBox.ephemeral()
        """Seals the signing secrets in the database."""
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._migrate()

    def _migrate(self) -> None:
        """Bring subscriptions of an older database up to date: add the state and
        rotation columns, and seal signing secrets stored in clear."""
        self.database.add_missing_columns(webhook_subscriptions)
        s = webhook_subscriptions.c
        sealed = 0
        with self.database.engine.begin() as conn:
            for row in conn.execute(sa.select(s.id, s.secret, s.previous_secret)).all():
                values = {name: self.box.seal(value) for name, value in
                          (("secret", row.secret), ("previous_secret", row.previous_secret))
                          if value is not None and not self.box.is_sealed(value)}
                if values:
                    conn.execute(sa.update(webhook_subscriptions)
                                 .where(s.id == row.id).values(**values))
                    log.info("webhook subscription %d: signing secret sealed", row.id)
                    sealed += 1
        if sealed:  # leave no clear copy in the database file
            self.database.checkpoint()

    # --- events ------------------------------------------------------------------------

    def record(self, event: str, source: str, payload: dict[str, Any], *,
               connection: Connection | None = None) -> int:
        """Store one event and its deliveries atomically; returns the event's id.

        ``source`` is ``"core"`` or the emitting plugin's name. Pass ``connection`` to
        record inside a transaction of your own (e.g. together with the chat message
        the event is about): nothing is delivered unless that transaction commits.
        The delivery worker is woken at once.
        """
        json.dumps(payload)  # refuse what cannot be delivered, before storing it
        if connection is not None:
            event_id = self._record(connection, event, source, payload)
            sa.event.listen(connection, "commit", lambda _conn: self._notify(), once=True)
            return event_id
        with self.database.engine.begin() as conn:
            event_id = self._record(conn, event, source, payload)
        self._notify()
        return event_id

    def _record(self, conn: Connection, event: str, source: str,
                payload: dict[str, Any]) -> int:
        now = utcnow()
        result = conn.execute(sa.insert(webhook_events).values(
            event=event, source=source, payload=payload, created_at=now))
        key: Any = result.inserted_primary_key
        event_id = int(key[0])
        rows = conn.execute(sa.select(webhook_subscriptions.c.id,
                                      webhook_subscriptions.c.events)
                            .where(webhook_subscriptions.c.state == ACTIVE))
        matching = [r.id for r in rows if event_matches(r.events or [], event)]
        if matching:
            conn.execute(sa.insert(webhook_deliveries), [
                {"event_id": event_id, "subscription_id": sid,
                 "message_id": f"msg_{uuid.uuid4().hex}", "status": PENDING, "attempts": 0,
                 "next_attempt_at": now, "last_error": "", "created_at": now}
                for sid in matching])
        return event_id

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest events, newest first."""
        query = sa.select(webhook_events).order_by(webhook_events.c.id.desc()).limit(limit)
        with self.database.engine.connect() as conn:
            return [{**row._mapping, "created_at": _utc(row.created_at)}
                    for row in conn.execute(query)]

    def for_plugin(self, plugin: str, declared: list[str]) -> PluginWebhooks:
        """The emitter a plugin's context hands out."""
        return PluginWebhooks(self, plugin, declared)

    # --- wake-ups ----------------------------------------------------------------------

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) whenever an event has been recorded."""
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback``."""
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback()
            except Exception:  # a wake-up must never fail the recording
                log.exception("webhook outbox listener failed")

    # --- subscriptions -----------------------------------------------------------------

    def subscribe(self, url: str, events: Iterable[str], secret: str | None = None,
                  description: str = "") -> Subscription:
        """Validate and store a subscription; a secret is generated when none is given.

        Raises :class:`~plexichat.webhooks.validation.InvalidSubscription`.
        """
        url = validate_url(url)
        names = validate_events(events)
        secret = validate_secret(secret) if secret else generate_secret()
        now = utcnow()
        with self.database.engine.begin() as conn:
            result = conn.execute(sa.insert(webhook_subscriptions).values(
                url=url, secret=self.box.seal(secret), events=names, description=description or "",
                created_at=now))
            key: Any = result.inserted_primary_key
        sub = self.subscription(int(key[0]))
        log.info("webhook subscription %d created for %s (events: %s)", sub.id,
                 origin(url), ", ".join(names))
        return sub

    def subscriptions(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        query = sa.select(webhook_subscriptions).order_by(webhook_subscriptions.c.id)
        with self.database.engine.connect() as conn:
            return [self._subscription(row) for row in conn.execute(query)]

    def subscription(self, subscription_id: int) -> Subscription:
        """One subscription, or :class:`SubscriptionNotFound`."""
        query = sa.select(webhook_subscriptions).where(
            webhook_subscriptions.c.id == subscription_id)
        with self.database.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise SubscriptionNotFound(f"no webhook subscription has id {subscription_id}")
        return self._subscription(row)

    def _subscription(self, row: Any) -> Subscription:
        return Subscription(
            id=row.id, url=row.url, events=list(row.events or []),
            description=row.description or "", created_at=_utc(row.created_at) or utcnow(),
            secret=self.box.unseal(row.secret), state=row.state or ACTIVE,
            disabled_reason=row.disabled_reason or "", disabled_at=_utc(row.disabled_at),
            previous_secret=self.box.unseal(row.previous_secret),
            previous_secret_until=_utc(row.previous_secret_until))

    def rotate_secret(self, subscription_id: int, secret: str | None = None, *,
                      overlap: float) -> Subscription:
        """Give the subscription a new signing secret (generated when none is given).

        For ``overlap`` seconds deliveries carry a signature with the previous secret
        too, so receivers can switch to the new one without refusing anything.
        Raises :class:`~plexichat.webhooks.validation.InvalidSubscription` or
        :class:`SubscriptionNotFound`.
        """
        secret = validate_secret(secret) if secret else generate_secret()
        current = self.subscription(subscription_id)
        until = utcnow() + timedelta(seconds=overlap) if overlap > 0 else None
        with self.database.engine.begin() as conn:
            conn.execute(sa.update(webhook_subscriptions).where(
                webhook_subscriptions.c.id == subscription_id).values(
                secret=self.box.seal(secret),
                previous_secret=self.box.seal(current.secret) if until else None,
                previous_secret_until=until))
        log.info("webhook subscription %d: signing secret rotated (previous one signs "
                 "for %g s more)", subscription_id, overlap)
        return self.subscription(subscription_id)

    def disable(self, subscription_id: int, reason: str) -> None:
        """Stop delivering to a subscription: its pending deliveries fail with
        ``reason``, and no new event is queued for it until it is enabled again."""
        now = utcnow()
        d = webhook_deliveries.c
        with self.database.engine.begin() as conn:
            conn.execute(sa.update(webhook_subscriptions).where(
                webhook_subscriptions.c.id == subscription_id).values(
                state=DISABLED, disabled_reason=reason[:2000], disabled_at=now))
            conn.execute(sa.update(webhook_deliveries).where(
                d.subscription_id == subscription_id, d.status == PENDING).values(
                status=FAILED, next_attempt_at=None,
                last_error=f"subscription disabled: {reason}"[:2000]))
        log.warning("webhook subscription %d disabled: %s", subscription_id, reason)

    def enable(self, subscription_id: int) -> Subscription:
        """Deliver to a disabled subscription again (events from now on)."""
        with self.database.engine.begin() as conn:
            gone = not conn.execute(sa.update(webhook_subscriptions).where(
                webhook_subscriptions.c.id == subscription_id).values(
                state=ACTIVE, disabled_reason="", disabled_at=None)).rowcount
        if gone:
            raise SubscriptionNotFound(f"no webhook subscription has id {subscription_id}")
        log.info("webhook subscription %d enabled", subscription_id)
        return self.subscription(subscription_id)

    def prune(self, older_than: datetime) -> tuple[int, int]:
        """Delete delivered and failed deliveries finished before ``older_than``, then
        the events no delivery refers to that were recorded before it; returns
        ``(deliveries, events)`` deleted."""
        d, e = webhook_deliveries.c, webhook_events.c
        finished = sa.func.coalesce(d.delivered_at, d.last_attempt_at, d.created_at)
        with self.database.engine.begin() as conn:
            deliveries = conn.execute(sa.delete(webhook_deliveries).where(
                d.status.in_([DELIVERED, FAILED]), finished < older_than)).rowcount
            events = conn.execute(sa.delete(webhook_events).where(
                e.created_at < older_than,
                ~sa.exists().where(d.event_id == e.id))).rowcount
        if deliveries or events:
            log.info("webhook log pruned: %d deliveries, %d events", deliveries, events)
        return int(deliveries or 0), int(events or 0)

    def unsubscribe(self, subscription_id: int) -> None:
        """Delete a subscription and its deliveries (pending ones are never sent)."""
        with self.database.engine.begin() as conn:
            conn.execute(sa.delete(webhook_deliveries).where(
                webhook_deliveries.c.subscription_id == subscription_id))
            gone = conn.execute(sa.delete(webhook_subscriptions).where(
                webhook_subscriptions.c.id == subscription_id)).rowcount
        if not gone:
            raise SubscriptionNotFound(f"no webhook subscription has id {subscription_id}")
        log.info("webhook subscription %d deleted", subscription_id)

    def counts(self, subscription_id: int | None = None) -> dict[int, dict[str, int]]:
        """Deliveries per status, per subscription."""
        d = webhook_deliveries.c
        query = sa.select(d.subscription_id, d.status, sa.func.count()).group_by(
            d.subscription_id, d.status)
        if subscription_id is not None:
            query = query.where(d.subscription_id == subscription_id)
        out: dict[int, dict[str, int]] = {}
        with self.database.engine.connect() as conn:
            for sid, status, n in conn.execute(query):
                out.setdefault(sid, dict.fromkeys(STATUSES, 0))[status] = int(n)
        return out

    # --- the delivery log --------------------------------------------------------------

    def deliveries(self, subscription_id: int | None = None, *, status: str | None = None,
                   limit: int = 100, before: int | None = None) -> list[Delivery]:
        """Deliveries, newest first; ``before`` (a delivery id) pages further back."""
        d, e = webhook_deliveries.c, webhook_events.c
        query = (sa.select(webhook_deliveries, e.event)
                 .join(webhook_events, e.id == d.event_id)
                 .order_by(d.id.desc()).limit(limit))
        if subscription_id is not None:
            query = query.where(d.subscription_id == subscription_id)
        if status is not None:
            query = query.where(d.status == status)
        if before is not None:
            query = query.where(d.id < before)
        with self.database.engine.connect() as conn:
            return [_delivery(row) for row in conn.execute(query)]

    def delivery(self, delivery_id: int) -> Delivery | None:
        """One delivery, or None."""
        found = self._deliveries_where(webhook_deliveries.c.id == delivery_id)
        return found[0] if found else None

    def _deliveries_where(self, clause: Any) -> list[Delivery]:
        d, e = webhook_deliveries.c, webhook_events.c
        query = (sa.select(webhook_deliveries, e.event)
                 .join(webhook_events, e.id == d.event_id).where(clause))
        with self.database.engine.connect() as conn:
            return [_delivery(row) for row in conn.execute(query)]

    def retry(self, delivery_id: int) -> Delivery | None:
        """Send a delivery again from scratch (attempts reset); None if there is none."""
        now = utcnow()
        with self.database.engine.begin() as conn:
            changed = conn.execute(sa.update(webhook_deliveries).where(
                webhook_deliveries.c.id == delivery_id).values(
                status=PENDING, attempts=0, next_attempt_at=now, delivered_at=None)).rowcount
        if changed:
            self._notify()
        return self.delivery(delivery_id)

    # --- what the worker uses ----------------------------------------------------------

    def claim_due(self, limit: int, lease: float, now: datetime | None = None
                  ) -> list[DueDelivery]:
        """Claim up to ``limit`` due deliveries for one attempt each.

        A claim counts the attempt and moves ``next_attempt_at`` ``lease`` seconds
        ahead, so a worker that dies mid-request (or another replica polling the same
        database) leaves the delivery to be retried once the lease has run out.

        On PostgreSQL the due rows are locked as they are read (``FOR UPDATE SKIP
        LOCKED``): replicas claiming at the same moment each take other rows and never
        the same delivery. SQLite serves one process; the update's guard on
        ``attempts`` keeps its claims single there too.
        """
        now = now or utcnow()
        d, e, s = webhook_deliveries.c, webhook_events.c, webhook_subscriptions.c
        query = (sa.select(d.id, d.message_id, d.attempts, d.subscription_id, s.url, s.secret,
                           s.previous_secret, s.previous_secret_until,
                           e.event, e.payload, e.created_at)
                 .join(webhook_events, e.id == d.event_id)
                 .join(webhook_subscriptions, s.id == d.subscription_id)
                 .where(d.status == PENDING, d.next_attempt_at <= now, s.state == ACTIVE)
                 .order_by(d.next_attempt_at, d.id).limit(limit))
        if self.database.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=webhook_deliveries)
        claimed: list[DueDelivery] = []
        with self.database.engine.begin() as conn:
            for row in conn.execute(query).all():
                taken = conn.execute(sa.update(webhook_deliveries).where(
                    d.id == row.id, d.status == PENDING, d.attempts == row.attempts).values(
                    attempts=row.attempts + 1, last_attempt_at=now,
                    next_attempt_at=now + timedelta(seconds=lease))).rowcount
                if taken:
                    claimed.append(DueDelivery(
                        id=row.id, message_id=row.message_id, attempts=row.attempts + 1,
                        subscription_id=row.subscription_id, url=row.url,
                        secrets=_signing_secrets(
                            self.box.unseal(row.secret), self.box.unseal(row.previous_secret),
                            _utc(row.previous_secret_until), now),
                        event=row.event, payload=row.payload,
                        created_at=_utc(row.created_at) or now))
        return claimed

    def finish(self, delivery: DueDelivery, *, delivered: bool, response_code: int | None,
               error: str, retry_at: datetime | None) -> None:
        """Record one attempt's outcome: delivered, retried at ``retry_at``, or failed."""
        now = utcnow()
        d = webhook_deliveries.c
        if delivered:
            values: dict[str, Any] = {"status": DELIVERED, "next_attempt_at": None,
                                      "delivered_at": now, "last_error": ""}
            clause = sa.and_(d.id == delivery.id, d.status == PENDING)
        else:
            values = {"status": PENDING if retry_at else FAILED, "next_attempt_at": retry_at,
                      "last_error": error[:2000]}
            # only the latest claim may record a failure
            clause = sa.and_(d.id == delivery.id, d.status == PENDING,
                             d.attempts == delivery.attempts)
        values["response_code"] = response_code
        with self.database.engine.begin() as conn:
            conn.execute(sa.update(webhook_deliveries).where(clause).values(**values))

    def release(self, delivery: DueDelivery) -> None:
        """Hand back a claimed delivery whose attempt was cut short by shutdown."""
        d = webhook_deliveries.c
        with self.database.engine.begin() as conn:
            conn.execute(sa.update(webhook_deliveries).where(
                d.id == delivery.id, d.status == PENDING, d.attempts == delivery.attempts
            ).values(attempts=delivery.attempts - 1, next_attempt_at=utcnow()))

    def next_due(self) -> datetime | None:
        """When the earliest pending delivery is due (None when nothing is pending)."""
        d = webhook_deliveries.c
        query = sa.select(sa.func.min(d.next_attempt_at)).where(d.status == PENDING)
        with self.database.engine.connect() as conn:
            return _utc(conn.execute(query).scalar())


class PluginWebhooks:
    """``context.webhooks``: emit the events the manifest declares."""

    def __init__(self, events: WebhookEvents, plugin: str, declared: list[str]) -> None:
        self._events = events
        self._plugin = plugin
        self.declared = list(declared)
        """The event names the plugin's ``plugin.json`` declares under ``webhooks``."""

    def emit(self, event: str, payload: dict[str, Any] | None = None) -> int:
        """Record ``event`` for delivery; refused unless declared in ``plugin.json``."""
        if event not in self.declared:
            raise UndeclaredWebhookEvent(
                f"plugin {self._plugin!r} emitted webhook event {event!r}, which its "
                f"plugin.json does not declare (declared: "
                f"{', '.join(self.declared) or 'none'}); add it to \"webhooks\"")
        return self._events.record(event, self._plugin, dict(payload or {}))


def _signing_secrets(secret: str, previous: str | None, until: datetime | None,
                     now: datetime) -> list[str]:
    """The current secret, and the previous one while ``until`` is ahead of ``now``."""
    if previous and until is not None and until > now:
        return [secret, previous]
    return [secret]


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id, event_id=row.event_id, event=row.event,
        subscription_id=row.subscription_id, message_id=row.message_id, status=row.status,
        attempts=row.attempts, next_attempt_at=_utc(row.next_attempt_at),
        last_attempt_at=_utc(row.last_attempt_at), last_error=row.last_error or "",
        response_code=row.response_code, created_at=_utc(row.created_at) or utcnow(),
        delivered_at=_utc(row.delivered_at))


def origin(url: str) -> str:
    """What logs show of a target URL: scheme, host and port (paths may hold tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
