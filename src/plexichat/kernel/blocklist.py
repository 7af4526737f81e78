"""Plugin versions a catalog marks as known-bad: the file discovery reads.

A catalog entry may carry ``"blocked": "why"`` (see ``docs/PACKAGING.md``). Whenever the
command line reads a catalog, it writes the blocked versions it found into
``<data directory>/blocked-versions.json``; the host and ``plexichat plugins list``
read that file, and resolution rejects an installed distribution at a blocked version
with the catalog's reason. The file is plain JSON::

    {"format": 1,
     "catalogs": {"<catalog path or URL>": [
        {"distribution": "plexichat-hello", "version": "1.0.0", "name": "hello",
         "reason": "leaks tokens to the log"}]}}

One section per catalog: reading a catalog again replaces its section (a version the
catalog no longer blocks is unblocked), and leaves other catalogs' sections alone.
This module holds only the format; nothing here fetches a catalog.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from .files import write_atomically

__all__ = ["BLOCKLIST_FILE", "BlockedVersion", "blocked_reason",
           "blocked_versions", "read_blocklist", "write_blocklist"]

BLOCKLIST_FILE = "blocked-versions.json"
FORMAT = 1

_log = logging.getLogger("plexichat.blocklist")


@dataclass(frozen=True)
class BlockedVersion:
    """One distribution version a catalog marks as known-bad."""

    distribution: str
    version: str
    reason: str
    name: str = ""
    """The plugin's name in the catalog (for messages)."""
    catalog: str = ""
    """The catalog that blocks it."""

    def message(self) -> str:
        """Why a plugin at this version is refused, as a person reads it."""
        where = f" ({self.catalog})" if self.catalog else ""
        return (f"{self.distribution} {self.version} is blocked by the plugin "
                f"catalog{where}: {self.reason}")


def _key(distribution: str, version: str) -> tuple[str, str]:
    return str(canonicalize_name(distribution)), version.strip()


def read_blocklist(data_dir: Path) -> dict[str, list[BlockedVersion]]:
    """Each catalog's blocked versions, as last written to ``data_dir``. A missing file
    is an empty blocklist; an unreadable one is logged (naming the file and the fix)
    and treated as empty, so a damaged file never keeps the host from starting."""
    path = data_dir / BLOCKLIST_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        _log.error("cannot read %s (%s): no plugin version is blocked", path, exc)
        return {}
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"expected format {FORMAT}")
        out: dict[str, list[BlockedVersion]] = {}
        for catalog, items in dict(data.get("catalogs") or {}).items():
            out[str(catalog)] = [
                BlockedVersion(str(i["distribution"]), str(i["version"]),
                               str(i.get("reason") or "blocked"), str(i.get("name") or ""),
                               str(catalog))
                for i in items]
        return out
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        _log.error("%s is not a blocked-versions file (%s): no plugin version is blocked; "
                   "read the catalog again (plexichat plugins search) to rewrite it",
                   path, exc)
        return {}


def blocked_versions(data_dir: Path) -> dict[tuple[str, str], str]:
    """(canonical distribution, version) → why it is blocked, from every catalog."""
    out: dict[tuple[str, str], str] = {}
    for items in read_blocklist(data_dir).values():
        for item in items:
            out.setdefault(_key(item.distribution, item.version), item.message())
    return out


def blocked_reason(blocked: Mapping[tuple[str, str], str], distribution: str,
                   version: str) -> str | None:
    """Why ``distribution`` at ``version`` is blocked, or None."""
    if not blocked or not distribution:
        return None
    return blocked.get(_key(distribution, version))


def write_blocklist(data_dir: Path, catalog: str, items: Iterable[BlockedVersion]) -> Path:
    """Replace ``catalog``'s section of the blocklist in ``data_dir`` with ``items``,
    atomically (a crash leaves the previous file). Returns the file's path."""
    sections = read_blocklist(data_dir)
    sections[catalog] = list(items)
    if not sections[catalog]:
        del sections[catalog]
    data = {"format": FORMAT,
            "catalogs": {source: [{k: v for k, v in asdict(i).items() if k != "catalog"}
                                  for i in entries]
                         for source, entries in sorted(sections.items())}}
    return write_atomically(data_dir / BLOCKLIST_FILE, json.dumps(data, indent=2) + "\n")
