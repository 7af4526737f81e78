"""Commands plugins add to ``plexichat`` through the ``register_commands`` hook.

Core commands never need plugin code. The plugins' commands are collected (every
enabled plugin imported, ``register_commands`` called) the first time ``plexichat`` is
asked for a command it does not have itself, or lists its commands (``--help``), and
recorded in the command index (:mod:`plexichat.cli.command_index`). While that index is
current, ``plexichat --help``, ``plexichat GROUP --help`` and ``plexichat GROUP SUB
--help`` are served from it without importing any plugin
(:mod:`plexichat.cli.recorded`); running a plugin command imports that plugin (and the
plugins it depends on) only.

While the data directory's boot record says safe mode (:mod:`plexichat.boot`), no
plugin is imported and only the core commands exist.

A plugin that fails to import, or whose command name is taken, is reported on stderr
and the CLI carries on. The index keeps those reports, and every run it serves prints
them again, so an operator sees the same warnings whether or not the index was used.
A plugin that failed (to import, or in ``register_commands``) is tried again, quietly,
on every run the index serves: its commands are unknown, and a failure that was
passing (a missing setting, since provided) must not hide them; once it succeeds the
index is rebuilt.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
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
            from ..boot import safe_mode_reason
            from ..runtime import data_dir

            reason = safe_mode_reason(data_dir().path)
            if reason:  # the plugin at fault may kill this process too
                _warn(f"safe mode: plugin commands are not loaded ({reason})")
                return found
            try:
                self._find(ctx.find_root(), found)
            except Exception as exc:  # the CLI's own commands must keep working
                _warn(f"plugin commands unavailable: {type(exc).__name__}: {exc}")
        return found

    def _find(self, root: click.Context, found: dict[str, click.Command]) -> None:
        """Fill ``found`` from the command index, or collect and record the commands."""
        from ..kernel.discovery import discover
        from ..storage.readonly import operator_states
        from .command_index import index_key, read_index

        candidates, operator = discover(), operator_states()
        resolution = _Resolution(candidates, operator)
        use_index = os.environ.get("PLEXICHAT_DISCOVERY_INDEX", "1") != "0"
        key = index_key(candidates, os.environ, operator) if use_index else ""
        index = read_index(key) if use_index else None
        if index is not None and self._still_failing(resolution, index.failed):
            from .recorded import recorded_command

            for message in index.warnings:
                _warn(message)
            for item in index.commands:
                found[item.record.name] = recorded_command(
                    item.record, _RealCommand(self, resolution, item, index.warnings))
            return
        collected = self._collect(resolution(), found, _warn)
        if use_index:
            _write(root, key, found, collected)

    def _still_failing(self, resolution: _Resolution, failed: list[str]) -> bool:
        """Whether the plugins that failed when the index was built fail still.

        They are tried again on every run the index serves (quietly): one that loads and
        adds its commands now makes the index stale.
        """
        if not failed:
            return True
        order = resolution().order
        retried = self._collect(resolution(), {}, lambda message: None,
                                only=_with_dependencies(order, failed))
        return set(failed) <= retried.failed

    def _collect(self, resolution: Resolution, found: dict[str, click.Command],
                 report: Callable[[str], object], only: set[str] | None = None,
                 ) -> _Collected:
        """Import the plugins (those in ``only``, or all) and collect their commands.

        Fills ``found``; every problem is passed to ``report`` (which prints it, or not)
        and kept in the result.
        """
        import pluggy

        # Light modules only (no pydantic, SQLAlchemy, FastAPI or asyncio).
        from .. import hookspecs
        from ..kernel.loading import call_each, load_object, register_plugin
        from ..markers import PROJECT_NAME

        collected = _Collected()

        def warn(message: str) -> None:
            collected.warnings.append(message)
            report(message)

        def fail(plugin: str, message: str) -> None:
            collected.failed.add(plugin)
            warn(f"plugin {plugin}: {message}")

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
                fail(name, "not loaded: a dependency failed to load")
                continue
            try:
                obj = load_object(candidate)
            except BaseException as exc:  # SystemExit included: the plugin's, not ours
                fail(name, f"not loaded: {type(exc).__name__}: {exc}")
                continue
            problem = register_plugin(pm, name, obj)
            if problem:
                fail(name, problem)
                continue
            loaded.add(name)
        owners = collected.owners
        # In load order: on a clash, the plugin loaded later is the one refused, as with
        # routes.
        for plugin, value, error in call_each(pm, "register_commands", context=None):
            if error is not None:
                fail(plugin, f"register_commands raised {type(error).__name__}: {error}")
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
        return collected


@dataclass
class _Collected:
    """What one collection found besides the commands."""

    owners: dict[str, str] = field(default_factory=dict)
    """Command name -> the plugin that added it."""
    warnings: list[str] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    """Plugins that did not load, or whose ``register_commands`` raised."""


def _write(root: click.Context, key: str, found: dict[str, click.Command],
           collected: _Collected) -> None:
    """Record the commands ``found`` in the command index."""
    from .command_index import CommandIndex, PluginCommandRecord, write_index
    from .recorded import record_command

    index = CommandIndex(key=key, warnings=collected.warnings,
                         failed=sorted(collected.failed))
    for name, command in found.items():
        try:
            record = record_command(command, root, name)
        except Exception:  # a command that cannot be recorded: no index at all
            return
        index.commands.append(PluginCommandRecord(collected.owners[name], record))
    write_index(index)


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
        self.group._collect(resolution, found, self._report,
                            only=_with_dependencies(resolution.order, [self.plugin]))
        command = found.get(self.name)
        if command is None:
            forget_index()
            raise click.ClickException(
                f"plugin {self.plugin} no longer adds the command {self.name!r}; "
                "the command list is rebuilt on the next run")
        return command

    def _report(self, message: str) -> None:
        if message not in self.shown:  # printed from the index already
            _warn(message)


def _with_dependencies(order: list[PluginCandidate], plugins: list[str]) -> set[str]:
    """``plugins`` and, transitively, the plugins of ``order`` they depend on."""
    by_name = {c.name: c for c in order}
    needed: set[str] = set()
    todo = list(plugins)
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
            from ..kernel.blocklist import blocked_versions
            from ..kernel.resolver import PluginFilter, resolve
            from ..runtime import data_dir

            self._resolution = resolve(self.candidates, PluginFilter.from_env(
                os.environ, operator=self.operator,
                blocked=blocked_versions(data_dir().path)))
        return self._resolution


def _dependencies(candidate: PluginCandidate) -> list[str]:
    """The names of the plugins ``candidate``'s manifest depends on."""
    requirements = candidate.dependencies
    if not requirements:
        return []
    from packaging.requirements import Requirement

    return [Requirement(r.split(";")[0]).name for r in requirements]


def _commands(plugin: str, value: Any, warn: Callable[[str], None]) -> list[click.Command]:
    from .. import adapters

    try:
        return adapters.commands(plugin, value)
    except adapters.ContributionError as exc:
        warn(str(exc))
        return []


def _warn(message: str) -> None:
    click.echo(f"plexichat: {message}", err=True)
