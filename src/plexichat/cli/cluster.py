"""``plexichat cluster status``: the replicas sharing the host database, and their skew."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click

__all__ = ["status"]


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the cluster as JSON.")
@click.option("--url", envvar="PLEXICHAT_URL", default=None,
              help="Ask the host at this URL (default: the host serving the data "
                   "directory, if one runs; else read the database).")
@click.option("--token", envvar="PLEXICHAT_ADMIN_TOKEN", default=None,
              help="Admin token (default: the one the local host wrote for the CLI).")
def status(as_json: bool, url: str | None, token: str | None) -> None:
    """Show every live replica (version, plugins, last heartbeat) and flag version skew:
    a plugin enabled cluster-wide that a replica lacks, or has at another version."""
    from .target import target

    where = target(url, token)
    data = where.call("GET", "/api/v1/cluster") if where.live else _from_database()
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(f"desired-state generation {data['generation']}; "
               f"{len(data['replicas'])} live replica(s)")
    for replica in data["replicas"]:
        mark = " (this)" if replica.get("this") else ""
        click.echo(f"  {replica['replica_id']}{mark}  plexichat {replica['host_version']}"
                   f"  generation {replica['generation']}  seen "
                   f"{replica['age_seconds']:.1f}s ago  {replica['url']}")
        for plugin in replica["plugins"]:
            reason = f" — {plugin['reason']}" if plugin["reason"] else ""
            click.echo(f"      {plugin['name']} {plugin['version'] or '-'}: "
                       f"{plugin['state']}{reason}")
    if data["skew"]:
        click.echo("version skew:")
        for entry in data["skew"]:
            click.echo(f"  {entry['replica_id']}: {entry['plugin']} {entry['state']} — "
                       f"{entry['reason']}")
    else:
        click.echo("no version skew")


def _from_database() -> dict[str, Any]:
    """The cluster read from the database (no host serves this data directory)."""
    from ..cluster.status import cluster_view
    from ..config import HostSettings
    from ..storage import Database, HostStore
    from .target import require_database

    require_database(False)
    settings = HostSettings()
    db = Database(settings.resolved_database_url())
    try:
        view = cluster_view(db, HostStore(db), stale_after=settings.cluster_stale_after,
                            now=datetime.now(timezone.utc))
    finally:
        db.dispose()
    return {
        "clustered": bool(settings.redis_url), "replica_id": None,
        "generation": view.generation, "stale_after_seconds": settings.cluster_stale_after,
        "replicas": [{**{k: v for k, v in vars(r).items() if k != "plugins"},
                      "started_at": r.started_at.isoformat(),
                      "last_seen": r.last_seen.isoformat(), "this": False,
                      "plugins": [p.as_dict() for p in r.plugins]} for r in view.replicas],
        "skew": [vars(s) for s in view.skew],
    }
