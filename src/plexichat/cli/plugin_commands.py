"""Commands plugins add to ``plexichat`` through the ``register_commands`` hook.

Core commands never need plugin code: plugins are imported only when ``plexichat``
is asked for a command it does not have itself, or lists its commands (``--help``).
A plugin that fails to import, or whose command name is taken, is reported on stderr
and the CLI carries on.
"""

from __future__ import annotations

import click

from .. import adapters

__all__ = ["PluginCommandGroup"]


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
        """The plugins' commands, collected once per invocation."""
        meta = ctx.find_root().meta
        found: dict[str, click.Command] | None = meta.get("plexichat.plugin_commands")
        if found is None:
            found = meta["plexichat.plugin_commands"] = {}
            try:
                self._collect(found)
            except Exception as exc:  # the CLI's own commands must keep working
                _warn(f"plugin commands unavailable: {type(exc).__name__}: {exc}")
        return found

    def _collect(self, found: dict[str, click.Command]) -> None:
        import os

        import pluggy

        # Light modules only (no pydantic, SQLAlchemy, FastAPI or asyncio): `--help`
        # comes through here (bench/bench_cli_help.py).
        from .. import hookspecs
        from ..kernel.discovery import discover
        from ..kernel.loading import call_each, load_object, register_plugin
        from ..kernel.resolver import PluginFilter, resolve
        from ..markers import PROJECT_NAME
        from ..storage.readonly import operator_states

        pm = pluggy.PluginManager(PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        resolution = resolve(discover(), PluginFilter.from_env(
            os.environ, operator=operator_states()))
        loaded: set[str] = set()
        for candidate in resolution.order:
            name = candidate.name
            declared = candidate.manifest.dependencies if candidate.manifest is not None else []
            deps = {d.split(";")[0] for d in declared}
            missing = [d for d in deps if _dep_name(d) in {c.name for c in resolution.order}
                       and _dep_name(d) not in loaded]
            if missing:
                _warn(f"plugin {name}: not loaded: a dependency failed to load")
                continue
            try:
                obj = load_object(candidate)
            except BaseException as exc:  # SystemExit included: the plugin's, not ours
                _warn(f"plugin {name}: not loaded: {type(exc).__name__}: {exc}")
                continue
            problem = register_plugin(pm, name, obj)
            if problem:
                _warn(f"plugin {name}: {problem}")
                continue
            loaded.add(name)
        owners: dict[str, str] = {}
        # In load order: on a clash, the plugin loaded later is the one refused, as with
        # routes.
        for plugin, value, error in call_each(pm, "register_commands", context=None):
            if error is not None:
                _warn(f"plugin {plugin}: register_commands raised "
                      f"{type(error).__name__}: {error}")
                continue
            if value is None:
                continue
            try:
                commands = adapters.commands(plugin, value)
            except adapters.ContributionError as exc:
                _warn(str(exc))
                continue
            for command in commands:
                name = command.name or ""
                if name in self.commands:
                    _warn(f"plugin {plugin}: command {name!r} refused: it is a core command")
                elif name in found:
                    _warn(f"plugin {plugin}: command {name!r} refused: already added by "
                          f"plugin {owners[name]!r}")
                else:
                    found[name] = command
                    owners[name] = plugin


def _dep_name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(requirement).name


def _warn(message: str) -> None:
    click.echo(f"plexichat: {message}", err=True)
