"""Files the host writes whole: a new file beside the target, renamed over it, so a
reader (or a host killed mid-write) sees the old file or the new one, never a part."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: Path, text: str, *, mode: int | None = None,
                     durable: bool = True) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a
    rename; returns ``path``. ``mode`` sets the file's permissions (the temporary file
    is created 0600); ``durable`` syncs the data to disk before the rename (a cache that
    can be rebuilt does without). The directory is created when missing; on an error the
    temporary file is removed and ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if mode is not None:
            os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
