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
from ..logs import LEVELS
from .plugin_commands import PluginCommandGroup

__all__ = ["main"]


@click.group(cls=PluginCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plexichat")
def main() -> None:
    """PlexiChat: a chat server whose every extension is a plugin."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option("--log-level", type=click.Choice(LEVELS, case_sensitive=False),
              help="Least severe log level shown  [default: PLEXICHAT_LOG_LEVEL, else info]")
def serve(host: str, port: int, log_level: str | None) -> None:
    """Run the PlexiChat server with every installed plugin."""
    import uvicorn

    from ..config import HostSettings
    from ..logs import configure_logging
    from ..web import create_app

    settings = HostSettings()
    level = configure_logging(log_level or settings.log_level, settings.log_format)
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=level, log_config=None)


@main.group()
def plugins() -> None:
    """Manage installed plugins (`list` and `info` never import their code)."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def plugins_list(as_json: bool) -> None:
    """List installed plugins: available, rejected (with the reason) or disabled."""
    from ..listing import static_listing

    items = static_listing()
    if as_json:
        json.dump([i.as_dict() for i in items], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"PlexiChat {__version__}: {len(items)} plugin(s) installed")
    for column in ("name", "version", "type", "state", "reason", "distribution"):
        table.add_column(column, overflow="fold")
    colours = {"available": "green", "rejected": "red", "disabled": "yellow"}
    for i in items:
        table.add_row(i.name, i.version, i.type,
                      f"[{colours.get(i.state, 'white')}]{i.state}[/]", i.reason,
                      f"{i.distribution} {i.distribution_version}")
    Console().print(table)


@plugins.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def plugins_info(name: str, as_json: bool) -> None:
    """Show one installed plugin: state, reason, manifest, warnings."""
    from ..listing import static_listing

    matches = [i for i in static_listing() if i.name == name]
    if not matches:
        raise click.ClickException(
            f"no plugin named {name!r} is installed (see 'plexichat plugins list')"
        )
    item = matches[0]
    if as_json:
        json.dump(item.as_dict(with_manifest=True), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.pretty import Pretty

    console = Console()
    console.print(f"[bold]{item.name}[/] {item.version} ({item.type})")
    console.print(f"state: {item.state}" + (f" — {item.reason}" if item.reason else ""))
    console.print(f"distribution: {item.distribution} {item.distribution_version}")
    console.print(f"entry point: {item.entry_point}")
    console.print(f"manifest: {item.manifest_file or '(none; defaults apply)'}")
    for warning in item.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if item.manifest:
        console.print(Pretty(item.manifest))


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
    from ..manager import PluginHost

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
        await host.tasks.stop_all()
        host.database.dispose()


def _store() -> Any:
    from ..storage import Database, HostStore

    settings = _settings()
    return HostStore(Database(settings.resolved_database_url()))


def _known_plugin(name: str) -> Any:
    from ..listing import static_listing

    for item in static_listing():
        if item.name == name:
            return item
    raise click.ClickException(
        f"no plugin named {name!r} is installed (see 'plexichat plugins list')")


def _remote(url: str, token: str | None, method: str, path: str, body: Any = None) -> Any:
    import httpx

    if not token:
        raise click.ClickException("--token (or PLEXICHAT_ADMIN_TOKEN) is needed with --url")
    response = httpx.request(method, url.rstrip("/") + path, json=body, timeout=60,
                             headers={"Authorization": f"Bearer {token}"})
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise click.ClickException(f"{method} {path}: HTTP {response.status_code}: {detail}")
    return response.json()


_url_option = click.option(
    "--url", envvar="PLEXICHAT_URL", default=None,
    help="Act on the running host at this URL (else: stored for its next start).")
_token_option = click.option("--token", envvar="PLEXICHAT_ADMIN_TOKEN", default=None,
                             help="Admin token for --url.")


@plugins.command("enable")
@click.argument("name")
@_url_option
@_token_option
def plugins_enable(name: str, url: str | None, token: str | None) -> None:
    """Enable a plugin (live with --url; otherwise from the next start on)."""
    _set_enabled(name, True, url, token)


@plugins.command("disable")
@click.argument("name")
@_url_option
@_token_option
def plugins_disable(name: str, url: str | None, token: str | None) -> None:
    """Disable a plugin (live with --url; otherwise from the next start on)."""
    _set_enabled(name, False, url, token)


def _set_enabled(name: str, enabled: bool, url: str | None, token: str | None) -> None:
    verb = "enable" if enabled else "disable"
    if url:
        result = _remote(url, token, "POST", f"/api/v1/plugins/{name}/{verb}")
        reason = f" ({result['reason']})" if result.get("reason") else ""
        click.echo(f"{name}: {result['state']}{reason}")
        return
    _known_plugin(name)
    _store().set_enabled(name, enabled, "operator")
    click.echo(f"{name}: {verb}d; takes effect when the host next starts "
               "(use --url to change a running host)")


@plugins.command("grant")
@click.argument("name")
@click.argument("permissions", nargs=-1, required=True)
@click.option("--revoke", is_flag=True, help="Remove these permissions instead.")
def plugins_grant(name: str, permissions: tuple[str, ...], revoke: bool) -> None:
    """Grant (or --revoke) permissions to a plugin; used from its next start."""
    from ..permissions import KNOWN_PERMISSIONS

    _known_plugin(name)
    unknown = [p for p in permissions if p not in KNOWN_PERMISSIONS]
    if unknown:
        raise click.ClickException(
            f"unknown permission(s): {', '.join(unknown)}; known: "
            f"{', '.join(sorted(KNOWN_PERMISSIONS))}")
    store = _store()
    if revoke:
        store.revoke(name, permissions)
    else:
        store.grant(name, permissions, by="operator")
    granted = ", ".join(sorted(store.grants(name))) or "(none)"
    click.echo(f"{name}: granted {granted}")


@plugins.group("config")
def plugins_config() -> None:
    """Read and change a plugin's settings."""


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@plugins_config.command("get")
@click.argument("name")
@click.argument("key", required=False)
def config_get(name: str, key: str | None) -> None:
    """Print a plugin's settings as JSON (secrets masked), or one KEY of them."""
    from ..settings import mask_secrets

    _known_plugin(name)

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


@plugins_config.command("set")
@click.argument("name")
@click.argument("key")
@click.argument("value")
def config_set(name: str, key: str, value: str) -> None:
    """Set KEY to VALUE (JSON, or a plain string) after validating against the schema."""
    from ..manager import SettingsRejected
    from ..settings import SettingsInvalid

    _known_plugin(name)

    async def write() -> dict[str, Any]:
        async with _running_host(load=_with_dependencies(name)) as host:
            current = dict(host.current_settings(name))
            current[key] = _parse_value(value)
            return await host.update_settings(name, current)

    try:
        stored = _run(write())
    except SettingsInvalid as exc:
        for error in exc.errors:
            click.echo(f"error: {error}", err=True)
        raise click.ClickException(f"settings of {name} not changed") from None
    except SettingsRejected as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name}: {key} = {json.dumps(stored.get(key))}")


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
        for dep in (by_name[current].manifest or {}).get("dependencies", []):
            todo.append(Requirement(dep).name)
    return ",".join(sorted(wanted))


@plugins.command("selftest")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def plugins_selftest(name: str | None, as_json: bool) -> None:
    """Start the plugins (or NAME) and run their self-tests; exit 1 if any fails."""
    if name:
        _known_plugin(name)

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
    if not all(r["passed"] for r in results if r["state"] == "started") or (
            name and not results[0]["passed"]):
        sys.exit(1)


@main.group()
def backup() -> None:
    """Archive and restore the host database and every plugin's data."""


def _progress_run(title: str, work: Callable[[Any, Any], Awaitable[Any]]) -> Any:
    from rich.progress import Progress

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
def backup_create(file: Path) -> None:
    """Write an archive of the host database, data directory and plugin handlers."""
    report = _progress_run("backup", lambda host, cb: host.services.backup.create(file, cb))
    click.echo(f"wrote {file}: {sum(report.tables.values())} row(s) in {len(report.tables)} "
               f"tables, {report.files} files, {len(report.handlers)} plugin handler(s)")


@backup.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_restore(file: Path) -> None:
    """Bring the host back to what FILE holds (plugins must be installed)."""
    from ..services.backup import BackupError

    try:
        report = _progress_run("restore",
                               lambda host, cb: host.services.backup.restore(file, cb))
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
    ("new", "scaffold:new", "Create a plugin project ready to test, check and publish."),
    ("check", "check:check", "Check a plugin project, wheel or install before publishing."),
    ("migrate", "migrate:migrate", "Convert a guide-style folder plugin to a distribution."),
    ("install", "install:install", "Install plugins with pip here (live with --url)."),
    ("uninstall", "install:uninstall", "Uninstall plugins with pip (live with --url)."),
    ("upgrade", "install:upgrade", "Upgrade plugins with pip (live with --url)."),
    ("search", "search:search", "Search a plugin catalog; shows what runs on this host."),
):
    plugins.add_command(_Lazy(_name, f"plexichat.cli.{_target}", _help))
