"""Commands whose code is imported only when they run.

``plexichat plugins --help`` shows each :class:`LazyCommand` with the short help given
here; the real command (options, help text, body) is imported from its module only when
the command is invoked or asked for its own ``--help``. This keeps ``plexichat plugins
list`` from paying for the packaging tools the distribution commands need.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["LazyCommand"]


class LazyCommand(click.Command):
    """A placeholder for the click command at ``target`` (``"module:attribute"``)."""

    def __init__(self, name: str, target: str, short_help: str) -> None:
        super().__init__(name, short_help=short_help, help=short_help)
        self.target = target
        self._real: click.Command | None = None

    def real(self) -> click.Command:
        """Import and return the real command."""
        if self._real is None:
            module, _, attr = self.target.partition(":")
            command = getattr(importlib.import_module(module), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.target} is not a click command")
            self._real = command
        return self._real

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.real().invoke(ctx)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return self.real().get_params(ctx)

    def get_help(self, ctx: click.Context) -> str:
        return self.real().get_help(ctx)

    def get_usage(self, ctx: click.Context) -> str:
        return self.real().get_usage(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help or ""
