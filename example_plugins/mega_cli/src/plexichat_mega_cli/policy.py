"""The ``mega_cli.command_guard`` security policy.

The host asks it through ``context.security.check(subject, action)``. It governs the
actions ``mega_cli.run:<category>/<command>`` — running one of the plugin's commands
over the HTTP API — and allows every other action (the host may ask all policies about
anything). Commands that read files named on their command line, or reveal facts about
the machine, are for admins only; unknown commands are refused. On the command line
there is nothing to guard: whoever runs ``plexichat`` already has the machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ACTION_PREFIX", "action_for", "command_guard", "is_admin"]

ACTION_PREFIX = "mega_cli.run:"


def action_for(category: str, name: str) -> str:
    """The action string of running command ``name`` of ``category`` over the API."""
    return f"{ACTION_PREFIX}{category}/{name}"


def is_admin(subject: Any) -> bool:
    """True for a subject that says it is an admin (``{"admin": True}`` or ``.admin``)."""
    if isinstance(subject, Mapping):
        return subject.get("admin") is True
    return getattr(subject, "admin", False) is True


def command_guard(subject: Any, action: Any) -> bool:
    """Allow ``action`` for ``subject``? (see the module's docstring)"""
    if not isinstance(action, str) or not action.startswith(ACTION_PREFIX):
        return True
    category, _, name = action[len(ACTION_PREFIX):].partition("/")
    from .commands import find_command

    command = find_command(category, name)
    if command is None:
        return False
    return not command.admin_only or is_admin(subject)
