"""The sha256 of the wheel an installed distribution came from, where it can be known
without a network.

An installed distribution keeps the digest of each file it wrote (``RECORD``) but not
the digest of the archive it was installed from, so the archive's digest is looked
for in three places, in this order:

1. ``direct_url.json``: pip records ``archive_info.hashes`` when it installed a URL or
   local wheel given with a ``#sha256=`` digest, as ``plexichat plugins install NAME``
   does for a catalog's wheel;
2. wheel files named ``<distribution>-<version>-*.whl`` in local wheel directories (the
   ``--wheel-dir`` options, then ``PIP_FIND_LINKS`` directories): the digest of each
   such file (every platform's wheel of that version, since pip accepts any listed);
3. the plugin catalog's ``sha256`` for that distribution and version.

When none of them knows a digest, :func:`artifact_hashes` returns an empty list: the
digest is never made up (a lock then fails naming the distribution and these sources).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from .catalog import CatalogEntry

__all__ = ["HashSources", "artifact_hashes", "find_links_dirs"]


def find_links_dirs(environ: dict[str, str] | None = None) -> list[Path]:
    """The local directories in ``PIP_FIND_LINKS`` (whitespace-separated; URLs other
    than ``file:`` are left out)."""
    import urllib.parse
    import urllib.request

    raw = (os.environ if environ is None else environ).get("PIP_FIND_LINKS", "")
    out = []
    for item in raw.split():
        parsed = urllib.parse.urlparse(item)
        if parsed.scheme == "file":
            item = urllib.request.url2pathname(parsed.path)
        elif parsed.scheme:
            continue
        if Path(item).is_dir():
            out.append(Path(item))
    return out


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


@dataclass
class HashSources:
    """Where :func:`artifact_hashes` looks: wheel directories and catalog entries."""

    wheel_dirs: Sequence[Path] = ()
    catalog: Sequence[CatalogEntry] = ()
    _wheels: dict[str, list[tuple[str, Path]]] | None = field(default=None, repr=False)

    def wheels(self, distribution: str) -> list[tuple[str, Path]]:
        """(version, path) of each wheel of ``distribution`` in the directories."""
        if self._wheels is None:
            self._wheels = {}
            for directory in self.wheel_dirs:
                for path in sorted(Path(directory).glob("*.whl")):
                    try:
                        name, version, _, _ = parse_wheel_filename(path.name)
                    except InvalidWheelFilename:
                        continue
                    self._wheels.setdefault(str(name), []).append((str(version), path))
        return self._wheels.get(str(canonicalize_name(distribution)), [])


def _direct_url_hashes(dist: md.Distribution) -> list[str]:
    try:
        data = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return []
    info = data.get("archive_info") if isinstance(data, dict) else None
    if not isinstance(info, dict):
        return []
    hashes = info.get("hashes")
    if isinstance(hashes, dict) and isinstance(hashes.get("sha256"), str):
        return [hashes["sha256"].lower()]
    legacy = info.get("hash")
    if isinstance(legacy, str) and legacy.startswith("sha256="):
        return [legacy.split("=", 1)[1].lower()]
    return []


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def artifact_hashes(distribution: str, version: str, sources: HashSources,
                    dist: md.Distribution | None = None) -> tuple[list[str], str]:
    """(sha256 digests, where they came from) of ``distribution`` ``version``'s wheel;
    ``([], "")`` when no source knows one. ``dist`` is the installed distribution, when
    there is one (its ``direct_url.json`` is read)."""
    if dist is not None:
        found = _direct_url_hashes(dist)
        if found:
            return found, "direct_url.json"
    wheels = [path for v, path in sources.wheels(distribution) if _same_version(v, version)]
    if wheels:
        return sorted({_digest(p) for p in wheels}), ", ".join(str(p) for p in wheels)
    want = canonicalize_name(distribution)
    listed = sorted({e.sha256.lower() for e in sources.catalog
                     if e.sha256 and _same_version(e.version, version)
                     and canonicalize_name(e.distribution or e.name) == want})
    if listed:
        return listed, "the plugin catalog"
    return [], ""
