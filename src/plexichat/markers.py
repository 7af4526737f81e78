"""The markers of the ``plexichat`` project: its pluggy hook markers and the entry-point
group plugins register in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pluggy

F = TypeVar("F", bound=Callable[..., Any])

PROJECT_NAME = "plexichat"

ENTRY_POINT_GROUP = "plexichat.plugins"
"""The entry-point group a distribution registers its plugins in (name = plugin name)."""

BLOCKING_ATTRIBUTE = "plexichat_blocking"
"""Set (to True) on a function by :func:`blocking`."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in :mod:`plexichat.hookspecs` as an extension point."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin function (or method) as the implementation of a hook."""


def blocking(function: F) -> F:
    """Mark a plain hook implementation as one that may block (network, disk, locks).

    Where the host keeps plain implementations off its event loop (chat filters,
    lifecycle hooks …), a quick one is moved inline after a probation in a worker thread;
    one marked ``@blocking`` always runs in a worker thread, bounded by the hook's
    deadline::

        @hookimpl
        @blocking
        def message_will_post(message, context):
            ...  # calls a remote service
    """
    setattr(function, BLOCKING_ATTRIBUTE, True)
    return function
