"""PlexiChat: a chat server whose every extension is a pip-installable plugin.

The names below are the public API; anything else may change. They are imported
lazily so that ``plexichat plugins list`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "3.0.0"

__all__ = [
    "PluginManifest",
    "PluginType",
    "__version__",
    "hookimpl",
    "hookspec",
]

_LAZY = {
    "hookimpl": "plexichat.markers",
    "hookspec": "plexichat.markers",
    "PluginManifest": "plexichat.manifest",
    "PluginType": "plexichat.manifest",
}

if TYPE_CHECKING:
    from .manifest import PluginManifest, PluginType
    from .markers import hookimpl, hookspec


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'plexichat' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
