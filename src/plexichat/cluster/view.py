"""The cluster as one picture: every live replica, and where their plugins disagree.

A plugin enabled cluster-wide (stored enabled, or running on some replica) that a replica
does not have installed, or has at another version than the newest one in the cluster,
is reported on that replica as ``rejected`` with the reason. A replica still starting
its plugins reports no skew until it is ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .heartbeats import Heartbeat, InstalledPlugin

__all__ = ["ClusterView", "ReplicaView", "SkewEntry", "build_view"]

NOT_INSTALLED = "not installed on this replica"


@dataclass(frozen=True)
class SkewEntry:
    """One plugin a replica cannot serve as the rest of the cluster does."""

    replica_id: str
    plugin: str
    state: str
    reason: str


@dataclass(frozen=True)
class ReplicaView:
    """One live replica, its plugins as the cluster sees them."""

    replica_id: str
    host_version: str
    url: str
    generation: int
    started_at: datetime
    last_seen: datetime
    age_seconds: float
    ready: bool
    plugins: list[InstalledPlugin] = field(default_factory=list)


@dataclass(frozen=True)
class ClusterView:
    """Every live replica, the desired-state generation, and the version skew."""

    generation: int
    replicas: list[ReplicaView]
    skew: list[SkewEntry]


def build_view(beats: list[Heartbeat], enabled: dict[str, bool], generation: int,
               now: datetime) -> ClusterView:
    """The cluster seen through ``beats`` (live heartbeats) and the stored ``enabled``
    decisions."""
    newest = _newest_versions(beats)
    wanted = {name for name, on in enabled.items() if on}
    wanted |= {p.name for b in beats for p in b.plugins if p.state == "started"}
    wanted -= {name for name, on in enabled.items() if not on}
    replicas: list[ReplicaView] = []
    skew: list[SkewEntry] = []
    for beat in beats:
        plugins, found = _skew_of(beat, wanted, newest)
        skew.extend(found)
        replicas.append(ReplicaView(
            replica_id=beat.replica_id, host_version=beat.host_version, url=beat.url,
            generation=beat.generation, started_at=beat.started_at,
            last_seen=beat.last_seen, age_seconds=round(beat.age(now), 3),
            ready=beat.ready, plugins=sorted(plugins, key=lambda p: p.name)))
    return ClusterView(generation=generation, replicas=replicas, skew=skew)


def _skew_of(beat: Heartbeat, wanted: set[str], newest: dict[str, str]
             ) -> tuple[list[InstalledPlugin], list[SkewEntry]]:
    """``beat``'s plugins as the cluster sees them, and its skew (none while the replica
    is still starting: what it has is not known yet)."""
    if not beat.ready:
        return list(beat.plugins), []
    plugins: list[InstalledPlugin] = []
    skew: list[SkewEntry] = []
    for plugin in beat.plugins:
        if plugin.name in wanted and plugin.version != newest[plugin.name]:
            reason = f"version {plugin.version} here, {newest[plugin.name]} elsewhere"
            plugin = InstalledPlugin(plugin.name, plugin.version, "rejected", reason)
            skew.append(SkewEntry(beat.replica_id, plugin.name, "rejected", reason))
        plugins.append(plugin)
    have = {p.name for p in beat.plugins}
    for name in sorted(wanted - have):
        if name not in newest:  # stored enabled, installed nowhere: no skew
            continue
        plugins.append(InstalledPlugin(name, "", "rejected", NOT_INSTALLED))
        skew.append(SkewEntry(beat.replica_id, name, "rejected", NOT_INSTALLED))
    return plugins, skew


def _newest_versions(beats: list[Heartbeat]) -> dict[str, str]:
    """The newest version of each plugin installed on any live replica."""
    newest: dict[str, str] = {}
    for beat in beats:
        for plugin in beat.plugins:
            if plugin.name not in newest or _key(plugin.version) > _key(newest[plugin.name]):
                newest[plugin.name] = plugin.version
    return newest


def _key(version: str) -> tuple[int, object]:
    """A sort key of ``version``: PEP 440 order where it parses."""
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)
