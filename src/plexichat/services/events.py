"""Named host events with pre and post handlers, attributed to plugins."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..kernel.calls import PluginCalls

__all__ = ["EventBus", "EventRejected"]


class EventRejected(Exception):
    """A ``pre`` handler refused the event; ``reason`` says why."""


@dataclass(frozen=True)
class _Handler:
    plugin: str
    event: str
    phase: str
    func: Callable[..., Any]


class EventBus:
    """Delivers events to the handlers plugins registered.

    A handler receives the payload keys it names as parameters (all of them if it takes
    ``**kwargs``). Failures are reported to ``on_failure(plugin, event, exc)`` and the
    other handlers still run; a ``pre`` handler raising :class:`EventRejected` stops the
    event.
    """

    def __init__(self, on_failure: Callable[[str, str, BaseException], None] | None = None,
                 timeout: float | None = None):
        self._handlers: list[_Handler] = []
        self.on_failure = on_failure
        self.timeout = timeout
        """Seconds an ``async`` handler may take; one that takes longer counts as failed.
        Plain (sync) handlers run inline and must not block."""

    def add(self, plugin: str, event: str, func: Callable[..., Any], phase: str = "post") -> None:
        """Register ``func`` for ``event``."""
        if phase not in ("pre", "post"):
            raise ValueError(f"phase must be 'pre' or 'post', not {phase!r}")
        self._handlers.append(_Handler(plugin, event, phase, func))

    def remove_plugin(self, plugin: str) -> None:
        """Forget every handler of ``plugin``."""
        self._handlers = [h for h in self._handlers if h.plugin != plugin]

    def handlers(self, plugin: str | None = None) -> list[tuple[str, str, str]]:
        """``(plugin, event, phase)`` of the registered handlers."""
        return [(h.plugin, h.event, h.phase) for h in self._handlers
                if plugin is None or h.plugin == plugin]

    async def emit(self, event: str, *, only: str | None = None, **payload: Any) -> None:
        """Run the ``pre`` handlers, then the ``post`` handlers of ``event``."""
        calls = PluginCalls(record=self.on_failure)
        for phase in ("pre", "post"):
            for h in list(self._handlers):
                if h.event != event or h.phase != phase or (only and h.plugin != only):
                    continue
                try:
                    await calls(h.plugin, f"event:{event}",
                                functools.partial(h.func, **_select(h.func, payload)),
                                timeout=self.timeout, excuse=_rejection)
                except EventRejected:
                    if phase == "pre":
                        raise
                except Exception:  # blamed on its plugin (recorded, or logged)
                    pass


def _rejection(exc: Exception) -> bool:
    """A handler's deliberate refusal is not a failure."""
    return isinstance(exc, EventRejected)


def _select(func: Callable[..., Any], payload: dict[str, Any]) -> dict[str, Any]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return payload
    names = {p.name for p in params}
    return {k: v for k, v in payload.items() if k in names}
