"""The ``plexichat`` command line."""

from __future__ import annotations

import json
import sys

import click

from .. import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plexichat")
def main() -> None:
    """PlexiChat: a chat server whose every extension is a plugin."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option("--log-level", default="info", show_default=True, help="uvicorn log level.")
def serve(host: str, port: int, log_level: str) -> None:
    """Run the PlexiChat server with every installed plugin."""
    import uvicorn

    from ..config import HostSettings
    from ..web import create_app

    app = create_app(HostSettings())
    uvicorn.run(app, host=host, port=port, log_level=log_level)


@main.group()
def plugins() -> None:
    """Inspect installed plugins (never imports their code)."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def plugins_list(as_json: bool) -> None:
    """List installed plugins: available, rejected (with the reason) or disabled."""
    from ..listing import static_listing

    items = static_listing()
    if as_json:
        json.dump([i.as_dict() for i in items], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"PlexiChat {__version__}: {len(items)} plugin(s) installed")
    for column in ("name", "version", "type", "state", "reason", "distribution"):
        table.add_column(column, overflow="fold")
    colours = {"available": "green", "rejected": "red", "disabled": "yellow"}
    for i in items:
        table.add_row(i.name, i.version, i.type,
                      f"[{colours.get(i.state, 'white')}]{i.state}[/]", i.reason,
                      f"{i.distribution} {i.distribution_version}")
    Console().print(table)


@plugins.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def plugins_info(name: str, as_json: bool) -> None:
    """Show one installed plugin: state, reason, manifest, warnings."""
    from ..listing import static_listing

    matches = [i for i in static_listing() if i.name == name]
    if not matches:
        raise click.ClickException(
            f"no plugin named {name!r} is installed (see 'plexichat plugins list')"
        )
    item = matches[0]
    if as_json:
        json.dump(item.as_dict(with_manifest=True), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.pretty import Pretty

    console = Console()
    console.print(f"[bold]{item.name}[/] {item.version} ({item.type})")
    console.print(f"state: {item.state}" + (f" — {item.reason}" if item.reason else ""))
    console.print(f"distribution: {item.distribution} {item.distribution_version}")
    console.print(f"entry point: {item.entry_point}")
    console.print(f"manifest: {item.manifest_file or '(none; defaults apply)'}")
    for warning in item.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if item.manifest:
        console.print(Pretty(item.manifest))
