"""The ``plexichat`` command line."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..kernel.states import PluginState
from .plugin_commands import PluginCommandGroup

__all__ = ["main"]


@click.group(cls=PluginCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plexichat")
def main() -> None:
    """PlexiChat: a chat server whose every extension is a plugin."""


@main.group()
def plugins() -> None:
    """Manage installed plugins (live on the host serving the data directory, if any)."""


from .safe_mode import safe_mode  # noqa: E402  (click only)
from .serve import serve  # noqa: E402  (click only; uvicorn is imported when it runs)
from .views import plugins_info, plugins_list, status  # noqa: E402  (click only)

main.add_command(serve)
main.add_command(safe_mode)

plugins.add_command(plugins_list)
plugins.add_command(plugins_info)
main.add_command(status)


# --- operator commands -------------------------------------------------------------------


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run``, imported only by the commands that need it (not by ``list``)."""
    import asyncio

    return asyncio.run(coro)


def _settings() -> Any:
    from ..config import HostSettings

    return HostSettings()


@contextlib.asynccontextmanager
async def _running_host(load: str | None = None) -> AsyncIterator[Any]:
    """A host without a web server: plugins started, stopped on exit."""
    from ..host import PluginHost

    settings = _settings()
    if load is not None:
        settings = settings.model_copy(update={"load_plugins": load})
    host = PluginHost(settings)
    host.resolve()
    await host.start_all()
    try:
        yield host
    finally:
        await host.stop_all()
        await host.tasks.close()
        host.database.dispose()


def _store(init: bool) -> Any:
    """The host database, for a command that writes it (see :func:`require_database`)."""
    from ..storage import Database, HostStore
    from .target import require_database

    require_database(init)
    settings = _settings()
    return HostStore(Database(settings.resolved_database_url(),
                              sqlite_synchronous=settings.sqlite_synchronous))


def _known_plugin(name: str) -> Any:
    from ..listing import static_listing

    for item in static_listing():
        if item.name == name:
            return item
    raise click.ClickException(
        f"no plugin named {name!r} is installed (see 'plexichat plugins list')")


def _remote(url: str, token: str | None, method: str, path: str, body: Any = None) -> Any:
    """``method path`` on the host at ``url`` with ``token``; its JSON (errors: exit 1)."""
    from ..runtime import data_dir
    from .target import Target

    if not token:
        raise click.ClickException("--token (or PLEXICHAT_ADMIN_TOKEN) is needed with --url")
    return Target(data_dir(), url.rstrip("/"), token, None).call(method, path, body)


def _where(url: str | None, token: str | None) -> Any:
    from .target import target

    return target(url, token)


def _stored(what: str) -> str:
    from ..runtime import data_dir
    from .target import STORED

    return f"{what} — {STORED} (no host is serving {data_dir().path})"


def _no_such_plugin(where: Any, name: str) -> click.ClickException:
    return click.ClickException(f"no plugin named {name!r} is installed on the host at "
                                f"{where.url} (see 'plexichat plugins list')")


def _call(where: Any, name: str, method: str, path: str, body: Any = None) -> Any:
    from .target import HostError

    try:
        return where.call(method, path, body)
    except HostError as exc:
        if exc.status == 404:
            raise _no_such_plugin(where, name) from None
        raise


_url_option = click.option(
    "--url", envvar="PLEXICHAT_URL", default=None,
    help="Act on the host at this URL (default: the host serving the data directory, "
         "if one runs; else the database, for the next start).")
_token_option = click.option(
    "--token", envvar="PLEXICHAT_ADMIN_TOKEN", default=None,
    help="Admin token (default: the token the host serving the data directory wrote "
         "there for the CLI).")
_init_option = click.option(
    "--init", is_flag=True,
    help="Create the database if the data directory has none (otherwise refused).")


@plugins.command("enable")
@click.argument("name")
@_url_option
@_token_option
@_init_option
def plugins_enable(name: str, url: str | None, token: str | None, init: bool) -> None:
    """Enable a plugin: started at once in the running host, else from its next start."""
    _set_enabled(name, True, url, token, init)


@plugins.command("disable")
@click.argument("name")
@_url_option
@_token_option
@_init_option
def plugins_disable(name: str, url: str | None, token: str | None, init: bool) -> None:
    """Disable a plugin: stopped at once in the running host, else from its next start."""
    _set_enabled(name, False, url, token, init)


@plugins.command("start")
@click.argument("name")
@_url_option
@_token_option
def plugins_start(name: str, url: str | None, token: str | None) -> None:
    """Start a plugin now in the running host, for this run (one whose manifest says
    auto_start: false, or one stopped with 'plugins stop')."""
    _start_stop(name, "start", url, token)


@plugins.command("stop")
@click.argument("name")
@_url_option
@_token_option
def plugins_stop(name: str, url: str | None, token: str | None) -> None:
    """Stop a plugin in the running host, for this run (it starts with the next start)."""
    _start_stop(name, "stop", url, token)


def _start_stop(name: str, verb: str, url: str | None, token: str | None) -> None:
    from .target import HostError

    where = _where(url, token)
    if not where.live:
        raise click.ClickException(
            f"no host is serving {where.data_dir.path}: 'plugins {verb}' acts on a running "
            "host only (use 'plugins enable'/'disable' for what the next start runs)")
    try:
        result = _call(where, name, "POST", f"/api/v1/plugins/{name}/{verb}")
    except HostError as exc:
        if exc.status == 409 and isinstance(exc.body, dict):
            raise click.ClickException(str(exc.body.get("detail"))) from None
        raise
    reason = f" ({result['reason']})" if result.get("reason") else ""
    line = f"{name}: {result['state']}{reason}"
    if verb == "start" and result["state"] != PluginState.STARTED.value:
        raise click.ClickException(f"{line}; it did not start")
    click.echo(line)


def _set_enabled(name: str, enabled: bool, url: str | None, token: str | None,
                 init: bool) -> None:
    verb = "enable" if enabled else "disable"
    where = _where(url, token)
    if where.live:
        result = _call(where, name, "POST", f"/api/v1/plugins/{name}/{verb}")
        reason = f" ({result['reason']})" if result.get("reason") else ""
        line = f"{name}: {result['state']}{reason}; {where.applied()}"
        if enabled and result["state"] != PluginState.STARTED.value:
            raise click.ClickException(f"{line}, but it did not start")
        click.echo(line)
        return
    _known_plugin(name)
    store = _store(init)
    with _cli_audit(store, "PLUGIN_ENABLE" if enabled else "PLUGIN_DISABLE", name):
        store.set_enabled(name, enabled, "operator")
    click.echo(_stored(f"{name}: {verb}d"))


def _cli_audit(store: Any, action: str, name: str, details: Any = None) -> Any:
    """The audit row (``action``: an :class:`~plexichat.audit.AuditAction` member's
    name) of a change the CLI writes to the database itself (no host runs): stored in
    the same transaction, the OS user as the actor."""
    from ..audit import Actor, AuditAction, AuditTrail

    return AuditTrail(store.db).along(Actor.cli(), AuditAction[action], name,
                                      details=details)


@plugins.command("grant")
@click.argument("name")
@click.argument("permissions", nargs=-1, required=True)
@click.option("--revoke", is_flag=True, help="Remove these permissions instead.")
@_url_option
@_token_option
@_init_option
def plugins_grant(name: str, permissions: tuple[str, ...], revoke: bool, url: str | None,
                  token: str | None, init: bool) -> None:
    """Grant (or --revoke) permissions to a plugin.

    A running host applies them at once to what the plugin asks for from then on; a
    service the plugin already holds stays until it is restarted (disable, enable).
    """
    from ..permissions import KNOWN_PERMISSIONS

    unknown = [p for p in permissions if p not in KNOWN_PERMISSIONS]
    if unknown:
        raise click.ClickException(
            f"unknown permission(s): {', '.join(unknown)}; known: "
            f"{', '.join(sorted(KNOWN_PERMISSIONS))}")
    where = _where(url, token)
    if where.live:
        body = {"revoke" if revoke else "grant": list(permissions)}
        result = _call(where, name, "POST", f"/api/v1/plugins/{name}/grants", body)
        granted = ", ".join(result["granted"]) or "(none)"
        click.echo(f"{name}: granted {granted}; {where.applied()}")
        if result.get("note"):
            click.echo(result["note"])
        return
    _known_plugin(name)
    store = _store(init)
    change = {"grant": [], "revoke": [], "revoke" if revoke else "grant": sorted(permissions)}
    with _cli_audit(store, "GRANTS_CHANGE", name, change):
        if revoke:
            store.revoke(name, permissions)
        else:
            store.grant(name, permissions, by="operator")
    granted = ", ".join(sorted(store.grants(name))) or "(none)"
    click.echo(_stored(f"{name}: granted {granted}"))


@plugins.group("config")
def plugins_config() -> None:
    """Read and change a plugin's settings (live when a host runs)."""


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@plugins_config.command("get")
@click.argument("name")
@click.argument("key", required=False)
@_url_option
@_token_option
@_init_option
def config_get(name: str, key: str | None, url: str | None, token: str | None,
               init: bool) -> None:
    """Print a plugin's settings as JSON (secrets masked), or one KEY of them."""
    from ..settings import mask_secrets

    where = _where(url, token)
    if where.live:
        shown = _call(where, name, "GET", f"/api/v1/plugins/{name}/settings")["settings"]
    else:
        _known_plugin(name)
        from .target import require_database

        require_database(init)

        async def read() -> tuple[dict[str, Any], dict[str, Any]]:
            async with _running_host(load=_with_dependencies(name)) as host:
                schema = await host.settings_schema(name)
                return schema, host.current_settings(name)

        schema, current = _run(read())
        shown = mask_secrets(schema, current)
    if key is None:
        click.echo(json.dumps(shown, indent=2))
    elif key not in shown:
        raise click.ClickException(f"{name} has no setting {key!r}; it has: "
                                   f"{', '.join(sorted(shown)) or '(none)'}")
    else:
        click.echo(json.dumps(shown[key]))


# VALUE may look like an option (-5): unknown options are taken as arguments.
@plugins_config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("key")
@click.argument("value")
@_url_option
@_token_option
@_init_option
def config_set(name: str, key: str, value: str, url: str | None, token: str | None,
               init: bool) -> None:
    """Set KEY to VALUE (JSON, or a plain string) after validating against the schema.

    With a host running, the plugin gets the new settings at once (its config_changed
    hook runs); otherwise they are stored for its next start.
    """
    where = _where(url, token)
    if where.live:
        stored = _config_set_live(where, name, key, _parse_value(value))
        click.echo(f"{name}: {key} = {json.dumps(stored.get(key))}; {where.applied()}")
        return
    from ..kernel.plugin_settings import SettingsRejected
    from ..settings import SettingsInvalid

    _known_plugin(name)
    from .target import require_database

    require_database(init)

    async def write() -> dict[str, Any]:
        async with _running_host(load=_with_dependencies(name)) as host:
            current = dict(host.current_settings(name))
            current[key] = _parse_value(value)
            from ..audit import Actor

            return await host.update_settings(name, current, actor=Actor.cli())

    try:
        stored = _run(write())
    except SettingsInvalid as exc:
        for error in exc.errors:
            click.echo(f"error: {error}", err=True)
        raise click.ClickException(f"settings of {name} not changed") from None
    except SettingsRejected as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_stored(f"{name}: {key} = {json.dumps(stored.get(key))}"))


def _config_set_live(where: Any, name: str, key: str, value: Any) -> dict[str, Any]:
    """``PUT /settings`` with KEY changed: validated, stored, ``config_changed`` run."""
    from .target import HostError

    path = f"/api/v1/plugins/{name}/settings"
    current = dict(_call(where, name, "GET", path)["settings"])  # secrets masked: kept
    current[key] = value
    try:
        return dict(where.call("PUT", path, current)["settings"])
    except HostError as exc:
        if exc.status == 422 and isinstance(exc.body, dict):
            for error in exc.body.get("errors") or []:
                click.echo(f"error: {error.get('path') or '(top)'}: {error.get('message')}",
                           err=True)
            raise click.ClickException(f"settings of {name} not changed") from None
        if exc.status == 409:
            detail = exc.body.get("detail") if isinstance(exc.body, dict) else str(exc)
            raise click.ClickException(f"{name} refused the settings; nothing changed: "
                                       f"{detail}") from None
        raise


def _with_dependencies(name: str) -> str:
    """``name`` plus everything it depends on, for a host that starts only those."""
    from packaging.requirements import Requirement

    from ..listing import static_listing

    by_name = {i.name: i for i in static_listing()}
    wanted, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in wanted or current not in by_name:
            continue
        wanted.add(current)
        found = by_name[current].candidate
        for dep in found.dependencies if found is not None else []:
            todo.append(Requirement(dep).name)
    return ",".join(sorted(wanted))


@plugins.command("selftest")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@_init_option
def plugins_selftest(name: str | None, as_json: bool, init: bool) -> None:
    """Start the plugins (or NAME) and run their self-tests; exit 1 if any fails."""
    from .target import require_database

    if name:
        _known_plugin(name)
    require_database(init)

    async def run() -> list[dict[str, Any]]:
        async with _running_host(load=_with_dependencies(name) if name else None) as host:
            names = [name] if name else sorted(host.records)
            out = []
            for plugin in names:
                result = await host.self_test(plugin)
                out.append({"name": plugin, "passed": result.passed, "tests": result.tests,
                            "message": result.message,
                            "state": host.records[plugin].state.value})
            return out

    results = _run(run())
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        for r in results:
            mark = "PASS" if r["passed"] else "FAIL"
            click.echo(f"{mark} {r['name']}: {r['message'] or ', '.join(r['tests'])}")
    if not all(r["passed"] for r in results if r["state"] == PluginState.STARTED.value) or (
            name and not results[0]["passed"]):
        sys.exit(1)


@main.group()
def backup() -> None:
    """Archive and restore the host database and every plugin's data."""


def _progress_run(title: str, work: Callable[[Any, Any], Awaitable[Any]],
                  init: bool) -> Any:
    from rich.progress import Progress

    from .target import require_database

    require_database(init)

    with Progress(transient=False) as progress:
        task = progress.add_task(title, total=None)

        def update(step: str, done: int, total: int) -> None:
            progress.update(task, description=f"{title}: {step}", completed=done, total=total)

        async def run() -> Any:
            async with _running_host() as host:
                return await work(host, update)

        return _run(run())


@backup.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_init_option
def backup_create(file: Path, init: bool) -> None:
    """Write an archive of the host database, data directory and plugin handlers."""
    report = _progress_run("backup", lambda host, cb: host.services.backup.create(file, cb),
                           init)
    click.echo(f"wrote {file}: {sum(report.tables.values())} row(s) in {len(report.tables)} "
               f"tables, {report.files} files, {len(report.handlers)} plugin handler(s)")


@backup.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_init_option
def backup_restore(file: Path, init: bool) -> None:
    """Bring the host back to what FILE holds (plugins must be installed; --init to
    restore into a data directory without a database yet)."""
    from ..services.backup import BackupError

    try:
        report = _progress_run("restore",
                               lambda host, cb: host.services.backup.restore(file, cb),
                               init)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"restored {file}: {sum(report.tables.values())} row(s) in "
               f"{len(report.tables)} tables, {report.files} files, "
               f"{len(report.handlers)} plugin handler(s)")


from .openapi import openapi as _openapi  # noqa: E402  (click only; the host loads on use)

main.add_command(_openapi)

# Plugin distribution commands; each module is imported only when its command runs.
from .lazy import LazyCommand as _Lazy  # noqa: E402  (click only)

for _name, _target, _help in (
    ("new", "new:new", "Create a plugin project ready to test, check and publish."),
    ("check", "check:check", "Check a plugin project, wheel or install before publishing."),
    ("migrate", "migrate:migrate", "Convert a guide-style folder plugin to a distribution."),
    ("install", "install:install", "Install plugins with pip here (live with --url)."),
    ("uninstall", "install:uninstall", "Uninstall plugins with pip (live with --url)."),
    ("upgrade", "install:upgrade", "Upgrade plugins with pip (live with --url)."),
    ("lock", "lock:lock", "Write the installed plugins as a hash-pinned requirements file."),
    ("history", "history:history", "List the plugin set before each install change."),
    ("rollback", "history:rollback", "Restore the plugin set before a history step."),
    ("search", "search:search", "Search a plugin catalog; shows what runs on this host."),
):
    plugins.add_command(_Lazy(_name, f"plexichat.cli.{_target}", _help))


from .secrets import secrets as _secrets  # noqa: E402  (click only; the rest on use)

main.add_command(_secrets)


@main.group()
def cluster() -> None:
    """Replicas sharing the host database (PLEXICHAT_REDIS_URL)."""


main.add_command(_Lazy("audit", "plexichat.cli.audit:audit",
                       "Show the audit trail: who did what, when (--follow polls)."))

cluster.add_command(_Lazy("status", "plexichat.cli.cluster:status",
                          "Show the live replicas and flag version skew."))
