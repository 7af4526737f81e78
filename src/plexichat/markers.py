"""The markers of the ``plexichat`` project: its pluggy hook markers and the entry-point
group plugins register in."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "plexichat"

ENTRY_POINT_GROUP = "plexichat.plugins"
"""The entry-point group a distribution registers its plugins in (name = plugin name)."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in :mod:`plexichat.hookspecs` as an extension point."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin function (or method) as the implementation of a hook."""
