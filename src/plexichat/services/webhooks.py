"""Webhook events: what the core and plugins emit, stored durably for delivery.

A plugin may emit only the events its manifest declares in ``webhooks``; anything else
is refused with :class:`UndeclaredWebhookEvent`. Events are written to the
``plexichat_webhook_events`` table in the host database, where they survive restarts.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from ..storage import Database
from ..storage.database import webhook_events

__all__ = ["PluginWebhooks", "UndeclaredWebhookEvent", "WebhookEvents"]


class UndeclaredWebhookEvent(ValueError):
    """A plugin emitted an event its manifest does not declare."""


class WebhookEvents:
    """The host's durable log of webhook events."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, event: str, source: str, payload: dict[str, Any]) -> int:
        """Store one event; returns its id."""
        json.dumps(payload)  # refuse what cannot be delivered, before storing it
        with self.database.engine.begin() as conn:
            result = conn.execute(sa.insert(webhook_events).values(
                event=event, source=source, payload=payload))
            key: Any = result.inserted_primary_key
            return int(key[0])

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest events, newest first."""
        query = sa.select(webhook_events).order_by(webhook_events.c.id.desc()).limit(limit)
        with self.database.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def for_plugin(self, plugin: str, declared: list[str]) -> PluginWebhooks:
        """The emitter a plugin's context hands out."""
        return PluginWebhooks(self, plugin, declared)


class PluginWebhooks:
    """``context.webhooks``: emit the events the manifest declares."""

    def __init__(self, events: WebhookEvents, plugin: str, declared: list[str]) -> None:
        self._events = events
        self._plugin = plugin
        self.declared = list(declared)

    def emit(self, event: str, payload: dict[str, Any] | None = None) -> int:
        """Record ``event`` for delivery; refused unless declared in ``plugin.json``."""
        if event not in self.declared:
            raise UndeclaredWebhookEvent(
                f"plugin {self._plugin!r} emitted webhook event {event!r}, which its "
                f"plugin.json does not declare (declared: "
                f"{', '.join(self.declared) or 'none'}); add it to \"webhooks\"")
        return self._events.record(event, self._plugin, dict(payload or {}))
