"""``plexichat openapi``: the OpenAPI schema of the host with the installed plugins.

The host is started for real (plugins discovered, imported and started, in a throwaway
data directory), so the schema holds every route the plugins serve. Each plugin
operation is marked ``x-plexichat-plugin: <name>`` and ``info.x-plexichat-plugins``
lists the plugins included with their versions. The output is JSON with sorted keys,
so two runs over the same plugins give the same bytes.

Only click is imported with this module; the host is imported when the command runs.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from ..kernel.states import PluginState

__all__ = ["PluginProblem", "build_schema", "dumps", "openapi"]

_CONVERTER = re.compile(r"{(\w+):[^}]+}")


class PluginProblem(click.ClickException):
    """A plugin that should be in the schema did not start."""


def build_schema(load_plugins: str | None = None, *,
                 settings: Any = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Start a host with ``load_plugins`` (comma list; None: as the environment says,
    every installed plugin by default) and return its OpenAPI schema and
    ``{plugin: "state: reason"}`` for every plugin that did not start.

    ``settings`` (a :class:`~plexichat.config.HostSettings`) replaces the defaults: a
    temporary data directory with SQLite, and a random admin token.
    """
    import asyncio
    import secrets
    import tempfile

    from ..config import HostSettings

    with tempfile.TemporaryDirectory(prefix="plexichat-openapi-") as tmp:
        if settings is None:
            values: dict[str, Any] = {"data_dir": Path(tmp), "database_url": None,
                                      "admin_token": secrets.token_urlsafe(16)}
            if load_plugins is not None:
                values["load_plugins"] = load_plugins
            settings = HostSettings(**values)
        # Whatever plugins print while starting must not end up in a schema on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            return asyncio.run(_started_schema(settings))


async def _started_schema(settings: Any) -> tuple[dict[str, Any], dict[str, str]]:
    from ..web import create_app
    from ..web.routes import flatten_routes

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await app.state.plugin_startup
        schema = app.openapi()
        host = app.state.host
        problems: dict[str, str] = {}
        included: dict[str, str] = {}
        for name, record in sorted(host.records.items()):
            state = record.state.value
            if record.state is PluginState.STARTED:
                included[name] = record.candidate.version
            elif record.state is not PluginState.DISABLED:
                problems[name] = f"{state}: {record.reason}" if record.reason else state
        paths = schema.get("paths", {})
        for entry in app.router.routes:
            plugin = getattr(entry, "plexichat_plugin", None)
            if plugin is None:
                continue
            for route in flatten_routes([entry]):
                operations = paths.get(_CONVERTER.sub(r"{\1}", route.path), {})
                for method in route.methods or ():
                    operation = operations.get(method.lower())
                    if isinstance(operation, dict):
                        operation["x-plexichat-plugin"] = plugin
        schema.setdefault("info", {})["x-plexichat-plugins"] = included
    return json.loads(json.dumps(schema)), problems


def dumps(schema: dict[str, Any]) -> str:
    """The schema as the committed file holds it: sorted keys, two-space indent."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(output: Path | None, load_plugins: str | None, strict: bool) -> None:
    """Build the schema and write it to ``output`` (stdout when None)."""
    schema, problems = build_schema(load_plugins)
    for name, problem in problems.items():
        click.echo(f"warning: plugin {name} is not in the schema ({problem})", err=True)
    text = dumps(schema)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        plugins = ", ".join(schema["info"]["x-plexichat-plugins"]) or "none"
        click.echo(f"wrote {output}: {len(schema.get('paths', {}))} paths; plugins: "
                   f"{plugins}", err=True)
    if strict and problems:
        raise PluginProblem(f"{len(problems)} plugin(s) did not start: "
                            f"{', '.join(problems)}")


@click.command("openapi")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="File to write (default: standard output).")
@click.option("--plugins", "load_plugins", default=None, metavar="NAMES",
              help="Comma list of the only plugins to include (default: every installed "
                   "plugin, or what PLEXICHAT_LOAD_PLUGINS says).")
@click.option("--strict", is_flag=True,
              help="Exit 1 when a plugin that should be included did not start.")
def openapi(output: Path | None, load_plugins: str | None, strict: bool) -> None:
    """Write the OpenAPI schema of the host with the installed plugins' routes.

    Starts the plugins in a throwaway data directory (nothing of the real host's data
    is touched), reads the app's schema and stops them again.
    """
    write_schema(output, load_plugins, strict)
