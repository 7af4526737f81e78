"""In-process fan-out of chat events to connected clients.

Each WebSocket connection holds a :class:`Subscription`: the user, the channels it
receives, and a queue of events. :meth:`FanoutHub.publish` is synchronous and is called
right after a change is stored, so every subscriber receives a channel's events in the
order they were stored; each event a connection receives carries a ``seq`` number that
grows by one per event of that connection (gap-free: a missing number means a missed
event). A client that falls more than ``max_pending`` events behind is cut
off (its queue ends with ``None``) rather than holding memory without bound.

Everything here runs on the event loop's thread. The chat service hands its events to a
:class:`FanoutPublisher`: the hub itself in one process, or a relay the composition root
builds for a cluster (:mod:`plexichat.cluster.fanout`), which carries every event through
Redis and feeds each replica's hub in the one order all replicas see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["FanoutHub", "FanoutPublisher", "Subscription"]


class FanoutPublisher(Protocol):
    """Where the chat service sends what connected clients must learn, right after it
    is stored (both calls are synchronous and keep the order they are made in)."""

    def publish(self, channel_id: int, event: dict[str, Any]) -> None:
        """Deliver ``event`` to every subscriber of ``channel_id``."""

    def joined(self, user_id: int, channel_id: int) -> None:
        """``user_id`` joined ``channel_id``: its connections receive it from now on."""


class Subscription:
    """One connected client: who it is, what it receives, and its pending events."""

    def __init__(self, user_id: int, channels: Iterable[int], max_pending: int) -> None:
        self.user_id = user_id
        self.channels = set(channels)
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.max_pending = max_pending
        self.overflowed = False
        self._seq = 0

    def _offer(self, event: dict[str, Any]) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= self.max_pending:
            self.overflowed = True
            self.queue.put_nowait(None)  # tells the reader to give up on this client
            return
        self._seq += 1
        self.queue.put_nowait({**event, "seq": self._seq})

    async def next(self) -> dict[str, Any] | None:
        """The next event, or None once the client fell too far behind."""
        return await self.queue.get()


class FanoutHub:
    """Routes each published event to the subscriptions of its channel."""

    def __init__(self, max_pending: int = 1000) -> None:
        self.max_pending = max_pending
        self._subscriptions: set[Subscription] = set()

    def subscribe(self, user_id: int, channels: Iterable[int]) -> Subscription:
        """Start receiving the events of ``channels`` for ``user_id``."""
        sub = Subscription(user_id, channels, self.max_pending)
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to ``sub`` (the client went away)."""
        self._subscriptions.discard(sub)

    def joined(self, user_id: int, channel_id: int) -> None:
        """``user_id`` joined ``channel_id``: its open connections receive it from now on."""
        for sub in self._subscriptions:
            if sub.user_id == user_id:
                sub.channels.add(channel_id)

    def publish(self, channel_id: int, event: dict[str, Any]) -> None:
        """Queue ``event`` (stamped with each connection's ``seq``) for every subscriber
        of ``channel_id``."""
        for sub in list(self._subscriptions):
            if channel_id in sub.channels:
                sub._offer(event)

    @property
    def connections(self) -> int:
        """How many clients are subscribed."""
        return len(self._subscriptions)
