"""Steps shared by the commands that change the plugin set with pip (install, upgrade,
uninstall, rollback): pip's run, streamed, and the plan checked before it."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..kernel.states import PluginState

if TYPE_CHECKING:
    from ..devkit.install_plan import InstallPlan
    from ..devkit.install_progress import PhaseTracker

__all__ = ["apply_live", "check_plan", "human", "install_progress", "report_changes",
           "run_pip_step", "show_plan"]

_log = logging.getLogger("plexichat.install")


def run_pip_step(action: str, args: list[str], *, quiet: bool,
                 on_line: Callable[[str], None] | None = None) -> None:
    """Run pip's ``action`` with ``args`` here, its output streamed to stderr (unless
    ``quiet``); a failure exits with pip's status."""
    from ..devkit.installer import InstallError, pip_command, run_pip

    try:
        command = pip_command(action, args)
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
    click.secho(f"$ {' '.join(command)}", dim=True, err=True)

    def show(line: str) -> None:
        if on_line is not None:
            on_line(line)
        if not quiet:
            click.secho(f"  {line}", dim=True, err=True)

    code = run_pip(command, show)
    if code != 0:
        raise click.ClickException(f"pip {action} failed (exit status {code}); see its "
                                   "output above")


def show_plan(plan: InstallPlan) -> None:
    """The plan as a table: each distribution added or replaced, and its versions."""
    from rich.console import Console
    from rich.table import Table

    if not plan.changes:
        click.echo("plan: pip would change no distribution")
        return
    table = Table(title="plan: what pip would install", title_justify="left")
    for column in ("distribution", "change", "installed", "after"):
        table.add_column(column)
    for change in plan.changes:
        style = "red" if change.change == "downgraded" else ""
        table.add_row(change.distribution + (" (requested)" if change.requested else ""),
                      change.change, change.previous or "-", change.version, style=style)
    Console(file=sys.stdout, width=100, soft_wrap=True).print(table)


def check_plan(pip_args: list[str], workdir: Path, exclude: list[str], *, force: bool,
               as_json: bool, removing: list[str] | None = None) -> None:
    """Resolve the install without performing it, show the plan, and refuse one that
    would break an installed distribution's requirement (unless ``force``) or install a
    version a plugin catalog blocks. ``removing``: distributions uninstalled right
    after (a rollback), whose requirements no longer count."""
    from ..devkit.install_plan import plan_install
    from ..devkit.installer import InstallError

    try:
        plan = plan_install(pip_args, workdir, exclude=exclude, removing=removing or ())
    except InstallError as exc:
        if not force:
            raise click.ClickException(str(exc)) from None
        _log.warning("installing without a plan (--force): %s", exc)
        click.secho(f"warning: --force: installing without a plan: {exc}", fg="yellow",
                    err=True)
        return
    if as_json:
        click.echo(json.dumps(plan.as_dict(), indent=2))
    else:
        show_plan(plan)
    if plan.blocked:
        for message in plan.blocked[:-1]:
            click.secho(f"error: {message}", fg="red", err=True)
        raise click.ClickException(f"{plan.blocked[-1]}\nrefused: the host would reject "
                                   "it; nothing was changed (--force does not override "
                                   "a blocked version)")
    if plan.ok:
        return
    messages = [c.message() for c in plan.conflicts]
    if force:
        for message in messages:
            _log.warning("installing despite a conflict (--force): %s", message)
            click.secho(f"warning: --force: {message}", fg="yellow", err=True)
        return
    for message in messages[:-1]:
        click.secho(f"error: {message}", fg="red", err=True)
    raise click.ClickException(f"{messages[-1]}\nrefused: the install would break what is "
                               "installed; nothing was changed (--force installs anyway)")


@contextlib.contextmanager
def install_progress() -> Iterator[PhaseTracker]:
    """The install's phases on stderr: a line for each phase entered, and while stderr
    is a terminal a rich progress display (spinner, phase, elapsed time) below pip's
    output. Never on stdout, which carries the JSON plan with ``--json``."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..devkit.install_progress import PHASES, PhaseTracker

    console = Console(stderr=True, highlight=False)
    # stdout written while the display runs is printed above it when both reach the
    # same terminal; piped stdout (the --json plan) is left alone
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=console, transient=True,
                  redirect_stdout=sys.stdout.isatty(),
                  disable=not console.is_terminal) as progress:
        task = progress.add_task("starting", total=len(PHASES))

        def entered(phase: str) -> None:
            progress.update(task, description=f"{phase}…", completed=PHASES.index(phase))
            console.print(f"phase: {phase}", markup=False)

        yield PhaseTracker(entered)


def human(as_json: bool) -> contextlib.AbstractContextManager[Any]:
    """Where messages for people go: stdout, or stderr when stdout carries the JSON
    plan."""
    return contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()


def report_changes(found: list[Any]) -> None:
    """Say what pip added, removed or changed, and whether each plugin would start."""
    if not found:
        click.echo("no plugin was added, removed or changed")
        return
    for change in found:
        version = (f"{change.previous} → {change.version}" if change.previous
                   else change.version)
        head = f"{change.name} ({change.distribution} {version}): {change.change}"
        if change.change == "removed":
            click.echo(head)
        elif change.state == PluginState.AVAILABLE.value:
            click.echo(f"{head}, checks passed: a host starting now would start it")
        else:
            click.secho(f"{head}, but it will not be started: {change.state}: "
                        f"{change.reason}", fg="yellow")
        for warning in change.warnings:
            click.secho(f"  warning: {warning}", fg="yellow")


def apply_live(url: str | None, token: str | None, found: list[Any]) -> list[str]:
    """Have the running host (``url``, else the one serving the data directory) rescan;
    return why plugins just installed did not start there (empty when they did, or when
    no host runs)."""
    from .target import STORED, target

    where = target(url, token)  # default: the host serving the data directory
    url, token = where.url, where.token
    if not url:
        if found:
            click.echo(f"{STORED}: no host is serving {where.data_dir.path} (another host "
                       "picks it up with --url/--token: POST /api/v1/plugins/rescan)")
        return []
    click.echo(f"applied to the running host at {url}:")
    from . import _remote

    result = _remote(url, token, "POST", "/api/v1/plugins/rescan")
    elsewhere = ""
    if result.get("python") and Path(result["python"]).resolve() != Path(
            sys.executable).resolve():
        elsewhere = (f"the host at {url} runs {result['python']}, not this environment's "
                     f"{sys.executable}: it cannot see what pip did here")
        click.secho(f"warning: {elsewhere}", fg="yellow", err=True)
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
    problems = []
    for change in found:
        if change.change != "installed" or change.state != PluginState.AVAILABLE.value:
            continue  # upgrades need a restart; a rejected or disabled one is reported
        if change.name in result.get("not_started", {}):
            problems.append(f"{change.name} did not start at {url}: "
                            f"{result['not_started'][change.name]}")
        elif change.name not in result.get("started", []):
            problems.append(f"{change.name} did not start at {url}: the host did not pick "
                            f"it up ({elsewhere or 'it was not among the plugins it added'})")
    return problems
