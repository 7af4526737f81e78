"""Commands plugins add to ``plexichat`` through the ``register_commands`` hook.

Core commands never need plugin code. The plugins' commands are collected (every
enabled plugin imported, ``register_commands`` called) the first time ``plexichat`` is
asked for a command it does not have itself, or lists its commands (``--help``), and
recorded in the command index (:mod:`plexichat.cli.command_index`). While that index is
current, ``plexichat --help``, ``plexichat GROUP --help`` and ``plexichat GROUP SUB
--help`` are served from it without importing any plugin
(:mod:`plexichat.cli.recorded`); running a plugin command imports that plugin (and the
plugins it depends on) only.

A plugin that fails to import, or whose command name is taken, is reported on stderr
and the CLI carries on. The index keeps those reports, and every run it serves prints
them again, so an operator sees the same warnings whether or not the index was used.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..kernel.discovery import PluginCandidate
    from ..kernel.resolver import Resolution
    from .command_index import PluginCommandRecord

__all__ = ["PluginCommandGroup"]

_META_KEY = "plexichat.plugin_commands"


class PluginCommandGroup(click.Group):
    """A click group that adds the installed plugins' commands after its own."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._load(ctx)))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        return self._load(ctx).get(cmd_name)

    def _load(self, ctx: click.Context) -> dict[str, click.Command]:
        """The plugins' commands, found once per invocation."""
        meta = ctx.find_root().meta
        found: dict[str, click.Command] | None = meta.get(_META_KEY)
        if found is None:
            found = meta[_META_KEY] = {}
            try:
                self._find(ctx.find_root(), found)
            except Exception as exc:  # the CLI's own commands must keep working
                _warn(f"plugin commands unavailable: {type(exc).__name__}: {exc}")
        return found

    def _find(self, root: click.Context, found: dict[str, click.Command]) -> None:
        """Fill ``found`` from the command index, or collect and record the commands."""
        from ..kernel.discovery import discover
        from ..storage.readonly import operator_states
        from .command_index import (
            CommandIndex,
            PluginCommandRecord,
            index_key,
            read_index,
            write_index,
        )

        candidates, operator = discover(), operator_states()
        resolution = _Resolution(candidates, operator)
        use_index = os.environ.get("PLEXICHAT_DISCOVERY_INDEX", "1") != "0"
        key = index_key(candidates, os.environ, operator) if use_index else ""
        index = read_index(key) if use_index else None
        if index is not None:
            from .recorded import recorded_command

            for message in index.warnings:
                _warn(message)
            for item in index.commands:
                found[item.record.name] = recorded_command(
                    item.record, _RealCommand(self, resolution, item, index.warnings))
            return
        warnings: list[str] = []
        owners = self._collect(resolution(), found, warnings)
        if not use_index:
            return
        from .recorded import record_command

        written = CommandIndex(key=key, warnings=warnings)
        for name, command in found.items():
            try:
                record = record_command(command, root, name)
            except Exception:  # a command that cannot be recorded is not cached at all
                return
            written.commands.append(PluginCommandRecord(owners[name], record))
        write_index(written)

    def _collect(self, resolution: Resolution, found: dict[str, click.Command],
                 warnings: list[str], only: set[str] | None = None,
                 shown: Collection[str] = ()) -> dict[str, str]:
        """Import the plugins (those in ``only``, or all) and collect their commands.

        Fills ``found`` and returns which plugin added each command; every problem is
        appended to ``warnings`` and printed, unless it is among those ``shown`` already.
        """
        import pluggy

        # Light modules only (no pydantic, SQLAlchemy, FastAPI or asyncio).
        from .. import hookspecs
        from ..kernel.loading import call_each, load_object, register_plugin
        from ..markers import PROJECT_NAME

        def warn(message: str) -> None:
            warnings.append(message)
            if message not in shown:
                _warn(message)

        pm = pluggy.PluginManager(PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        resolved = {c.name for c in resolution.order}
        loaded: set[str] = set()
        for candidate in resolution.order:
            name = candidate.name
            if only is not None and name not in only:
                continue
            missing = [d for d in _dependencies(candidate) if d in resolved and d not in loaded]
            if missing:
                warn(f"plugin {name}: not loaded: a dependency failed to load")
                continue
            try:
                obj = load_object(candidate)
            except BaseException as exc:  # SystemExit included: the plugin's, not ours
                warn(f"plugin {name}: not loaded: {type(exc).__name__}: {exc}")
                continue
            problem = register_plugin(pm, name, obj)
            if problem:
                warn(f"plugin {name}: {problem}")
                continue
            loaded.add(name)
        owners: dict[str, str] = {}
        # In load order: on a clash, the plugin loaded later is the one refused, as with
        # routes.
        for plugin, value, error in call_each(pm, "register_commands", context=None):
            if error is not None:
                warn(f"plugin {plugin}: register_commands raised "
                     f"{type(error).__name__}: {error}")
                continue
            if value is None:
                continue
            for command in _commands(plugin, value, warn):
                name = command.name or ""
                if name in self.commands:
                    warn(f"plugin {plugin}: command {name!r} refused: it is a core command")
                elif name in found:
                    warn(f"plugin {plugin}: command {name!r} refused: already added by "
                         f"plugin {owners[name]!r}")
                else:
                    found[name] = command
                    owners[name] = plugin
        return owners


class _RealCommand:
    """Loads the real command behind a recorded one: its plugin and their dependencies."""

    def __init__(self, group: PluginCommandGroup, resolution: _Resolution,
                 item: PluginCommandRecord, shown: list[str]) -> None:
        self.group, self.resolution, self.shown = group, resolution, shown
        self.plugin, self.name = item.plugin, item.record.name

    def __call__(self) -> click.Command:
        from .command_index import forget_index

        found: dict[str, click.Command] = {}
        resolution = self.resolution()
        self.group._collect(resolution, found, [], only=self._needed(resolution),
                            shown=self.shown)
        command = found.get(self.name)
        if command is None:
            forget_index()
            raise click.ClickException(
                f"plugin {self.plugin} no longer adds the command {self.name!r}; "
                "the command list is rebuilt on the next run")
        return command

    def _needed(self, resolution: Resolution) -> set[str]:
        """The plugin and, transitively, the resolved plugins it depends on."""
        by_name = {c.name: c for c in resolution.order}
        needed: set[str] = set()
        todo = [self.plugin]
        while todo:
            name = todo.pop()
            if name in needed or name not in by_name:
                continue
            needed.add(name)
            todo.extend(_dependencies(by_name[name]))
        return needed


class _Resolution:
    """The plugins that may load, resolved when first asked for (the index needs not)."""

    def __init__(self, candidates: list[PluginCandidate], operator: dict[str, bool]) -> None:
        self.candidates, self.operator = candidates, operator
        self._resolution: Resolution | None = None

    def __call__(self) -> Resolution:
        if self._resolution is None:
            from ..kernel.resolver import PluginFilter, resolve

            self._resolution = resolve(self.candidates, PluginFilter.from_env(
                os.environ, operator=self.operator))
        return self._resolution


def _dependencies(candidate: PluginCandidate) -> list[str]:
    """The names of the plugins ``candidate``'s manifest depends on."""
    requirements = (candidate.manifest or {}).get("dependencies", [])
    if not requirements:
        return []
    from packaging.requirements import Requirement

    return [Requirement(r.split(";")[0]).name for r in requirements]


def _commands(plugin: str, value: Any, warn: Any) -> list[click.Command]:
    if inspect.iscoroutine(value):
        value.close()
        warn(f"plugin {plugin}: register_commands must be a plain function, not async")
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if isinstance(item, click.Command):
            out.append(item)
        else:
            warn(f"plugin {plugin}: register_commands returned {type(item).__name__}, "
                 "not a click command")
    return out


def _warn(message: str) -> None:
    click.echo(f"plexichat: {message}", err=True)
