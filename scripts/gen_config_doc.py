"""Write the settings table of docs/CONFIGURATION.md from ``HostSettings``.

    python scripts/gen_config_doc.py           # (re)write the generated table
    python scripts/gen_config_doc.py --check   # exit 1 if it is stale

Only the part between the markers is generated; the rest of the page is prose.
tests/test_docs.py fails when a field of ``HostSettings`` is missing from the page or
the table is stale.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from generated_section import replace_section, write_or_check  # noqa: E402

TARGET = ROOT / "docs" / "CONFIGURATION.md"
BEGIN = "<!-- BEGIN GENERATED SETTINGS (scripts/gen_config_doc.py) -->"
END = "<!-- END GENERATED SETTINGS -->"


def env_var(prefix: str, field: str) -> str:
    """The environment variable of ``field``: ``PLEXICHAT_<FIELD>``."""
    return f"{prefix}{field}".upper()


def type_name(annotation: Any) -> str:
    """``str | None``, ``Path``, ``float`` … as a reader would write them."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:  # the allowed values themselves
        return " | ".join(str(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def constraints(metadata: list[Any]) -> str:
    """``> 0``, ``>= 1`` … from the field's annotated-types metadata."""
    signs = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    out = []
    for item in metadata:
        for attr, sign in signs.items():
            value = getattr(item, attr, None)
            if value is not None:
                out.append(f"{sign} {value}")
    return ", ".join(out)


def default_text(field: Any) -> str:
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str) and value == "":
        return '`""`'
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_table(settings_class: Any) -> str:
    """The generated part: one row per field, in the model's order."""
    prefix = settings_class.model_config.get("env_prefix", "")
    lines = [BEGIN, "",
             "| setting | environment variable | type | default | description |",
             "| --- | --- | --- | --- | --- |"]
    for name, field in settings_class.model_fields.items():
        kind = type_name(field.annotation)
        limits = constraints(field.metadata)
        if limits:
            kind = f"{kind} ({limits})"
        lines.append(f"| `{name}` | `{env_var(prefix, name)}` | `{_cell(kind)}` | "
                     f"{default_text(field)} | {_cell(field.description or '')} |")
    lines += ["", END]
    return "\n".join(lines)


def update(text: str, settings_class: Any) -> str:
    """``text`` with the part between the markers replaced by the generated table."""
    return replace_section(text, BEGIN, END, render_table(settings_class), TARGET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the table is stale instead of writing it")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from plexichat.config import HostSettings

    return write_or_check(TARGET, lambda text: update(text, HostSettings),
                          script="gen_config_doc.py", check=args.check,
                          summary=f"{len(HostSettings.model_fields)} settings")


if __name__ == "__main__":
    sys.exit(main())
