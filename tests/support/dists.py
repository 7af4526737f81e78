"""Real (if tiny) distributions for tests: a package plus its ``*.dist-info``.

``make_plugin`` is the testing kit's (``plexichat.testing.dists``), which plugin authors
use too; ``backdate`` is for the discovery-index tests.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from plexichat.testing.dists import MISSING, make_plugin

__all__ = ["MISSING", "backdate", "make_plugin"]


def backdate(root: Path, seconds: float = 60.0) -> None:
    """Set the modification time of ``root`` and everything under it ``seconds`` back.

    Tests that change an installation after discovery use this first, so the change is
    seen however coarse the file system's clock is, as it is when installs happen a
    while apart rather than within one clock tick.
    """
    when = time.time() - seconds
    for path in [root, *root.rglob("*")]:
        os.utime(path, (when, when))
