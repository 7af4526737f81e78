"""``plexichat plugins install|uninstall|upgrade``: pip in the host's environment.

pip's output is streamed as it runs, and the install's phases (resolve, download,
build, install: :mod:`plexichat.devkit.install_progress`) are shown on stderr, with a
rich progress display when stderr is a terminal; stdout stays machine-readable with
``--json``. Afterwards each plugin that changed is checked
as a starting host would check it (manifest, compatibility, dependencies; nothing
imported). With ``--url`` the running host at that URL rescans its plugins, so an
install is served and an uninstall vanishes without a restart.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..devkit.installer import PipIndex
from ..kernel.states import PluginState

if TYPE_CHECKING:
    from ..devkit.install_plan import InstallPlan
    from ..devkit.install_progress import PhaseTracker

__all__ = ["install", "uninstall", "upgrade"]

_log = logging.getLogger("plexichat.install")

_url_option = click.option(
    "--url", envvar="PLEXICHAT_URL", default=None,
    help="A running host (same environment) to rescan afterwards, so the change is live "
         "(default: the host serving the data directory, if one runs).")
_token_option = click.option("--token", envvar="PLEXICHAT_ADMIN_TOKEN", default=None,
                             help="Admin token for --url.")


def _run(action: str, args: list[str], *, quiet: bool,
         on_line: Callable[[str], None] | None = None) -> None:
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
        elif change.state == PluginState.AVAILABLE.value:
            click.echo(f"{head}, checks passed: a host starting now would start it")
        else:
            click.secho(f"{head}, but it will not be started: {change.state}: "
                        f"{change.reason}", fg="yellow")
        for warning in change.warnings:
            click.secho(f"  warning: {warning}", fg="yellow")


def _live(url: str | None, token: str | None, found: list[Any]) -> list[str]:
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


def _from_catalog(specs: tuple[str, ...], source: str | None,
                  index: PipIndex | None = None) -> tuple[str, ...]:
    """Plugin names the catalog (``--catalog`` / PLEXICHAT_CATALOG) lists become what pip
    installs (:func:`plexichat.devkit.installer.from_catalog`); every other spec is left alone."""
    from ..devkit.installer import InstallError, from_catalog

    if source is None:
        from ..config import HostSettings

        source = HostSettings().catalog
    try:
        out, picks = from_catalog(specs, source, index or PipIndex())
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
    for pick in picks:
        click.echo(f"{pick.name}: {pick.distribution} {pick.version} from {source}")
    picked = {p.name for p in picks}
    for spec in specs:
        if source and spec.isidentifier() and spec not in picked and not Path(spec).exists():
            click.echo(f"{spec}: not in {source}; pip resolves it as a requirement")
    return tuple(out)


def _show_plan(plan: InstallPlan) -> None:
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


@contextlib.contextmanager
def _progress() -> Iterator[PhaseTracker]:
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


def _plan(pip_args: list[str], workdir: Path, exclude: list[str], *, force: bool,
          as_json: bool) -> None:
    """Resolve the install without performing it, show the plan, and refuse one that
    would break an installed distribution's requirement (unless ``force``)."""
    from ..devkit.install_plan import plan_install
    from ..devkit.installer import InstallError

    try:
        plan = plan_install(pip_args, workdir, exclude=exclude)
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
        _show_plan(plan)
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


def _human(as_json: bool) -> contextlib.AbstractContextManager[Any]:
    """Where messages for people go: stdout, or stderr when stdout carries the JSON
    plan."""
    return contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()


def _install(specs: tuple[str, ...], upgrade_: bool, url: str | None, token: str | None,
             quiet: bool, catalog: str | None = None, index: PipIndex | None = None, *,
             force: bool = False, as_json: bool = False) -> None:
    from ..devkit.install_outcome import distributions
    from ..devkit.installer import InstallError, prepare, snapshot

    index = index or PipIndex()
    with _human(as_json):
        specs = _from_catalog(specs, catalog, index)
    before, dists_before = snapshot(), distributions()
    with tempfile.TemporaryDirectory(prefix="plexichat-install-") as tmp:
        try:
            prepared = prepare(specs, Path(tmp))
        except InstallError as exc:
            raise click.ClickException(str(exc)) from None
        pip_args = [*(["--upgrade"] if upgrade_ else []), *index.args(), *prepared.args]
        with _human(as_json):
            for note in prepared.notes:
                click.echo(note)
        with _progress() as phases:
            phases.enter("resolve")
            _plan(pip_args, Path(tmp), prepared.distributions, force=force,
                  as_json=as_json)
            with _human(as_json):
                _run("install", pip_args, quiet=quiet, on_line=phases.feed)
    with _human(as_json):
        _after(before, dists_before, prepared.distributions, upgrade_, url, token)


def _after(before: Any, dists_before: Any, requested: list[str], upgrade_: bool,
           url: str | None, token: str | None) -> None:
    """Check and report what pip changed; fail when the install missed its purpose."""
    from ..devkit.install_outcome import assess, distributions
    from ..devkit.installer import changes, snapshot, static_check

    found = static_check(changes(before, snapshot()))
    outcome = assess(found, requested, dists_before, distributions())
    if outcome.already_installed:
        names = ", ".join(outcome.already_installed)
        click.echo(f"already the newest version pip finds, nothing changed: {names}"
                   if upgrade_ else f"already installed, nothing changed: {names} "
                   "(--upgrade for a newer version)")
    else:
        _report(found)
    problems = outcome.problems + _live(url, token, found)
    if problems:
        for problem in problems[:-1]:
            click.secho(f"error: {problem}", fg="red", err=True)
        raise click.ClickException(problems[-1])


_index_options = [
    click.option("--index-url", default=None, metavar="URL",
                 help="pip's --index-url: a PEP 503 index to install from instead of PyPI."),
    click.option("--extra-index-url", "extra_index_urls", multiple=True, metavar="URL",
                 help="pip's --extra-index-url (repeatable)."),
]


def _with_index_options(f: Any) -> Any:
    for option in reversed(_index_options):
        f = option(f)
    return f


def _plan_options(f: Any) -> Any:
    f = click.option("--json", "as_json", is_flag=True,
                     help="Print the plan as JSON on stdout (other messages go to "
                          "stderr).")(f)
    return click.option("--force", is_flag=True,
                        help="Install even when the plan would break a requirement of "
                             "the host or an installed plugin (logged as a warning).")(f)


@click.command("install")
@click.argument("specs", metavar="SPEC...", nargs=-1, required=True)
@_url_option
@_token_option
@click.option("--upgrade", "upgrade_", is_flag=True, help="Pass --upgrade to pip.")
@click.option("--catalog", default=None, metavar="PATH_OR_URL",
              help="Take plugin names listed in this catalog (a JSON index or a PEP 503 "
                   "simple index, a path or an http(s) URL) from it (default: "
                   "PLEXICHAT_CATALOG).")
@_with_index_options
@_plan_options
@click.option("-q", "--quiet", is_flag=True, help="Do not show pip's output.")
def install(specs: tuple[str, ...], url: str | None, token: str | None, upgrade_: bool,
            catalog: str | None, index_url: str | None, extra_index_urls: tuple[str, ...],
            force: bool, as_json: bool, quiet: bool) -> None:
    """Install plugins with pip into this (the host's) environment.

    SPEC is an http(s) URL of a wheel or sdist, a local wheel or sdist, a project
    directory, a guide-style folder plugin or .zip of one (converted first, as `plexichat
    plugins migrate` does), or a requirement (a distribution name, `name>=1.0`, `name @
    URL`) that pip resolves from its index (--index-url / --extra-index-url). A plugin
    name listed in the catalog (--catalog or PLEXICHAT_CATALOG) is installed at the
    newest version this host can run: the wheel a JSON catalog names (relative URLs
    resolved against the catalog's), or from a PEP 503 catalog as pip's index.

    pip first resolves the install without performing it, with the host and the
    installed plugins pinned; the plan (each distribution added, upgraded, downgraded) is
    shown, and a plan that would move a distribution outside the range the host or
    another installed distribution requires is refused, naming who requires what, with
    nothing changed (--force installs anyway).

    Each installed plugin is checked (manifest, compatibility, dependencies). The exit
    status is non-zero when the plan is refused, when nothing was installed, when a
    distribution installed has no plexichat.plugins entry point (the pyproject.toml table
    that adds it is shown), when a plugin installed would not start (its reason is shown;
    it stays installed), and, with --url, when the running host does not start it.
    """
    _install(specs, upgrade_, url, token, quiet, catalog,
             PipIndex(index_url, list(extra_index_urls)), force=force, as_json=as_json)


@click.command("upgrade")
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@_url_option
@_token_option
@_with_index_options
@_plan_options
@click.option("-q", "--quiet", is_flag=True, help="Do not show pip's output.")
def upgrade(names: tuple[str, ...], url: str | None, token: str | None,
            index_url: str | None, extra_index_urls: tuple[str, ...], force: bool,
            as_json: bool, quiet: bool) -> None:
    """Upgrade installed plugins (by plugin or distribution name, or a newer wheel's
    http(s) URL or path, or a project path) with pip install --upgrade, from pip's index
    (--index-url / --extra-index-url). A running host keeps the code it has imported
    until restarted, and says "restart required". The plan is checked first, as for
    install."""
    from ..devkit.install_specs import SpecError, SpecKind, classify_spec
    from ..devkit.installer import InstallError, distributions_for

    specs = []
    for name in names:
        try:
            kind = classify_spec(name).kind
        except SpecError:
            kind = None
        if kind not in (None, SpecKind.REQUIREMENT):
            specs.append(name)  # a URL or an existing path: installed as it is
            continue
        try:
            specs += distributions_for([name])
        except InstallError as exc:
            raise click.ClickException(str(exc)) from None
    _install(tuple(specs), True, url, token, quiet,
             index=PipIndex(index_url, list(extra_index_urls)), force=force, as_json=as_json)


@click.command("uninstall")
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@_url_option
@_token_option
@click.option("-q", "--quiet", is_flag=True, help="Do not show pip's output.")
def uninstall(names: tuple[str, ...], url: str | None, token: str | None, quiet: bool) -> None:
    """Uninstall plugins (by plugin or distribution name) with pip. With --url the
    running host stops them and drops their routes at once. Their settings and grants
    stay in the host database, for a later reinstall."""
    from ..devkit.installer import InstallError, changes, distributions_for, snapshot

    try:
        dists = distributions_for(names)
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
    before = snapshot()
    _run("uninstall", dists, quiet=quiet)
    found = changes(before, snapshot())
    _report(found)
    _live(url, token, found)
