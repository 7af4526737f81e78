"""Analytics: counts of named events, fanned out to plugins' analytics hooks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ..kernel.calls import PluginCalls

__all__ = ["Analytics"]


class Analytics:
    """Records events; each registered hook receives ``(event, properties)``."""

    def __init__(self, on_failure: Callable[[str, str, BaseException], None] | None = None):
        self.counts: Counter[str] = Counter()
        self._hooks: list[tuple[str, str, Callable[..., Any]]] = []
        self.on_failure = on_failure

    def add_hook(self, plugin: str, event: str, func: Callable[..., Any]) -> None:
        """Register ``func`` for ``event`` (``*`` for all)."""
        self._hooks.append((plugin, event, func))

    def remove_plugin(self, plugin: str) -> None:
        """Forget the hooks of ``plugin``."""
        self._hooks = [h for h in self._hooks if h[0] != plugin]

    def record(self, event: str, source: str = "", **properties: Any) -> None:
        """Count ``event`` and pass it to every matching hook."""
        self.counts[event] += 1
        calls = PluginCalls(record=self.on_failure)
        for plugin, wanted, func in list(self._hooks):
            if wanted not in (event, "*"):
                continue
            try:
                calls.call_inline(plugin, "analytics", func, event,
                                  {"source": source, **properties})
            except Exception:  # blamed on its plugin (recorded, or logged)
                pass
