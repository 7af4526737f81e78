"""Write docs/_generated/openapi.json and the endpoint list in docs/API.md.

    python scripts/dump_openapi.py            # the host with the example plugins
    python scripts/dump_openapi.py --all      # ... with every installed plugin
    python scripts/dump_openapi.py -o FILE    # the schema elsewhere (API.md untouched)

The schema is the running host's: plugins are discovered, started (in a throwaway data
directory) and their routes served before ``app.openapi()`` is read — the same as
``plexichat openapi -o FILE``. By default only the plugins of example_plugins/ are
included, so the committed reference does not depend on what else happens to be
installed; each of them must be installed (``pip install -e example_plugins/NAME``;
tox does it). tests/test_docs.py fails when the committed files are stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "docs" / "_generated" / "openapi.json"
API_PAGE = ROOT / "docs" / "API.md"
BEGIN = "<!-- BEGIN GENERATED ENDPOINTS (scripts/dump_openapi.py) -->"
END = "<!-- END GENERATED ENDPOINTS -->"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")
_ENTRY = re.compile(r"""^\s*["']?(?P<key>[\w.-]+)["']?\s*=\s*["'](?P<value>[^"']+)["']""")


def example_plugins(root: Path = ROOT) -> dict[str, str]:
    """``{plugin name: distribution directory}`` of every example plugin, read from the
    ``plexichat.plugins`` entry points in example_plugins/*/pyproject.toml."""
    found: dict[str, str] = {}
    for pyproject in sorted((root / "example_plugins").glob("*/pyproject.toml")):
        section = ""
        for line in pyproject.read_text(encoding="utf-8").splitlines():
            if match := _SECTION.match(line.strip()):
                section = match.group("name").replace("'", '"')
                continue
            if section == 'project.entry-points."plexichat.plugins"':
                if entry := _ENTRY.match(line):
                    found[entry.group("key")] = pyproject.parent.name
    return found


def installed_plugins() -> set[str]:
    """Names in the ``plexichat.plugins`` entry-point group of this environment."""
    import importlib.metadata as md

    return {ep.name for ep in md.entry_points(group="plexichat.plugins")}


def build(load_plugins: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The host's schema with ``load_plugins`` (see ``plexichat openapi``)."""
    from plexichat.cli.openapi import build_schema

    return build_schema(load_plugins)


# --- API.md ------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("``", "`").replace("|", "\\|")


def operations(schema: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """``(owner, method, path, operation)`` sorted by owner, path, method; the owner is
    the plugin's name or ``core``."""
    found = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                owner = operation.get("x-plexichat-plugin") or "core"
                found.append((owner, method.upper(), path, operation))
    return sorted(found, key=lambda o: (o[0] != "core", o[0], o[2], METHODS.index(
        o[1].lower())))


def render_endpoints(schema: dict[str, Any]) -> str:
    """The generated part of API.md: one table per owner (the core, then each plugin)."""
    info = schema.get("info", {})
    plugins = info.get("x-plexichat-plugins", {})
    lines = [BEGIN, "",
             f"Generated from [`_generated/openapi.json`](_generated/openapi.json): "
             f"PlexiChat {info.get('version', '?')} (OpenAPI {schema.get('openapi', '?')})"
             + (", with the plugins " + ", ".join(f"`{n}` {v}" for n, v in plugins.items())
                if plugins else ", no plugins") + ".", ""]
    owner = None
    for op_owner, method, path, operation in operations(schema):
        if op_owner != owner:
            owner = op_owner
            title = "Core" if owner == "core" else f"Plugin `{owner}`"
            lines += ["", f"### {title}", "",
                      "| method | path | summary | responses |", "| --- | --- | --- | --- |"]
        summary = operation.get("summary") or operation.get("operationId", "")
        description = (operation.get("description") or "").strip().split("\n\n")[0]
        if description and description != summary:
            summary = f"{summary}: {description}" if summary else description
        responses = ", ".join(sorted(operation.get("responses", {})))
        lines.append(f"| `{method}` | `{path}` | {_cell(summary)} | {responses} |")
    lines += ["", END]
    return "\n".join(lines)


def update_api_page(text: str, schema: dict[str, Any]) -> str:
    """``text`` (API.md) with its generated part replaced by one for ``schema``."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{API_PAGE} lacks the markers {BEGIN!r} … {END!r}")
    return text[:start] + render_endpoints(schema) + text[end + len(END):]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help=f"where to write the schema (default: {SCHEMA.relative_to(ROOT)},"
                             " and API.md is updated)")
    parser.add_argument("--all", action="store_true",
                        help="include every installed plugin, not only the example plugins")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from plexichat.cli.openapi import dumps

    load: str | None = None
    if not args.all:
        examples = example_plugins()
        missing = sorted(set(examples) - installed_plugins())
        if missing:
            print("example plugins not installed, so not in the schema: "
                  + ", ".join(f"{n} (pip install -e example_plugins/{examples[n]})"
                              for n in missing), file=sys.stderr)
            if args.output is None:
                print("refusing to write the committed reference without them",
                      file=sys.stderr)
                return 1
        load = ",".join(sorted(set(examples) - set(missing)))
    schema, problems = build(load)
    for name, problem in problems.items():
        print(f"warning: plugin {name} is not in the schema ({problem})", file=sys.stderr)
    target = args.output or SCHEMA
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dumps(schema), encoding="utf-8")
    print(f"wrote {target}: {len(schema.get('paths', {}))} paths, plugins "
          f"{', '.join(schema['info']['x-plexichat-plugins']) or 'none'}", file=sys.stderr)
    if args.output is None:
        API_PAGE.write_text(update_api_page(API_PAGE.read_text(encoding="utf-8"), schema),
                            encoding="utf-8")
        print(f"updated {API_PAGE}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
