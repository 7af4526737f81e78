"""``plexichat plugins migrate``: a guide-style folder plugin → a distribution."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

__all__ = ["migrate"]


@click.command("migrate")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The project directory to write (default: ./plexichat-<name>).")
@click.option("--force", is_flag=True, help="Write into an output directory that is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def migrate(folder: Path, out: Path | None, force: bool, as_json: bool) -> None:
    """Convert a folder plugin (plugin.json + main.py, optional ui/, docs/, tests/,
    requirements.txt) into a pip-installable distribution: a hatchling pyproject whose
    entry point comes from plugin.json's entry_point, the files inside a package named
    after the plugin, imports of the old plugin manager pointed at plexichat, and
    standard-library imports the code forgot added. Every change is listed (and kept in
    MIGRATION.md)."""
    from ..devkit.migrate import MigrationError
    from ..devkit.migrate import migrate as run

    try:
        report = run(folder, out, force=force)
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        json.dump(report.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    click.echo(f"migrated {folder} → {report.out}")
    click.echo(f"  distribution {report.distribution} {report.version}, entry point "
               f"{report.name} = \"{report.entry_point}\"")
    for change in report.changes:
        click.echo(f"  changed {change}")
    for note in report.notes:
        click.echo(f"  note: {note}")
    click.echo(f"""next:
  plexichat plugins check {report.out}
  plexichat plugins install {report.out}""")
