"""What the CLI shows: the plugin list, one plugin, the host's status.

Live from the host serving the data directory when one runs (:mod:`plexichat.runtime`),
otherwise — or with ``--static`` — the manifest view of :mod:`plexichat.listing`, which
never imports plugin code. Tables are drawn with rich and fit 80 columns.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..kernel.states import STATE_STYLE

if TYPE_CHECKING:
    from .target import Target

__all__ = ["plugins_info", "plugins_list", "status"]

_static_option = click.option(
    "--static", is_flag=True,
    help="The manifest view (available, rejected, disabled), even when a host runs; "
         "never imports plugin code.")

_COLOURS = {style.label: style.colour for style in STATE_STYLE.values()}
_COLOURS["degraded"] = "yellow"  # the host's health, shown next to plugin states


def _state(state: str) -> str:
    """``state`` in its colour (rich markup); plugin states' colours are in
    :data:`~plexichat.kernel.states.STATE_STYLE`."""
    return f"[{_COLOURS.get(state, 'white')}]{state}[/]"


def _console() -> Any:
    from rich.console import Console

    return Console()


def _live_target(static: bool) -> Target | None:
    """The running host to ask, or None (``--static``, or none serves the data dir)."""
    if static:
        return None
    from .target import target

    where = target()
    return where if where.live else None


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@_static_option
def plugins_list(as_json: bool, static: bool) -> None:
    """List installed plugins with their states and reasons.

    When a host serves the data directory, its live states (started, failed,
    quarantined, disabled, rejected …); otherwise, or with --static, the manifest view
    (available, rejected or disabled).
    """
    where = _live_target(static)
    if where is not None:
        items = where.call("GET", "/api/v1/plugins", admin=False)
        source = f"live, from the host at {where.url}"
    else:
        from ..listing import static_listing

        items = [i.as_dict() for i in static_listing()]
        source = "static view" + ("" if static else ": no host is serving "
                                  f"{_data_dir().path}")
    if as_json:
        json.dump(items, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"PlexiChat {__version__}: {len(items)} plugin(s)",
                  caption=source, expand=False)
    table.add_column("name", overflow="fold", ratio=2)
    table.add_column("version", overflow="fold", ratio=1)
    table.add_column("state", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=4)
    for i in items:
        warned = len(i.get("warnings") or [])
        note = (f"{'; ' if i['reason'] else ''}{warned} warning(s): plexichat plugins info "
                f"{i['name']}" if warned else "")
        table.add_row(escape(i["name"]), escape(i["version"]), _state(i["state"]),
                      escape(i["reason"] + note))
    _console().print(table)


def _data_dir() -> Any:
    from ..runtime import data_dir

    return data_dir()


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@_static_option
def plugins_info(name: str, as_json: bool, static: bool) -> None:
    """Show one installed plugin: state, reason, failures, manifest, warnings.

    Live from the host serving the data directory when one runs (with the errors and
    tracebacks it recorded); otherwise, or with --static, the manifest view.
    """
    from ..listing import static_listing

    matches = [i.as_dict(with_manifest=True) for i in static_listing() if i.name == name]
    info: dict[str, Any] = matches[0] if matches else {}
    where = _live_target(static)
    if where is not None:
        from .target import HostError

        try:
            info.update(where.call("GET", f"/api/v1/plugins/{name}", admin=False))
        except HostError as exc:
            if exc.status != 404:
                raise
        else:
            info["host"] = where.url
    if not info:
        raise click.ClickException(
            f"no plugin named {name!r} is installed (see 'plexichat plugins list')"
        )
    if as_json:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    _print_info(info)


def _print_info(info: dict[str, Any]) -> None:
    from rich.markup import escape

    console = _console()

    def line(label: str, value: str) -> None:
        console.print(f"{label}: {value}", highlight=False)

    console.print(f"[bold]{escape(info['name'])}[/] {info.get('version', '')} "
                  f"({info.get('type', '')})", highlight=False)
    line("state", _state(info["state"]) + (f" — {escape(info['reason'])}"
                                            if info.get("reason") else ""))
    line("source", f"live, from {info['host']}" if info.get("host") else "static view")
    line("distribution", f"{info.get('distribution', '')} "
                         f"{info.get('distribution_version', '')}")
    for key, label in (("entry_point", "entry point"), ("manifest_file", "manifest")):
        if key in info:
            line(label, escape(info[key] or "(none; defaults apply)"))
    for key, label in (("permissions_granted", "granted"), ("hooks", "hooks")):
        if info.get(key):
            line(label, ", ".join(info[key]))
    if isinstance(info.get("timings"), dict):
        line("start", _start_timings(info["timings"]))
    for warning in info.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    for problem in info.get("problems") or []:
        console.print(f"[red]problem:[/] {escape(problem)}", highlight=False)
    failures = info.get("failures")
    if isinstance(failures, list) and failures:
        console.print(f"[bold]failures[/] ({len(failures)}, newest last):")
        for failure in failures:
            _print_failure(console, failure)
    if info.get("manifest"):
        console.print("[bold]manifest[/] (plugin.json):")
        console.print_json(json.dumps(info["manifest"]))


def _start_timings(timings: dict[str, Any]) -> str:
    """``0.270 s (import 0.012 s, …)``: the last start and each of its steps reached."""
    from ..kernel.startup import START_PHASES

    def seconds(value: Any) -> str:
        return f"{value:.3f} s" if isinstance(value, (int, float)) else "?"

    steps = [f"{label} {seconds(timings.get(f'{phase}_seconds'))}"
             for phase, label in START_PHASES.items()
             if timings.get(f"{phase}_seconds") is not None]
    total = timings.get("total_seconds")
    head = seconds(total) if total is not None else "still starting"
    return head + (f" ({', '.join(steps)})" if steps else "")


def _print_failure(console: Any, failure: Any) -> None:
    """One entry of the host's ``failures`` list, whatever fields it has."""
    from rich.markup import escape

    if not isinstance(failure, dict):
        console.print(f"  - {escape(str(failure))}", highlight=False)
        return
    at = failure.get("at")
    if isinstance(at, (int, float)):
        import datetime

        at = datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S UTC")
    head = f"{failure.get('hook') or '?'}: {failure.get('error', '')}"
    console.print(f"  - {escape(head)}" + (f" ({escape(str(at))})" if at else ""),
                  highlight=False)
    trace = failure.get("traceback")
    if isinstance(trace, list):
        trace = "".join(str(line) for line in trace)
    if trace:
        for line in str(trace).rstrip().splitlines():
            console.print(f"      {escape(line)}", highlight=False, soft_wrap=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def status(as_json: bool) -> None:
    """Data directory, database, the host serving it (if any), plugin counts by state."""
    from collections import Counter

    from ..runtime import find_running_host, mask_database_url

    directory = _data_dir()
    lookup = find_running_host(directory.path)
    running = lookup.host
    database = running.record.database_url if running is not None else (
        os.environ.get("PLEXICHAT_DATABASE_URL") or f"sqlite:///{directory.database_file}")
    if running is not None:
        import httpx

        try:
            plugins_ = httpx.get(running.url + "/api/v1/plugins", timeout=10,
                                 trust_env=False).json()
            counted, source = Counter(p["state"] for p in plugins_), "live"
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise click.ClickException(f"the host at {running.url} did not list its "
                                       f"plugins: {exc}") from None
    else:
        from ..listing import static_listing

        counted, source = Counter(i.state for i in static_listing()), "static"
    report: dict[str, Any] = {
        "data_dir": str(directory.path),
        "data_dir_source": directory.source,
        "database_url": mask_database_url(database),
        "database_exists": (True if os.environ.get("PLEXICHAT_DATABASE_URL")
                            else directory.database_file.is_file()),
        "host": None if running is None else {
            "url": running.url, "pid": running.pid, "python": running.record.python,
            "started_at": running.record.started_at},
        "host_ignored": lookup.ignored,
        "plugins": {"source": source, "counts": dict(sorted(counted.items()))},
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("data directory:", escape(f"{report['data_dir']} "
                                          f"(from {report['data_dir_source']})"))
    grid.add_row("database:", escape(report["database_url"]) + (
        "" if report["database_exists"] else " [yellow](not created yet)[/]"))
    if running is not None:
        grid.add_row("host:", f"running at {running.url}, pid {running.pid}")
    else:
        grid.add_row("host:", "not running" + (f" (ignored {escape(lookup.ignored)})"
                                               if lookup.ignored else ""))
    counts = ", ".join(f"{n} {_state(state)}" for state, n in sorted(counted.items()))
    grid.add_row("plugins:", f"{counts or 'none installed'} ({source})")
    _console().print(grid)
