"""``plexichat plugins lock``: the installed plugin set as a hash-pinned requirements file.

The file pins every plugin distribution and every distribution they require that the
host does not (the host and what it requires are the base the plugins are installed
on: install the same PlexiChat version first). Each line carries the sha256 of the
wheel (:mod:`plexichat.devkit.artifact_hashes` says where they come from), so::

    pip install --require-hashes -r plugins.lock

installs exactly these files in a fresh environment, from an index or a local wheel
directory (``--no-index --find-links DIR``). A distribution whose digest no offline
source knows makes :func:`lock_requirements` fail, naming it: a digest is never made up.
An editable install (a development checkout) is no artifact at all: it is left out,
named in the file's header and on the command's output.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
from collections.abc import Iterator
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement

from .. import __version__
from .artifact_hashes import HashSources, artifact_hashes
from .installer import canonical
from .plugin_set import installed_plugin_set

__all__ = ["Lock", "LockError", "LockedRequirement", "lock_requirements", "render_lock"]

HOST = "plexichat"


class LockError(Exception):
    """The lock cannot be written; the message names each distribution and why."""


@dataclass(frozen=True)
class LockedRequirement:
    """One pinned line of the lock."""

    distribution: str
    version: str
    hashes: list[str]
    source: str
    """Where the digests came from."""
    required_by: list[str] = field(default_factory=list)
    """The locked distributions requiring it (empty for a plugin distribution)."""

    def line(self) -> str:
        """The requirements-file line."""
        hashes = "".join(f" \\\n    --hash=sha256:{h}" for h in self.hashes)
        return f"{canonical(self.distribution)}=={self.version}{hashes}\n"


@dataclass
class Lock:
    """The lock's pins, and the editable installs left out of it."""

    lines: list[LockedRequirement] = field(default_factory=list)
    editable: list[str] = field(default_factory=list)
    """``distribution version (path)`` of each editable install not locked."""


def _editable(dist: md.Distribution) -> str | None:
    """The checkout an editable install points at, or None."""
    import json

    try:
        data = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return None
    info = data.get("dir_info") if isinstance(data, dict) else None
    if isinstance(info, dict) and info.get("editable"):
        return str(data.get("url", ""))
    return None


def _requirements(dist: md.Distribution, extras: set[str]) -> Iterator[Requirement]:
    for line in dist.requires or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is None or any(req.marker.evaluate({"extra": e})
                                     for e in {"", *extras}):
            yield req


def _installed(name: str) -> md.Distribution | None:
    try:
        return md.distribution(name)
    except md.PackageNotFoundError:
        return None


def _closure(roots: dict[str, set[str]]) -> dict[str, tuple[md.Distribution, set[str]]]:
    """Each installed distribution ``roots`` need (canonical name → (distribution,
    requirers)), following requirements (with their extras) through installed ones."""
    out: dict[str, tuple[md.Distribution, set[str]]] = {}
    todo = [(name, extras, "") for name, extras in roots.items()]
    while todo:
        name, extras, requirer = todo.pop()
        key = canonical(name)
        dist = _installed(name)
        if dist is None:
            continue
        seen = key in out
        entry = out.setdefault(key, (dist, set()))
        if requirer:
            entry[1].add(requirer)
        if seen and not extras:
            continue
        for req in _requirements(dist, extras):
            todo.append((req.name, set(req.extras), str(dist.metadata["Name"])))
    return out


def lock_requirements(sources: HashSources) -> Lock:
    """The lock for what is installed now. Raises :class:`LockError` naming every
    distribution whose wheel digest is unknown."""
    importlib.invalidate_caches()
    base = set(_closure({HOST: set()}))
    plugins = {p.key: p for p in installed_plugin_set(sources)}
    needed = _closure({p.distribution: set() for p in plugins.values()})
    out, missing = Lock(), []
    for key, (dist, requirers) in sorted(needed.items()):
        if key in base and key not in plugins:
            continue  # comes with the host
        if key == HOST:
            continue
        name = str(dist.metadata["Name"])
        checkout = _editable(dist)
        if checkout is not None:
            out.editable.append(f"{name} {dist.version} ({checkout})")
            continue
        hashes, source = artifact_hashes(name, dist.version, sources, dist)
        if not hashes:
            missing.append(f"{name} {dist.version}"
                           + (f" (required by {', '.join(sorted(requirers))})"
                              if requirers else ""))
            continue
        out.lines.append(LockedRequirement(name, dist.version, hashes, source,
                                           sorted(requirers)))
    if missing:
        raise LockError(
            "the sha256 of these wheels is not known offline, so they cannot be locked: "
            + "; ".join(missing) + ". A digest is taken from the distribution's "
            "direct_url.json (installed from a URL or catalog wheel with #sha256=), a "
            "wheel of that version in a --wheel-dir or PIP_FIND_LINKS directory, or the "
            "catalog's sha256: put the wheel in a --wheel-dir (e.g. `pip download "
            "NAME==VERSION --no-deps -d DIR`) and run the lock again")
    return out


def render_lock(lock: Lock) -> str:
    """The requirements file: a header saying how to use it, then each pin."""
    head = (f"# The plugin set of a PlexiChat {__version__} environment, written by "
            "`plexichat plugins lock`.\n"
            f"# Install PlexiChat {__version__} first, then reproduce the plugins with:\n"
            "#   pip install --require-hashes -r THIS_FILE\n"
            "# (add --no-index --find-links DIR to install from a local wheel directory)\n")
    head += "".join(f"# not locked (an editable install, no wheel): {e}\n"
                    for e in lock.editable)
    body = []
    for line in lock.lines:
        why = (f"required by {', '.join(line.required_by)}" if line.required_by
               else "plugin distribution")
        body.append(f"# {line.distribution}: {why}; sha256 from {line.source}\n"
                    + line.line())
    return head + "".join(body)
