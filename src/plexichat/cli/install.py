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

import tempfile
from pathlib import Path
from typing import Any

import click

from ..devkit.installer import PipIndex
from .install_steps import (
    apply_live,
    check_plan,
    human,
    install_progress,
    report_changes,
    run_pip_step,
)

__all__ = ["install", "uninstall", "upgrade"]

_url_option = click.option(
    "--url", envvar="PLEXICHAT_URL", default=None,
    help="A running host (same environment) to rescan afterwards, so the change is live "
         "(default: the host serving the data directory, if one runs).")
_token_option = click.option("--token", envvar="PLEXICHAT_ADMIN_TOKEN", default=None,
                             help="Admin token for --url.")


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


def _install(specs: tuple[str, ...], upgrade_: bool, url: str | None, token: str | None,
             quiet: bool, catalog: str | None = None, index: PipIndex | None = None, *,
             force: bool = False, as_json: bool = False, verify: bool = False,
             action: str = "install") -> None:
    from ..devkit.install_outcome import distributions
    from ..devkit.installer import InstallError, prepare, snapshot

    index = index or PipIndex()
    where = None
    if verify:
        from .install_verify import require_host

        with human(as_json):
            where = require_host(url, token)
    with human(as_json):
        specs = _from_catalog(specs, catalog, index)
    before, dists_before = snapshot(), distributions()
    with tempfile.TemporaryDirectory(prefix="plexichat-install-") as tmp:
        try:
            prepared = prepare(specs, Path(tmp))
        except InstallError as exc:
            raise click.ClickException(str(exc)) from None
        pip_args = [*(["--upgrade"] if upgrade_ else []), *index.args(), *prepared.args]
        with human(as_json):
            for note in prepared.notes:
                click.echo(note)
        with install_progress() as phases:
            phases.enter("resolve")
            check_plan(pip_args, Path(tmp), prepared.distributions, force=force,
                       as_json=as_json)
            step = _record(action)
            with human(as_json):
                run_pip_step("install", pip_args, quiet=quiet, on_line=phases.feed)
    with human(as_json):
        if where is None:
            _after(before, dists_before, prepared.distributions, upgrade_, url, token)
            return
        from .install_verify import verify_started

        try:
            found = _after(before, dists_before, prepared.distributions, upgrade_,
                           where.url, where.token)
            problems = verify_started(where, found)
        except click.ClickException as exc:
            problems = [exc.message]
        if problems:
            _undo(step, index, problems, where.url, where.token, quiet)


def _record(action: str) -> Any:
    """Record the plugin set before ``action`` changes it (the install history)."""
    from ..devkit.install_history import HistoryError, record_step

    try:
        return record_step(action)
    except (HistoryError, OSError) as exc:
        raise click.ClickException(f"cannot record the install history, so nothing was "
                                   f"changed: {exc}") from None


def _undo(step: Any, index: PipIndex, problems: list[str], url: str | None,
          token: str | None, quiet: bool) -> None:
    """``--verify`` failed: put back the plugin set recorded before the install, have
    the host rescan, and exit non-zero with the reasons."""
    from ..devkit.installer import changes, snapshot
    from .history import restore

    for problem in problems:
        click.secho(f"error: {problem}", fg="red", err=True)
    click.secho(f"--verify failed: rolling back to the plugin set before step {step.step}",
                fg="yellow", err=True)
    before = snapshot()
    restore(step, index, force=True, quiet=quiet,
            why=f"install --verify failed: {problems[-1]}")
    found = changes(before, snapshot())
    report_changes(found)
    apply_live(url, token, found)
    raise click.ClickException(f"--verify: {problems[-1]}; the environment was rolled back "
                               f"to the plugin set before the install (history step "
                               f"{step.step})")


def _after(before: Any, dists_before: Any, requested: list[str], upgrade_: bool,
           url: str | None, token: str | None) -> list[Any]:
    """Check and report what pip changed; fail when the install missed its purpose.
    Returns the plugins pip changed."""
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
        report_changes(found)
    problems = outcome.problems + apply_live(url, token, found)
    if problems:
        for problem in problems[:-1]:
            click.secho(f"error: {problem}", fg="red", err=True)
        raise click.ClickException(problems[-1])
    return found


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
@click.option("--verify", is_flag=True,
              help="Afterwards each plugin installed must start in the running host "
                   "(--url, else the one serving the data directory), pass its health "
                   "checks and its self-test; otherwise the environment is rolled back "
                   "to the plugin set before the install and the exit status is 1.")
@click.option("-q", "--quiet", is_flag=True, help="Do not show pip's output.")
def install(specs: tuple[str, ...], url: str | None, token: str | None, upgrade_: bool,
            catalog: str | None, index_url: str | None, extra_index_urls: tuple[str, ...],
            force: bool, as_json: bool, verify: bool, quiet: bool) -> None:
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

    Before pip runs, the plugin set is recorded in the install history (`plexichat
    plugins history`; `plexichat plugins rollback` goes back). With --verify, a plugin
    that does not start, is unhealthy or fails its self-test in the running host makes
    the install roll back to that recorded set. A version a plugin catalog marks
    blocked is refused, --force or not.
    """
    _install(specs, upgrade_, url, token, quiet, catalog,
             PipIndex(index_url, list(extra_index_urls)), force=force, as_json=as_json,
             verify=verify)


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
             index=PipIndex(index_url, list(extra_index_urls)), force=force, as_json=as_json,
             action="upgrade")


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
    _record("uninstall")
    run_pip_step("uninstall", dists, quiet=quiet)
    found = changes(before, snapshot())
    report_changes(found)
    apply_live(url, token, found)
