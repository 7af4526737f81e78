"""
mega_cli Plugin for PlexiChat

This plugin registers 400+ advanced CLI commands for power users, automation, and developers.

Features:
- Registers 400+ CLI commands, each with a --help option and detailed help string
- Demonstrates plugin extension points: CLI, routers, DB extensions, security features,
  and self-tests
- All commands are grouped by category (dev, net, sys, user, file, chat, ai, etc.)
- Each command is self-documenting and discoverable via --help
- See docs/PLUGIN_DEVELOPMENT.md for extension API details

Usage:
  plexichat mega <command> --help
  plexichat dev <command> --help
  plexichat net <command> --help
  ...

This module is what the host imports for ``plexichat --help``, so it stays light: it
imports click and nothing else of weight. The 420 commands are built by
:mod:`.commands` only when their group runs or shows its help (:class:`CategoryGroup`);
FastAPI and SQLAlchemy are imported inside the hooks that need them.
"""

from __future__ import annotations

from typing import Any

import click

from plexichat import hookimpl

__all__ = ["CATEGORIES", "COMMANDS_PER_CATEGORY", "POLICY", "CategoryGroup"]

COMMANDS_PER_CATEGORY = 60
"""Commands in each category: ``dev_cmd_1`` … ``dev_cmd_60``."""

CATEGORIES: dict[str, str] = {
    "dev": "Developer helpers: digests, case styles, versions, UUIDs.",
    "net": "Network calculators: CIDR, subnets, ports, URLs, IPs, MACs.",
    "sys": "System helpers: sizes, durations, modes, signals, time.",
    "user": "User helpers: user names, initials, colours, e-mail.",
    "file": "File helpers: types, paths, globs, sizes, checksums.",
    "chat": "Chat helpers: Markdown, mentions, emoji, message stats.",
    "ai": "Local text analysis: summaries, keywords, sentiment.",
}
"""Each category's group and its one-line help (all ``plexichat --help`` needs)."""

POLICY = "mega_cli.command_guard"
"""The security policy deciding who may run which command over the HTTP API."""


class CategoryGroup(click.Group):
    """A group of generated commands, built the first time the group is used.

    ``plexichat --help`` only asks a group for its one-line help, so listing the
    top-level commands never builds the 420 commands; ``plexichat dev --help`` and
    ``plexichat dev dev_cmd_1`` build the 60 of ``dev``.
    """

    def __init__(self, name: str, help: str) -> None:
        more = (f"{COMMANDS_PER_CATEGORY} commands ({name}_cmd_1 … {name}_cmd_"
                f"{COMMANDS_PER_CATEGORY}); " if name in CATEGORIES else "")
        super().__init__(name, help=f"{help}\n\n{more}'plexichat {name} COMMAND --help' "
                         "explains each.", short_help=help)
        self._built = False

    def build(self) -> None:
        """Create the commands (once)."""
        if self._built:
            return
        from .commands import all_commands, overview_commands

        made = all_commands()[self.name] if self.name in CATEGORIES else overview_commands()
        for command in made:
            self.add_command(command)
        self._built = True

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.build()
        return list(self.commands)  # in number order: dev_cmd_1, dev_cmd_2, … dev_cmd_10

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self.build()
        return self.commands.get(cmd_name)


@hookimpl
def register_commands() -> list[click.Command]:
    groups = [CategoryGroup(name, text) for name, text in CATEGORIES.items()]
    groups.append(CategoryGroup(
        "mega", "Count and search the mega_cli commands."))
    return list(groups)


@hookimpl
def register_routers(context: Any) -> Any:
    from .api import make_router

    return make_router(context)


@hookimpl
def register_db_models(context: Any) -> Any:
    from .storage import usage_table

    return usage_table(context)


@hookimpl
def register_security_policies(context: Any) -> Any:
    from plexichat.contributions import SecurityPolicy

    from .policy import command_guard

    return [SecurityPolicy(POLICY, command_guard,
                           "Over the HTTP API, commands that read files or reveal host "
                           "facts run for admins only; unknown commands never run.")]


@hookimpl
def self_test(context: Any) -> Any:
    from .selftest import run_self_test

    return run_self_test(context)
