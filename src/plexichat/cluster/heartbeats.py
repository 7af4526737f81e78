"""Replica heartbeats: who serves the cluster, with which version and which plugins.

Each clustered replica refreshes one row every few seconds; a row older than the stale
limit is a replica that is gone. The rows live in the shared database, so any replica
(or the CLI, reading the database) can show the whole cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..storage.database import replica_heartbeats
from ..storage.upsert import upsert

if TYPE_CHECKING:
    from ..storage import Database

__all__ = ["InstalledPlugin", "Heartbeat", "forget", "read", "write"]


@dataclass(frozen=True)
class InstalledPlugin:
    """One plugin as a replica has it: its version and live state."""

    name: str
    version: str
    state: str
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        """JSON form, as stored in the heartbeat row."""
        return {"name": self.name, "version": self.version, "state": self.state,
                "reason": self.reason}


@dataclass(frozen=True)
class Heartbeat:
    """One replica's last report."""

    replica_id: str
    host_version: str
    url: str
    generation: int
    """The desired-state generation it last reconciled to."""
    started_at: datetime
    last_seen: datetime
    plugins: list[InstalledPlugin] = field(default_factory=list)
    ready: bool = True
    """False while the replica is still starting its plugins (they are not all known)."""

    def age(self, now: datetime) -> float:
        """Seconds since its last heartbeat."""
        return (now - self.last_seen).total_seconds()


def write(db: Database, beat: Heartbeat) -> None:
    """Insert or refresh ``beat``'s row."""
    with db.engine.begin() as conn:
        upsert(conn, replica_heartbeats, replica_id=beat.replica_id,
                host_version=beat.host_version, url=beat.url,
                plugins=[p.as_dict() for p in beat.plugins], generation=beat.generation,
                ready=beat.ready, started_at=beat.started_at, last_seen=beat.last_seen)


def forget(db: Database, replica_id: str) -> None:
    """Remove a replica's row (it stops cleanly)."""
    with db.engine.begin() as conn:
        conn.execute(sa.delete(replica_heartbeats)
                     .where(replica_heartbeats.c.replica_id == replica_id))


def read(db: Database, *, stale_after: float, now: datetime | None = None) -> list[Heartbeat]:
    """The replicas seen within ``stale_after`` seconds, oldest start first; rows of
    replicas gone for ten times longer are deleted."""
    now = now or datetime.now(timezone.utc)
    with db.engine.begin() as conn:
        conn.execute(sa.delete(replica_heartbeats).where(
            replica_heartbeats.c.last_seen < now - timedelta(seconds=stale_after * 10)))
        rows = conn.execute(sa.select(replica_heartbeats)
                            .order_by(replica_heartbeats.c.started_at)).mappings().all()
    beats = [_beat(row) for row in rows]
    return [b for b in beats if b.age(now) <= stale_after]


def _beat(row: Any) -> Heartbeat:
    return Heartbeat(
        replica_id=row["replica_id"], host_version=row["host_version"], url=row["url"],
        generation=int(row["generation"]), started_at=_aware(row["started_at"]),
        last_seen=_aware(row["last_seen"]),
        plugins=[InstalledPlugin(p["name"], p["version"], p["state"], p.get("reason", ""))
                 for p in row["plugins"]],
        ready=bool(row["ready"]))


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
