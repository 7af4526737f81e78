"""PlexiChat: a chat server whose every extension is a pip-installable plugin.

The names below are the public API; anything else may change. They are imported
lazily so that ``plexichat plugins list`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "3.0.0"
"""The host's version (PEP 440); plugins state which they need in ``min_plexichat_version``."""

__all__ = [
    "PermissionDenied",
    "Plugin",
    "PluginContext",
    "PluginInterface",
    "PluginManifest",
    "PluginMetadata",
    "PluginType",
    "__version__",
    "command_fields",
    "current_user",
    "hookimpl",
    "hookspec",
    "require_admin",
]

_LAZY = {
    "hookimpl": ("plexichat.markers", "hookimpl"),
    "command_fields": ("plexichat.cli.command_fields", "command_fields"),
    "current_user": ("plexichat.cli.command_fields", "current_user"),
    "hookspec": ("plexichat.markers", "hookspec"),
    "PluginManifest": ("plexichat.manifest", "PluginManifest"),
    "PluginType": ("plexichat.manifest", "PluginType"),
    "PluginInterface": ("plexichat.interface", "PluginInterface"),
    "Plugin": ("plexichat.interface", "PluginInterface"),
    "PluginMetadata": ("plexichat.interface", "PluginMetadata"),
    "PluginContext": ("plexichat.context", "PluginContext"),
    "PermissionDenied": ("plexichat.context", "PermissionDenied"),
    "require_admin": ("plexichat.web.auth", "require_admin"),
}

if TYPE_CHECKING:
    from .cli.command_fields import command_fields, current_user
    from .context import PermissionDenied, PluginContext
    from .interface import PluginInterface, PluginMetadata
    from .interface import PluginInterface as Plugin
    from .manifest import PluginManifest, PluginType
    from .markers import hookimpl, hookspec
    from .web.auth import require_admin


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'plexichat' has no attribute {name!r}")
    import importlib

    module, attr = target
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
