"""``plexichat plugins search``: what a catalog offers, and whether it runs here."""

from __future__ import annotations

import json
import sys

import click

__all__ = ["search"]


@click.command("search")
@click.argument("term", required=False)
@click.option("--catalog", "source", default=None, metavar="PATH_OR_URL",
              help="A JSON catalog or a PEP 503 simple index, by path or URL "
                   "(default: the PLEXICHAT_CATALOG setting).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def search(term: str | None, source: str | None, as_json: bool) -> None:
    """Search a plugin catalog for TERM (in names, summaries, types and tags; all
    plugins without it). Shows each plugin's newest version, type and summary, whether
    this host can run it, and the version installed here. Versions the catalog marks
    blocked are shown as not runnable, and remembered in the data directory, where the
    host rejects an installed blocked version."""
    from .. import __version__
    from ..devkit.catalog import CatalogError, open_catalog, remember_blocked
    from ..devkit.catalog import search as run
    from ..runtime import data_dir

    if source is None:
        from ..config import HostSettings

        source = HostSettings().catalog
    if not source:
        raise click.UsageError("no catalog: pass --catalog PATH_OR_URL or set "
                               "PLEXICHAT_CATALOG")
    try:
        catalog = open_catalog(source)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    remember_blocked(catalog, data_dir().path)  # discovery rejects what it blocks
    entries = catalog.entries
    results = run(entries, term, installed=_installed())
    if as_json:
        json.dump([r.as_dict() for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    if not results:
        click.echo(f"no plugin in {source} matches {term!r}" if term
                   else f"{source} lists no plugins")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(results)} plugin(s) in {source}"
                  + (f" matching {term!r}" if term else "")
                  + f"; this host: PlexiChat {__version__}")
    for column in ("name", "version", "type", "compatible", "installed", "summary"):
        table.add_column(column, overflow="fold")
    for r in results:
        if r.compatible:
            compat = "[green]yes[/]"
        else:
            compat = f"[red]no[/]: {r.reason}"
            if r.compatible_version:
                compat += f" ({r.compatible_version} is)"
        table.add_row(r.entry.name, r.entry.version, r.entry.type, compat,
                      r.installed or "", r.entry.summary)
    Console().print(table)


def _installed() -> dict[str, str]:
    try:
        from ..kernel.discovery import discover

        return {c.name: c.distribution_version for c in discover()}
    except Exception:  # a broken environment must not break searching
        return {}
