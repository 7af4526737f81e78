"""What went wrong in a plugin, kept with its traceback.

Every failure of plugin code the host catches (an import, a hook through the
dispatcher, a health check, a background task, a request middleware) becomes one
:class:`PluginFailure`: when, where, the exception's type and message, and the
traceback as text. A :class:`FailureLog` keeps the last few of each plugin, for
``GET /api/v1/plugins/{name}`` (``failures``) and the plugin's web page.
"""

from __future__ import annotations

import time
import traceback as _traceback
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FailureLog", "PluginFailure"]


@dataclass(frozen=True)
class PluginFailure:
    """One failure of one plugin's code."""

    plugin: str
    hook: str
    """Where it failed: a hook's name (``startup``, ``message_will_post`` …), or
    ``import``, ``settings``, ``health:<check>``, ``task:<task>``, ``middleware``,
    ``event:<event>``, ``slash:<command>``."""
    exception_type: str
    """The exception's class name, e.g. ``RuntimeError``."""
    message: str
    """``str()`` of the exception."""
    traceback: str
    """The formatted traceback (chained exceptions included)."""
    at: float
    """Unix time of the failure."""

    @property
    def error(self) -> str:
        """``ExceptionType: message``, the short form used in reasons."""
        return f"{self.exception_type}: {self.message}" if self.message else self.exception_type

    @classmethod
    def from_exception(cls, plugin: str, hook: str, exc: BaseException) -> PluginFailure:
        """The failure record of ``exc``, raised by ``plugin`` in ``hook``, now."""
        return cls(
            plugin=plugin,
            hook=hook,
            exception_type=type(exc).__name__,
            message=str(exc),
            traceback="".join(_traceback.format_exception(exc))
            + getattr(exc, "stuck", ""),
            at=time.time(),
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API (``error`` included)."""
        return {**asdict(self), "error": self.error}


class FailureLog:
    """The last ``per_plugin`` failures of each plugin, and the last ``recent`` overall.

    Iterating (or indexing) walks the overall list, oldest first.
    """

    def __init__(self, *, per_plugin: int = 20, recent: int = 200) -> None:
        self.per_plugin = per_plugin
        self._recent: deque[PluginFailure] = deque(maxlen=recent)
        self._by_plugin: dict[str, deque[PluginFailure]] = {}

    def add(self, failure: PluginFailure) -> PluginFailure:
        """Keep ``failure``; the oldest of its plugin goes when there are too many."""
        self._recent.append(failure)
        kept = self._by_plugin.get(failure.plugin)
        if kept is None:
            kept = self._by_plugin[failure.plugin] = deque(maxlen=self.per_plugin)
        kept.append(failure)
        return failure

    def of(self, plugin: str) -> list[PluginFailure]:
        """The kept failures of ``plugin``, oldest first."""
        return list(self._by_plugin.get(plugin, ()))

    def __iter__(self) -> Iterator[PluginFailure]:
        return iter(self._recent)

    def __len__(self) -> int:
        return len(self._recent)

    def __getitem__(self, index: int) -> PluginFailure:
        return self._recent[index]
