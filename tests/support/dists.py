"""Real (if tiny) distributions for tests: a package plus its ``*.dist-info``.

``importlib.metadata`` finds them on any ``sys.path`` entry exactly as it finds what pip
installed, so discovery, manifests and entry points are exercised for real.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

MISSING = object()


def make_plugin(
    site: Path,
    name: str,
    *,
    code: str = "",
    manifest: Any = MISSING,
    package: str | None = None,
    distribution: str | None = None,
    version: str = "1.0.0",
    entry_point: str | None = None,
    summary: str = "",
    files: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write plugin ``name`` into ``site`` and return its package directory.

    ``manifest`` is written as ``plugin.json`` (a dict is dumped as JSON, a str is written
    verbatim, ``None`` writes no manifest); by default a minimal valid one.
    ``metadata`` adds header lines to ``METADATA`` (e.g. ``{"Author-email": ...}``).
    """
    package = package or f"plx_{name}"
    distribution = distribution or f"plx-{name}".replace("_", "-")
    pkg_dir = site / package
    pkg_dir.mkdir(parents=True, exist_ok=True)
    (pkg_dir / "__init__.py").write_text(textwrap.dedent(code), encoding="utf-8")
    written = [f"{package}/__init__.py"]
    if manifest is MISSING:
        manifest = {"name": name, "type": "feature"}
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest, indent=2)
        (pkg_dir / "plugin.json").write_text(text, encoding="utf-8")
        written.append(f"{package}/plugin.json")
    for rel, content in (files or {}).items():
        target = pkg_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content), encoding="utf-8")
        written.append(f"{package}/{rel}")
    dist_info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
        + (f"Summary: {summary}\n" if summary else "")
        + "".join(f"{key}: {value}\n" for key, value in (metadata or {}).items()),
        encoding="utf-8",
    )
    (dist_info / "entry_points.txt").write_text(
        f"[plexichat.plugins]\n{name} = {entry_point or package}\n", encoding="utf-8"
    )
    record = [*written, f"{dist_info.name}/METADATA", f"{dist_info.name}/entry_points.txt",
              f"{dist_info.name}/RECORD"]
    (dist_info / "RECORD").write_text("".join(f"{r},,\n" for r in record), encoding="utf-8")
    return pkg_dir


def backdate(root: Path, seconds: float = 60.0) -> None:
    """Set the modification time of ``root`` and everything under it ``seconds`` back.

    Tests that change an installation after discovery use this first, so the change is
    seen however coarse the file system's clock is, as it is when installs happen a
    while apart rather than within one clock tick.
    """
    import os
    import time

    when = time.time() - seconds
    for path in [root, *root.rglob("*")]:
        os.utime(path, (when, when))
