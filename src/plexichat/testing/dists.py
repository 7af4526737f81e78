"""Throwaway plugin distributions: a package plus its ``*.dist-info``, on disk.

``importlib.metadata`` finds them on any ``sys.path`` entry exactly as it finds what pip
installed, so discovery, manifests and entry points are exercised for real, without
building or installing anything.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..kernel.discovery import ENTRY_POINT_GROUP

__all__ = ["MISSING", "make_plugin"]

MISSING: Any = object()
"""Default of ``manifest``: write a minimal valid ``plugin.json``."""


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
    files: Mapping[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write plugin ``name`` into the directory ``site`` and return its package directory.

    - ``code`` becomes the package's ``__init__.py`` (dedented).
    - ``manifest`` is written as ``plugin.json``: a dict is dumped as JSON, a str is
      written verbatim, ``None`` writes none; by default ``{"name": name, "type":
      "feature"}``.
    - ``package`` (default ``plx_<name>``) and ``distribution`` (default
      ``plx-<name>``) name the import package and the distribution.
    - ``entry_point`` is what the ``plexichat.plugins`` entry point names (default:
      the package; ``"pkg.main:plugin"`` for a guide-style object).
    - ``files`` adds more files to the package (``{"docs/README.md": "..."}``).
    - ``metadata`` adds header lines to ``METADATA`` (``{"Author-email": ...}``).

    ``site`` must be on ``sys.path`` for the plugin to be found (the
    ``plexichat_make_plugin`` fixture takes care of that).
    """
    package = package or f"plx_{name}"
    distribution = distribution or f"plx-{name}".replace("_", "-")
    pkg_dir = Path(site) / package
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
    dist_info = Path(site) / f"{distribution.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
        + (f"Summary: {summary}\n" if summary else "")
        + "".join(f"{key}: {value}\n" for key, value in (metadata or {}).items()),
        encoding="utf-8",
    )
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n{name} = {entry_point or package}\n", encoding="utf-8")
    record = [*written, f"{dist_info.name}/METADATA", f"{dist_info.name}/entry_points.txt",
              f"{dist_info.name}/RECORD"]
    (dist_info / "RECORD").write_text("".join(f"{r},,\n" for r in record), encoding="utf-8")
    return pkg_dir
