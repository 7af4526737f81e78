"""Install every example plugin (each directory of example_plugins/ with a pyproject)
into the running Python's environment, editable, in one pip call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    projects = sorted(p.parent for p in (ROOT / "example_plugins").glob("*/pyproject.toml"))
    args = [arg for project in projects for arg in ("-e", str(project))]
    if not args:
        print("no example plugins found", file=sys.stderr)
        return 1
    print("installing:", ", ".join(p.name for p in projects), flush=True)
    return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args])


if __name__ == "__main__":
    raise SystemExit(main())
