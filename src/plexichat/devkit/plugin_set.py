"""The installed plugin set: each plugin distribution, its version and, where known, the
digest of the wheel it came from (:mod:`plexichat.devkit.artifact_hashes`)."""

from __future__ import annotations

import importlib
import importlib.metadata as md
from dataclasses import asdict, dataclass, field
from typing import Any

from .artifact_hashes import HashSources, artifact_hashes, find_links_dirs
from .installer import canonical

__all__ = ["PluginDistribution", "installed_plugin_set"]


@dataclass(frozen=True)
class PluginDistribution:
    """One installed distribution providing plugins."""

    distribution: str
    version: str
    plugins: list[str] = field(default_factory=list)
    """The plugin names (entry points) it provides."""
    sha256: list[str] = field(default_factory=list)
    """Its wheel's digests, where known offline (empty otherwise)."""

    @property
    def key(self) -> str:
        """The distribution's canonical name."""
        return canonical(self.distribution)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PluginDistribution:
        """From :meth:`as_dict`'s output. Raises ``KeyError``/``TypeError`` when a field
        is missing or of the wrong kind."""
        if not isinstance(data["distribution"], str) or not isinstance(data["version"], str):
            raise TypeError("distribution and version must be strings")
        return cls(data["distribution"], data["version"],
                   [str(p) for p in data.get("plugins") or []],
                   [str(h) for h in data.get("sha256") or []])


def installed_plugin_set(sources: HashSources | None = None) -> list[PluginDistribution]:
    """Every installed plugin distribution (the host excluded), sorted by name, with
    the digests ``sources`` (default: ``PIP_FIND_LINKS`` directories) and each
    distribution's ``direct_url.json`` know."""
    from ..kernel.discovery import ENTRY_POINT_GROUP

    sources = sources if sources is not None else HashSources(find_links_dirs())
    importlib.invalidate_caches()
    found: dict[str, tuple[md.Distribution, list[str]]] = {}
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        if ep.dist is None:
            continue
        name = canonical(ep.dist.metadata["Name"])
        if name == "plexichat":
            continue
        dist, plugins = found.setdefault(name, (ep.dist, []))
        if ep.name not in plugins:
            plugins.append(ep.name)
    out = []
    for _, (dist, plugins) in sorted(found.items()):
        name = str(dist.metadata["Name"])
        hashes, _ = artifact_hashes(name, dist.version, sources, dist)
        out.append(PluginDistribution(name, dist.version, sorted(plugins), hashes))
    return out
