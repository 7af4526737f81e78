"""The pluggy markers of the ``plexichat`` project."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "plexichat"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in :mod:`plexichat.hookspecs` as an extension point."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin function (or method) as the implementation of a hook."""
