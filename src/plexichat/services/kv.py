"""A plugin's private key-value store, persisted in the host database."""

from __future__ import annotations

import json
from typing import Any

from ..storage import HostStore

__all__ = ["PluginKV"]


class PluginKV:
    """``get``/``set``/``delete``/``keys`` over one plugin's keys; values are JSON."""

    def __init__(self, store: HostStore, plugin: str) -> None:
        self._store = store
        self._plugin = plugin

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default``."""
        return self._store.kv_get(self._plugin, key, default)

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` (must be JSON-serialisable) under ``key``."""
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"kv value for {key!r} is not JSON-serialisable: {exc}") from None
        self._store.kv_set(self._plugin, key, value)

    def delete(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""
        return self._store.kv_delete(self._plugin, key)

    def keys(self, prefix: str = "") -> list[str]:
        """Stored keys, sorted."""
        return self._store.kv_keys(self._plugin, prefix)
