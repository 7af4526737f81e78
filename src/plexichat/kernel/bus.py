"""A small typed in-process publish/subscribe for the host's own events.

Not the plugins' event bus (:mod:`.services.events`, async, hook-driven): this one
carries facts about the host itself, such as
:class:`~plexichat.kernel.states.PluginStateChanged`, to host code that wants to follow them.
Subscribers are synchronous and called in the order they subscribed; one that raises
is logged and the others still run — publishing never fails because of a subscriber.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Bus"]

log = logging.getLogger("plexichat.kernel.bus")

E = TypeVar("E")


class Bus:
    """Publish events to the subscribers of their type (or a base class of it)."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[type[Any], Callable[[Any], None]]] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler(event)`` for every published ``event_type`` instance.

        Returns a function that unsubscribes ``handler`` again.
        """
        entry: tuple[type[Any], Callable[[Any], None]] = (event_type, handler)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, event: object) -> None:
        """Deliver ``event`` to its subscribers, in subscription order; never raises."""
        for event_type, handler in list(self._subscribers):
            if not isinstance(event, event_type):
                continue
            try:
                handler(event)
            except Exception:
                log.exception("subscriber %r of %s raised; the others still run",
                              handler, type(event).__name__)
