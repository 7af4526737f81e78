"""Why a plugin is not running: the reasons the lifecycle gives, worded once.

The web UI, the API and the CLI show these as the plugin's reason; tests and the
safe-mode views compare against them.
"""

from __future__ import annotations

__all__ = ["AUTO_START_OFF", "OPERATOR_DISABLED", "OPERATOR_STOPPED", "SAFE_MODE",
           "NotStartable"]

OPERATOR_DISABLED = "disabled by the operator"
"""The reason of a plugin the operator disabled."""

AUTO_START_OFF = ("not started: its manifest says auto_start: false (start it with "
                  "'plexichat plugins start {name}' or POST /api/v1/plugins/{name}/start)")
"""The reason of a plugin loaded and configured but left stopped at host start."""

OPERATOR_STOPPED = "stopped by the operator"
"""The reason of a plugin the operator stopped for this run."""

SAFE_MODE = "safe mode: not loaded"
"""The reason of every plugin a host in safe mode does not import."""


class NotStartable(Exception):
    """:meth:`Lifecycle.start` was asked for a plugin that may not run; the message says
    why and what to do."""
