"""Reading the cluster's picture from the shared database (API and CLI alike)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from . import heartbeats
from .view import ClusterView, build_view

if TYPE_CHECKING:
    from ..storage import Database, HostStore

__all__ = ["cluster_view"]


def cluster_view(db: Database, store: HostStore, *, stale_after: float,
                 now: datetime) -> ClusterView:
    """The live replicas, the desired-state generation and the version skew."""
    beats = heartbeats.read(db, stale_after=stale_after, now=now)
    return build_view(beats, store.enabled_states(), store.generation(), now)
