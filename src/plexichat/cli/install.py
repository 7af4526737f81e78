"""``plexichat plugins install|uninstall|upgrade``: pip in the host's environment.

pip's output is streamed as it runs. Afterwards each plugin that changed is checked
as a starting host would check it (manifest, compatibility, dependencies; nothing
imported). With ``--url`` the running host at that URL rescans its plugins, so an
install is served and an uninstall vanishes without a restart.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click

__all__ = ["install", "uninstall", "upgrade"]

_url_option = click.option(
    "--url", envvar="PLEXICHAT_URL", default=None,
    help="A running host (same environment) to rescan afterwards, so the change is live "
         "(default: the host serving the data directory, if one runs).")
_token_option = click.option("--token", envvar="PLEXICHAT_ADMIN_TOKEN", default=None,
                             help="Admin token for --url.")


def _run(action: str, args: list[str], *, quiet: bool) -> None:
    from ..installer import InstallError, pip_command, run_pip

    try:
        command = pip_command(action, args)
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
    click.secho(f"$ {' '.join(command)}", dim=True, err=True)

    def show(line: str) -> None:
        if not quiet:
            click.secho(f"  {line}", dim=True, err=True)

    code = run_pip(command, show)
    if code != 0:
        raise click.ClickException(f"pip {action} failed (exit status {code}); see its "
                                   "output above")


def _report(found: list[Any]) -> None:
    if not found:
        click.echo("no plugin was added, removed or changed")
        return
    for change in found:
        version = (f"{change.previous} → {change.version}" if change.previous
                   else change.version)
        head = f"{change.name} ({change.distribution} {version}): {change.change}"
        if change.change == "removed":
            click.echo(head)
        elif change.state == "available":
            click.echo(f"{head}, checks passed: a host starting now would start it")
        else:
            click.secho(f"{head}, but it will not be started: {change.state}: "
                        f"{change.reason}", fg="yellow")
        for warning in change.warnings:
            click.secho(f"  warning: {warning}", fg="yellow")


def _live(url: str | None, token: str | None, found: list[Any]) -> None:
    from .target import STORED, target

    where = target(url, token)  # default: the host serving the data directory
    url, token = where.url, where.token
    if not url:
        if found:
            click.echo(f"{STORED}: no host is serving {where.data_dir.path} (another host "
                       "picks it up with --url/--token: POST /api/v1/plugins/rescan)")
        return
    click.echo(f"applied to the running host at {url}:")
    from . import _remote

    result = _remote(url, token, "POST", "/api/v1/plugins/rescan")
    if result.get("python") and Path(result["python"]).resolve() != Path(
            sys.executable).resolve():
        click.secho(f"warning: the host at {url} runs {result['python']}, not this "
                    f"environment's {sys.executable}: it cannot see what pip did here",
                    fg="yellow", err=True)
    states = {p["name"]: p for p in result.get("plugins", [])}
    for name in result.get("started", []):
        click.echo(f"{url}: {name} started")
    for name in result.get("removed", []):
        click.echo(f"{url}: {name} removed (stopped, routes gone)")
    for name, reason in result.get("stopped", {}).items():
        click.secho(f"{url}: {name} stopped: {reason}", fg="yellow")
    for name in result.get("restart_required", []):
        reason = states.get(name, {}).get("reason") or "restart required"
        click.secho(f"{url}: {name}: {reason}", fg="yellow")
    for name, reason in result.get("not_started", {}).items():
        click.secho(f"{url}: {name} not started: {reason}", fg="yellow")
    if not any(result.get(k) for k in ("added", "removed", "upgraded", "stopped")):
        click.echo(f"{url}: rescanned; nothing changed there")


def _from_catalog(specs: tuple[str, ...], source: str | None) -> tuple[str, ...]:
    """Plugin names the catalog (``--catalog`` / PLEXICHAT_CATALOG) lists become the
    URL of the newest wheel this host can run; every other spec is left alone."""
    import re

    if source is None:
        from ..config import HostSettings

        source = HostSettings().catalog
    names = [s for s in specs if re.match(r"^[A-Za-z][A-Za-z0-9_]*$", s)
             and not Path(s).exists()]
    if not source or not names:
        return specs
    from ..catalog import CatalogError, load_catalog, search

    try:
        entries = load_catalog(source)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    chosen: dict[str, str] = {}
    for result in search(entries):
        name = result.entry.name
        if name not in names:
            continue
        version = result.entry.version if result.compatible else result.compatible_version
        if version is None:
            raise click.ClickException(f"{name} in {source}: {result.reason}")
        entry = next(e for e in entries if e.name == name and e.version == version)
        if entry.url:
            chosen[name] = entry.url
            click.echo(f"{name}: {entry.distribution or name} {version} from {source}")
    return tuple(chosen.get(s, s) for s in specs)


def _install(specs: tuple[str, ...], upgrade_: bool, url: str | None, token: str | None,
             quiet: bool, catalog: str | None = None) -> None:
    from ..installer import InstallError, changes, prepare_specs, snapshot, static_check

    specs = _from_catalog(specs, catalog)
    before = snapshot()
    with tempfile.TemporaryDirectory(prefix="plexichat-install-") as tmp:
        try:
            args, notes = prepare_specs(specs, Path(tmp))
        except InstallError as exc:
            raise click.ClickException(str(exc)) from None
        for note in notes:
            click.echo(note)
        _run("install", [*(["--upgrade"] if upgrade_ else []), *args], quiet=quiet)
    found = static_check(changes(before, snapshot()))
    _report(found)
    _live(url, token, found)


@click.command("install")
@click.argument("specs", metavar="SPEC...", nargs=-1, required=True)
@_url_option
@_token_option
@click.option("--upgrade", "upgrade_", is_flag=True, help="Pass --upgrade to pip.")
@click.option("--catalog", default=None, metavar="PATH_OR_URL",
              help="Take plugin names listed in this catalog from it (default: "
                   "PLEXICHAT_CATALOG).")
@click.option("-q", "--quiet", is_flag=True, help="Do not show pip's output.")
def install(specs: tuple[str, ...], url: str | None, token: str | None, upgrade_: bool,
            catalog: str | None, quiet: bool) -> None:
    """Install plugins with pip into this (the host's) environment.

    SPEC is a distribution name or requirement, a wheel or sdist, a project directory,
    or a guide-style folder plugin or .zip of one (converted first, as `plexichat
    plugins migrate` does). A plugin name listed in the catalog (--catalog or
    PLEXICHAT_CATALOG) is installed from the catalog's newest wheel this host can run.
    Each installed plugin is checked (manifest, compatibility, dependencies); one that
    fails stays installed but is not started, with the reason. With --url the running
    host starts it at once.
    """
    _install(specs, upgrade_, url, token, quiet, catalog)


@click.command("upgrade")
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@_url_option
@_token_option
@click.option("-q", "--quiet", is_flag=True, help="Do not show pip's output.")
def upgrade(names: tuple[str, ...], url: str | None, token: str | None, quiet: bool) -> None:
    """Upgrade installed plugins (by plugin or distribution name, or a newer wheel /
    project path) with pip install --upgrade. A running host keeps the code it has
    imported until restarted, and says "restart required"."""
    from ..installer import InstallError, distributions_for

    specs = []
    for name in names:
        if Path(name).exists():
            specs.append(name)
            continue
        try:
            specs += distributions_for([name])
        except InstallError as exc:
            raise click.ClickException(str(exc)) from None
    _install(tuple(specs), True, url, token, quiet)


@click.command("uninstall")
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@_url_option
@_token_option
@click.option("-q", "--quiet", is_flag=True, help="Do not show pip's output.")
def uninstall(names: tuple[str, ...], url: str | None, token: str | None, quiet: bool) -> None:
    """Uninstall plugins (by plugin or distribution name) with pip. With --url the
    running host stops them and drops their routes at once. Their settings and grants
    stay in the host database, for a later reinstall."""
    from ..installer import InstallError, changes, distributions_for, snapshot

    try:
        dists = distributions_for(names)
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
    before = snapshot()
    _run("uninstall", dists, quiet=quiet)
    found = changes(before, snapshot())
    _report(found)
    _live(url, token, found)
