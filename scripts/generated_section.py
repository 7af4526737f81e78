"""The generated part of a hand-written docs page: the text between two marker lines,
rewritten by a ``scripts/gen_*_doc.py`` script or checked for staleness (``--check``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def replace_section(text: str, begin: str, end: str, generated: str, where: Path) -> str:
    """``text`` with everything from the ``begin`` marker to the ``end`` marker replaced
    by ``generated`` (which carries both markers again)."""
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise SystemExit(f"{where} lacks the markers {begin!r} … {end!r}")
    return text[:start] + generated + text[stop + len(end):]


def write_or_check(target: Path, update: Callable[[str], str], *, script: str, check: bool,
                   summary: str) -> int:
    """Rewrite ``target`` with ``update(current text)``; with ``check``, write nothing
    and return 1 when that would change it (the message names ``script`` to run)."""
    current = target.read_text(encoding="utf-8")
    text = update(current)
    if check:
        if text != current:
            print(f"{target} is stale: run python scripts/{script}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"updated {target} ({summary})", file=sys.stderr)
    return 0
