"""The static view of installed plugins: what would load, without importing any.

Used by ``plexichat plugins list`` and ``info``. It imports neither plugin code nor
FastAPI, and with a warm discovery index validates nothing again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .kernel.discovery import discover
from .kernel.resolver import PluginFilter, resolve

if TYPE_CHECKING:
    from .kernel.discovery import PluginCandidate
    from .manifest import PluginManifest

__all__ = ["PluginListing", "static_listing"]


@dataclass
class PluginListing:
    """One installed plugin as the static view sees it.

    ``state`` is the value of one of :data:`~plexichat.kernel.states.RESOLVED_STATES`:
    ``available`` (would load), ``rejected`` (cannot load; ``reason`` says why) or
    ``disabled`` (the operator's choice; ``reason`` says which).
    """

    name: str
    version: str
    type: str
    state: str
    reason: str
    distribution: str
    distribution_version: str
    entry_point: str
    manifest_file: str | None
    warnings: list[str] = field(default_factory=list)
    candidate: PluginCandidate | None = field(default=None, repr=False, compare=False)
    """What discovery found (its typed manifest is built only when read)."""

    @property
    def manifest(self) -> PluginManifest | None:
        """The validated manifest; None when it was rejected."""
        return self.candidate.manifest if self.candidate is not None else None

    def as_dict(self, *, with_manifest: bool = False) -> dict[str, Any]:
        """Plain data for ``--json``."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "candidate"}
        data["warnings"] = list(self.warnings)
        if with_manifest:
            data["manifest"] = (self.candidate.manifest_json()
                                if self.candidate is not None else None)
        return data


def static_listing(environ: Mapping[str, str] | None = None) -> list[PluginListing]:
    """Every installed plugin, sorted by name, with its static state."""
    from .kernel.blocklist import blocked_versions
    from .runtime import data_dir
    from .storage.readonly import operator_states

    environ = os.environ if environ is None else environ
    candidates = discover()
    resolution = resolve(candidates, PluginFilter.from_env(
        environ, operator=operator_states(),
        blocked=blocked_versions(data_dir(environ).path)))
    out = []
    for c in candidates:
        state, reason = resolution.state_of(c.name)
        out.append(
            PluginListing(
                name=c.name,
                version=c.version,
                type=c.type,
                state=state.value,
                reason=reason,
                distribution=c.distribution,
                distribution_version=c.distribution_version,
                entry_point=c.entry_point,
                manifest_file=c.manifest_file,
                warnings=list(c.warnings),
                candidate=c,
            )
        )
    return out
