"""``/api/v1/cluster``: the replicas sharing this host's database, and their skew."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from .auth import require_admin

router = APIRouter(prefix="/api/v1/cluster", tags=["cluster"])


class ReplicaPlugin(BaseModel):
    """One plugin on one replica; ``rejected`` with a reason when it cannot serve it as
    the rest of the cluster does."""

    name: str = Field(examples=["hello"])
    version: str = Field(examples=["1.0.0"], description="Empty when not installed.")
    state: str = Field(examples=["started"])
    reason: str = Field(examples=["not installed on this replica"])


class ReplicaInfo(BaseModel):
    """One live replica (its heartbeat is fresh)."""

    replica_id: str = Field(examples=["3f9c2a71d0b4"])
    host_version: str = Field(examples=["3.0.0"])
    url: str = Field(examples=["http://10.0.0.5:8000"])
    generation: int = Field(description="The desired-state generation it reconciled to.")
    started_at: datetime
    last_seen: datetime
    age_seconds: float = Field(description="Seconds since its last heartbeat.")
    ready: bool = Field(description="False while it is still starting its plugins (no "
                        "skew is reported for it until then).")
    this: bool = Field(description="True for the replica that answered.")
    plugins: list[ReplicaPlugin]


class SkewInfo(BaseModel):
    """A plugin one replica cannot serve as the rest of the cluster does."""

    replica_id: str
    plugin: str = Field(examples=["hello"])
    state: str = Field(examples=["rejected"])
    reason: str = Field(examples=["version 1.0.0 here, 1.1.0 elsewhere"])


class ClusterInfo(BaseModel):
    """The cluster as this replica sees it through the shared database."""

    clustered: bool = Field(description="True when this replica follows the cluster "
                            "(PLEXICHAT_REDIS_URL is set).")
    replica_id: str | None = Field(description="This replica's id; null when not clustered.")
    generation: int = Field(description="The desired-state generation in the database.")
    stale_after_seconds: float
    replicas: list[ReplicaInfo]
    skew: list[SkewInfo]


@router.get("", response_model=ClusterInfo,
            responses={401: {"description": "No admin token."},
                       403: {"description": "Wrong admin token."}},
            dependencies=[Depends(require_admin)])
async def cluster_status(request: Request) -> dict[str, Any]:
    """Every live replica (version, plugins with versions and states, last heartbeat)
    and the version skew between them."""
    from ..cluster.status import cluster_view

    host = request.app.state.host
    cluster = request.app.state.cluster
    stale_after = request.app.state.settings.cluster_stale_after
    view = await asyncio.to_thread(cluster_view, host.database, host.store,
                                   stale_after=stale_after,
                                   now=datetime.now(timezone.utc))
    me = cluster.replica_id if cluster is not None else None
    return {
        "clustered": cluster is not None,
        "replica_id": me,
        "generation": view.generation,
        "stale_after_seconds": stale_after,
        "replicas": [{**_fields(r), "this": r.replica_id == me,
                      "plugins": [p.as_dict() for p in r.plugins]} for r in view.replicas],
        "skew": [_fields(s) for s in view.skew],
    }


def _fields(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(obj).items() if k != "plugins"}
