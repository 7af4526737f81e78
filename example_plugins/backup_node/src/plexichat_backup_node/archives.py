"""A directory of PlexiChat backup archives: naming, listing and retention.

Archives are named ``plexichat-backup-<UTC time to the microsecond>Z.zip``, so their
names sort in the order they were made. Only files named that way are ever listed or
removed: anything else in the directory is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["ARCHIVE_NAME", "Archive", "ArchiveDirectory"]

ARCHIVE_NAME = re.compile(r"^plexichat-backup-(\d{8}T\d{12})Z\.zip$")
"""What the name of an archive of this plugin looks like."""

_STAMP = "%Y%m%dT%H%M%S%f"


@dataclass(frozen=True)
class Archive:
    """One archive in the directory."""

    name: str
    path: Path
    size: int
    created: datetime

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API."""
        return {"name": self.name, "size": self.size,
                "created": self.created.isoformat().replace("+00:00", "Z")}


class ArchiveDirectory:
    """The archives in ``path``, at most ``keep`` of them after :meth:`prune`."""

    def __init__(self, path: Path, keep: int) -> None:
        self.path = Path(path)
        self.keep = max(1, int(keep))

    def new_path(self, now: datetime | None = None) -> Path:
        """Where the next archive goes: named for ``now`` (UTC), never an existing file."""
        now = now or datetime.now(timezone.utc)
        while True:
            candidate = self.path / f"plexichat-backup-{now.strftime(_STAMP)}Z.zip"
            if not candidate.exists():
                return candidate
            now = now.replace(microsecond=now.microsecond + 1) if now.microsecond < 999_999 \
                else now.replace(microsecond=0, second=(now.second + 1) % 60)

    def archives(self) -> list[Archive]:
        """The archives, oldest first."""
        if not self.path.is_dir():
            return []
        found = []
        for entry in sorted(self.path.iterdir()):
            match = ARCHIVE_NAME.match(entry.name)
            if match is None or not entry.is_file():
                continue
            created = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=timezone.utc)
            found.append(Archive(entry.name, entry, entry.stat().st_size, created))
        return found

    def get(self, name: str) -> Archive | None:
        """The archive called ``name``, or None (also for any name not of an archive)."""
        if ARCHIVE_NAME.match(name) is None:
            return None
        return next((a for a in self.archives() if a.name == name), None)

    def prune(self) -> list[str]:
        """Remove the oldest archives beyond ``keep``; the names removed, oldest first."""
        archives = self.archives()
        removed = []
        for archive in archives[:max(0, len(archives) - self.keep)]:
            archive.path.unlink(missing_ok=True)
            removed.append(archive.name)
        return removed
