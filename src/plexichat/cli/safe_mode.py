"""``plexichat safe-mode``: see and leave safe mode; and the boot count ``serve`` keeps.

How a host enters and leaves safe mode is :mod:`plexichat.boot`'s to say; this module
is the operator's side of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..boot import READY_WITHIN, SAFE_MODE_AFTER, BootRecord, read_boot_record

__all__ = ["boot_for_serve", "safe_mode"]

FORCED = "started with --safe-mode"
"""The safe-mode reason of ``plexichat serve --safe-mode``."""


def boot_for_serve(directory: Path, forced: bool) -> tuple[str, BootRecord | None]:
    """What ``plexichat serve`` does with the boot record of ``directory``.

    Returns ``(safe-mode reason, record)``: a safe-mode start (``forced``, or too many
    failed starts) gets its reason and no record (it neither adds to the count nor
    clears it); a normal start gets ``""`` and the record, already counting this start
    as failed until it reaches ready.
    """
    if forced:
        return FORCED, None
    record = read_boot_record(directory)
    if record.safe_mode:
        return record.reason(), None
    record.begin()
    return "", record


@click.group("safe-mode")
def safe_mode() -> None:
    """See whether the next start is in safe mode (no plugin imported), and leave it.

    The host starts in safe mode by itself after 3 starts in a row that did not reach
    ready within 10 minutes, and stays in it until 'plexichat safe-mode clear'.
    """


def _directory() -> Path:
    from ..runtime import data_dir

    return data_dir().path


@safe_mode.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def status(as_json: bool) -> None:
    """Show the failed-start count of the data directory and whether the next start is
    in safe mode."""
    record = read_boot_record(_directory())
    if as_json:
        click.echo(json.dumps({"safe_mode": record.safe_mode, "reason": record.reason(),
                               "failed_starts": record.failed_starts,
                               "safe_mode_after": SAFE_MODE_AFTER,
                               "ready_within_seconds": READY_WITHIN,
                               "file": str(record.path)}))
        return
    if record.safe_mode:
        click.echo(f"safe mode: {record.reason()}")
    else:
        click.echo(f"normal start: {record.failed_starts} failed start(s) in a row "
                   f"(safe mode after {SAFE_MODE_AFTER})")


@safe_mode.command("clear")
def clear() -> None:
    """Leave safe mode: the next start imports the plugins again.

    Disable, uninstall or roll back the plugin at fault first (the host in safe mode
    serves the web UI, the plugin API and the CLI for that), then clear and restart.
    """
    record = read_boot_record(_directory())
    was = record.failed_starts
    try:
        record.clear()
    except OSError as exc:
        raise click.ClickException(f"cannot write {record.path}: {exc}") from None
    click.echo(f"cleared {was} failed start(s): the next start is a normal one "
               "(restart the host to leave safe mode)")
