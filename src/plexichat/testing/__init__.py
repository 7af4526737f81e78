"""Testing PlexiChat plugins: a real host in-process, isolated per test.

Installing ``plexichat`` registers the pytest plugin :mod:`plexichat.testing.plugin`
(through the ``pytest11`` entry point), which provides these fixtures:

- ``plexichat_app(plugins=["hello"], settings=...)``: a factory building a PlexiChat
  app with only those plugins, an isolated data directory and database, and a known
  admin token (:data:`ADMIN_TOKEN`);
- ``plexichat_client(plugins=["hello"])`` or ``plexichat_client(app)``: a
  :class:`PlexiChatClient` that has run the app's lifespan and waited for
  ``/api/v1/health/ready``, failing with every plugin's state if one did not start;
- ``plugin_context("hello", permissions=[...], config={...})``: a
  :class:`~plexichat.context.PluginContext` for unit tests without a host;
- ``plexichat_entry_point("hello", distribution="plexichat-hello")``: the installed
  ``plexichat.plugins`` entry point, or a failed test with the ``pyproject.toml``
  snippet that declares it;
- ``plexichat_make_plugin("name", code=..., manifest=...)``: a throwaway plugin
  distribution on ``sys.path`` for this test only.

The helpers behind them are importable from here for use outside pytest. Nothing in
this package is imported until it is used (``-p no:plexichat`` turns the plugin off).
See docs/TESTING.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "ADMIN_TOKEN",
    "BACKENDS",
    "MISSING",
    "EntryPointMissing",
    "HostNotReady",
    "PlexiChatClient",
    "build_app",
    "build_settings",
    "context_services",
    "database_url",
    "entry_point_snippet",
    "installed_entry_point",
    "installed_manifest",
    "make_plugin",
    "make_plugin_context",
    "plugin_states",
    "wait_ready",
]

_LAZY = {
    "ADMIN_TOKEN": "app",
    "BACKENDS": "app",
    "HostNotReady": "app",
    "build_app": "app",
    "build_settings": "app",
    "database_url": "app",
    "plugin_states": "app",
    "wait_ready": "app",
    "PlexiChatClient": "client",
    "MISSING": "dists",
    "EntryPointMissing": "entry_points",
    "entry_point_snippet": "entry_points",
    "installed_entry_point": "entry_points",
    "make_plugin": "dists",
    "context_services": "context",
    "installed_manifest": "context",
    "make_plugin_context": "context",
}

if TYPE_CHECKING:
    from .app import (
        ADMIN_TOKEN,
        BACKENDS,
        HostNotReady,
        build_app,
        build_settings,
        database_url,
        plugin_states,
        wait_ready,
    )
    from .client import PlexiChatClient
    from .context import context_services, installed_manifest, make_plugin_context
    from .dists import MISSING, make_plugin
    from .entry_points import EntryPointMissing, entry_point_snippet, installed_entry_point


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'plexichat.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
