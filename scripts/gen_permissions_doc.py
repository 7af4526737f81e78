"""Write the permission table of docs/PERMISSIONS.md from ``plexichat.permissions``.

    python scripts/gen_permissions_doc.py           # (re)write the generated table
    python scripts/gen_permissions_doc.py --check   # exit 1 if it is stale

Only the part between the markers is generated; the rest of the page is prose.
tests/test_docs.py fails when the table is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from generated_section import replace_section, write_or_check  # noqa: E402

TARGET = ROOT / "docs" / "PERMISSIONS.md"
BEGIN = "<!-- BEGIN GENERATED PERMISSIONS (scripts/gen_permissions_doc.py) -->"
END = "<!-- END GENERATED PERMISSIONS -->"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _codes(names: Iterable[str], prefix: str = "") -> str:
    return ", ".join(f"`{prefix}{name}`" for name in names)


def row(permission: Any) -> str:
    """One table row: name, context services and access, description, guide names."""
    opens = (f"{_codes(permission.services, 'context.')} ({permission.access})"
             if permission.services else "nothing yet")
    guide = _codes(permission.guide_services) or "—"
    return (f"| `{permission.name}` | {opens} | {_cell(permission.description)} | "
            f"{guide} |")


def render_table(permissions: Iterable[Any]) -> str:
    """The generated part: one row per permission, in the table's order."""
    lines = [BEGIN, "",
             "| permission | opens (access) | description | guide `get_services()` names |",
             "| --- | --- | --- | --- |"]
    lines += [row(p) for p in permissions]
    lines += ["", END]
    return "\n".join(lines)


def update(text: str, permissions: Iterable[Any]) -> str:
    """``text`` with the part between the markers replaced by the generated table."""
    return replace_section(text, BEGIN, END, render_table(permissions), TARGET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the table is stale instead of writing it")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from plexichat.permissions import PERMISSIONS

    return write_or_check(TARGET, lambda text: update(text, PERMISSIONS),
                          script="gen_permissions_doc.py", check=args.check,
                          summary=f"{len(PERMISSIONS)} permissions")


if __name__ == "__main__":
    sys.exit(main())
