"""Serving files out of a plugin's package without letting a URL leave it.

Plugin UI pages and documentation are files inside the plugin's package directory.
A request names one of them by a relative path; :func:`resolve_inside` turns that path
into a real file only when it stays inside the given root: no ``..`` or ``.`` segments
(after URL decoding, so ``%2e%2e`` and ``%2f`` are covered), no absolute paths, drive
letters, backslashes, NUL bytes or hidden files, and no symlink whose target lies outside
the root. Anything else is ``None`` and the caller answers 404.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["clean_relative", "is_inside", "resolve_inside"]


def clean_relative(path: str) -> list[str] | None:
    """The segments of a safe relative path, or ``None`` when it is not one.

    An empty path (or one ending in ``/``) yields a trailing empty segment, which
    callers read as "the directory itself".
    """
    if "\\" in path or "\0" in path or ":" in path:
        return None
    if path.startswith("/"):
        return None
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if segment == "":
            if i != len(segments) - 1:  # "a//b": refuse rather than guess
                return None
            continue
        if segment in (".", "..") or segment.startswith(".") or segment.startswith("~"):
            return None
    return segments


def resolve_inside(root: Path | str, path: str) -> Path | None:
    """The real path of ``root/path`` if it is a file or directory inside ``root``."""
    segments = clean_relative(path)
    if segments is None:
        return None
    try:
        real_root = Path(os.path.realpath(root))
        if not real_root.is_dir():
            return None
        target = Path(os.path.realpath(real_root.joinpath(*[s for s in segments if s])))
    except (OSError, ValueError):
        return None
    if target != real_root and real_root not in target.parents:
        return None
    if not target.exists():
        return None
    return target


def is_inside(root: Path | str, path: Path | str) -> bool:
    """True when the real ``path`` is ``root`` or lies under the real ``root``."""
    try:
        real_root = Path(os.path.realpath(root))
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):
        return False
    return real == real_root or real_root in real.parents
