"""``plexichat audit``: the audit trail, as a table or JSON, optionally followed.

Like ``plexichat plugins list``, it reads from the host serving the data directory when
one runs (or the host ``--url`` names: ``GET /api/v1/audit`` with the admin token),
otherwise straight from the host database. ``--follow`` polls for newer entries.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

import click

__all__ = ["audit"]


def _time(_ctx: Any, _param: Any, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as "
                                 "2026-01-02T10:06:00Z") from None


@click.command("audit")
@click.option("--actor", help="`kind` (admin, ui, user, plugin, host, cli) or `kind:id`.")
@click.option("--plugin", help="Only entries about this plugin.")
@click.option("--action", help="Only this action, e.g. plugin.disable.")
@click.option("--since", callback=_time, help="Only entries at or after this time (ISO "
              "8601; UTC unless a zone is given).")
@click.option("--until", callback=_time, help="Only entries before this time.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True,
              help="Entries to show (the newest).")
@click.option("--cursor", type=click.IntRange(1), default=None,
              help="Show entries older than this id (a page's next cursor).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: {entries, next_cursor}; with --follow, one entry per line.")
@click.option("--follow", is_flag=True, help="Keep polling and print new entries as they "
              "are recorded (Ctrl-C stops).")
@click.option("--interval", type=click.FloatRange(0.1), default=2.0, show_default=True,
              help="Seconds between two polls with --follow.")
@click.option("--url", envvar="PLEXICHAT_URL", default=None,
              help="Read from the host at this URL (default: the host serving the data "
                   "directory, if one runs; else the database).")
@click.option("--token", envvar="PLEXICHAT_ADMIN_TOKEN", default=None,
              help="Admin token (default: the token the host serving the data directory "
                   "wrote there for the CLI).")
def audit(actor: str | None, plugin: str | None, action: str | None,
          since: datetime | None, until: datetime | None, limit: int, cursor: int | None,
          as_json: bool, follow: bool, interval: float, url: str | None,
          token: str | None) -> None:
    """Show the audit trail, newest first: who did what, when, to what, from where.

    Operators' changes (enable, disable, settings with secrets masked, grants, installs,
    webhook subscriptions), logins, plugin starts, stops and quarantines, and what
    plugins did to other users' data. With --follow, new entries are printed as they
    come, oldest first.
    """
    read = _reader(url, token)
    filters = {"actor": actor, "plugin": plugin, "action": action,
               "since": since.isoformat() if since else None,
               "until": until.isoformat() if until else None}
    page = read({**filters, "limit": limit, "cursor": cursor})
    if as_json and not follow:
        json.dump(page, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    entries = list(reversed(page["entries"])) if follow else page["entries"]
    _show(entries, as_json, page.get("next_cursor") if not follow else None)
    if not follow:
        return
    last = max((e["id"] for e in page["entries"]), default=0)
    try:
        while True:
            time.sleep(interval)
            newer = read({**filters, "after": last, "limit": 500})["entries"]
            if newer:
                last = newer[-1]["id"]
                _show(newer, as_json, None)
    except KeyboardInterrupt:
        return


def _reader(url: str | None, token: str | None) -> Any:
    """A function reading one page: from the running host, else from the database."""
    from .target import target

    where = target(url, token)
    if where.live:
        def from_host(params: dict[str, Any]) -> dict[str, Any]:
            query = {k: v for k, v in params.items() if v is not None}
            from urllib.parse import urlencode

            result: dict[str, Any] = where.call("GET", "/api/v1/audit?" + urlencode(query))
            return result

        return from_host
    return _from_database()


def _from_database() -> Any:
    from ..audit import AuditQuery, AuditTrail
    from ..config import HostSettings
    from ..storage import Database
    from .target import require_database

    require_database(False)
    trail = AuditTrail(Database(HostSettings().resolved_database_url()))

    def from_database(params: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {k: (datetime.fromisoformat(v) if k in ("since", "until")
                                      and v else v) for k, v in params.items()}
        query = AuditQuery(**values)
        page = trail.query(query)
        return {"entries": [e.as_dict() for e in page.entries],
                "next_cursor": page.next_cursor}

    return from_database


def _show(entries: list[dict[str, Any]], as_json: bool, next_cursor: int | None) -> None:
    """Print entries: a JSON line each, or a rich table."""
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry))
        return
    if not entries:
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(caption=f"older: --cursor {next_cursor}" if next_cursor else None)
    for column, ratio in (("id", 1), ("when (UTC)", 3), ("actor", 3), ("source", 2),
                          ("action", 3), ("target", 3), ("details", 5)):
        table.add_column(column, overflow="fold", ratio=ratio)
    for e in entries:
        details = "; ".join(f"{k}: {json.dumps(v)}" for k, v in e["details"].items())
        table.add_row(str(e["id"]), e["at"][:19].replace("T", " "), escape(e["actor"]),
                      escape(e["source"]), escape(e["action"]), escape(e["target"]),
                      escape(details))
    Console().print(table)
