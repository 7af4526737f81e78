"""The plugin guide's import path, kept so its examples run unchanged.

``from plexichat.core.plugins.manager import PluginInterface`` is what the guide's
"Advanced Extension Points" example writes. The names are re-exported from where they
live; new code may import them from :mod:`plexichat` directly.
"""

from __future__ import annotations

from ...context import PermissionDenied, PluginContext
from ...interface import PluginInterface, PluginMetadata
from ...manifest import PluginType

Plugin = PluginInterface

__all__ = [
    "PermissionDenied",
    "Plugin",
    "PluginContext",
    "PluginInterface",
    "PluginMetadata",
    "PluginType",
]
