"""``plexichat plugins history`` and ``plexichat plugins rollback``: the plugin set before
each install, upgrade, uninstall and rollback (:mod:`plexichat.devkit.install_history`),
and going back to one with pip."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .install_steps import apply_live, check_plan, report_changes, run_pip_step

if TYPE_CHECKING:
    from ..devkit.install_history import HistoryStep
    from ..devkit.installer import PipIndex

__all__ = ["history", "restore", "rollback"]

_log = logging.getLogger("plexichat.install")


def _steps() -> list[HistoryStep]:
    from ..devkit.install_history import HistoryError, read_history

    try:
        return read_history()
    except HistoryError as exc:
        raise click.ClickException(str(exc)) from None


def _set_text(step: HistoryStep) -> str:
    return ", ".join(f"{p.distribution} {p.version}" for p in step.before) or "no plugins"


@click.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def history(as_json: bool) -> None:
    """List the recorded steps: the plugin set before each install, upgrade, uninstall
    and rollback (distributions, versions, wheel digests where known), the command and
    the time. `plexichat plugins rollback STEP` goes back to the set before STEP."""
    from ..runtime import data_dir

    steps = _steps()
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in steps], indent=2))
        return
    if not steps:
        click.echo(f"no install history in {data_dir().path}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"install history ({data_dir().path})", title_justify="left")
    for column in ("step", "time", "action", "command", "plugins before"):
        table.add_column(column, overflow="fold")
    for step in steps:
        table.add_row(str(step.step), step.time, step.action, " ".join(step.command),
                      _set_text(step))
    Console(width=120).print(table)


def restore(step: HistoryStep, index: PipIndex, *, force: bool, quiet: bool,
            why: str) -> bool:
    """Bring the environment back to the plugin set recorded before ``step``: pip
    installs the recorded versions (plan checked first, as for an install: refused
    unless ``force``), then uninstalls the distributions installed since. The rollback
    is recorded as a step of its own and logged. Returns False when there was nothing
    to do."""
    from ..devkit.install_history import record_step, rollback_changes
    from ..devkit.plugin_set import installed_plugin_set

    current = installed_plugin_set()
    todo = rollback_changes(step.before, current)
    if todo.empty:
        click.echo(f"the plugin set is already the one before step {step.step}")
        return False
    _log.warning("rolling back to the plugin set before step %s (%s): install %s, "
                 "uninstall %s", step.step, why, todo.install or "nothing",
                 todo.uninstall or "nothing")
    with tempfile.TemporaryDirectory(prefix="plexichat-rollback-") as tmp:
        pip_args = [*index.args(), *todo.install]
        if todo.install:
            check_plan(pip_args, Path(tmp), [s.split("==")[0] for s in todo.install],
                       force=force, as_json=False, removing=todo.uninstall)
        record_step("rollback", before=current)
        if todo.install:
            run_pip_step("install", pip_args, quiet=quiet)
    if todo.uninstall:
        run_pip_step("uninstall", todo.uninstall, quiet=quiet)
    for spec in todo.install:
        click.echo(f"restored {spec}")
    for name in todo.uninstall:
        click.echo(f"removed {name}")
    return True


@click.command("rollback")
@click.argument("step_number", metavar="[STEP]", type=int, required=False)
@click.option("--url", envvar="PLEXICHAT_URL", default=None,
              help="A running host (same environment) to rescan afterwards (default: the "
                   "host serving the data directory, if one runs).")
@click.option("--token", envvar="PLEXICHAT_ADMIN_TOKEN", default=None,
              help="Admin token for --url.")
@click.option("--index-url", default=None, metavar="URL",
              help="pip's --index-url, where the earlier versions are found.")
@click.option("--extra-index-url", "extra_index_urls", multiple=True, metavar="URL",
              help="pip's --extra-index-url (repeatable).")
@click.option("--force", is_flag=True,
              help="Roll back even when the plan would break a requirement of the host or "
                   "an installed plugin (logged as a warning).")
@click.option("-q", "--quiet", is_flag=True, help="Do not show pip's output.")
def rollback(step_number: int | None, url: str | None, token: str | None,
             index_url: str | None, extra_index_urls: tuple[str, ...], force: bool,
             quiet: bool) -> None:
    """Restore the plugin set recorded before STEP (default: the last step; see
    `plexichat plugins history`) with pip: plugins installed since are uninstalled,
    upgraded ones go back to their recorded version (found by pip in its index, its
    --find-links or its cache). The plan is checked first, as for install (--force
    overrides a refusal). The rollback itself is recorded as a step."""
    from ..devkit.install_history import HistoryError, find_step
    from ..devkit.installer import PipIndex, changes, snapshot

    try:
        step = find_step(_steps(), step_number)
    except HistoryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"rolling back to the plugin set before step {step.step} "
               f"({step.action}, {step.time}): {_set_text(step)}")
    before = snapshot()
    if not restore(step, PipIndex(index_url, list(extra_index_urls)), force=force,
                   quiet=quiet, why=f"plexichat plugins rollback {step.step}"):
        return
    found = changes(before, snapshot())
    report_changes(found)
    apply_live(url, token, found)
