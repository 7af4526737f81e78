"""``plexichat plugins new``: create a plugin distribution with
:func:`plexichat.devkit.scaffold.scaffold`."""

from __future__ import annotations

from pathlib import Path

import click

from ..devkit.scaffold import PluginProject, ScaffoldError, plugin_types, scaffold

__all__ = ["new"]


@click.command("new")
@click.argument("name")
@click.option("--type", "plugin_type", default="feature", show_default=True,
              type=click.Choice(plugin_types()), help="The plugin type written to plugin.json.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="The project directory to create (default: ./NAME).")
@click.option("--force", is_flag=True, help="Write into a directory that is not empty.")
def new(name: str, plugin_type: str, directory: Path | None, force: bool) -> None:
    """Create a plugin distribution NAME: pyproject (hatchling + entry point),
    plugin.json, a package with a startup hook and a route, tests, docs and CI/release
    workflows. Its tests pass once it is installed: cd into it, pip install -e '.[test]',
    pytest. Replace the placeholder metadata (authors, description, urls) before
    publishing; plexichat plugins check points at any left."""
    try:
        root, written = scaffold(name, directory, plugin_type, force=force)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from None
    project = PluginProject(name, plugin_type)
    click.echo(f"created plugin {name!r} ({plugin_type}) in {root}:")
    for path in written:
        click.echo(f"  {path.relative_to(root)}")
    try:
        shown = root.relative_to(Path.cwd())
    except ValueError:
        shown = root
    click.echo(f"""
next:
  cd {shown}
  pip install -e '.[test]'                # the tests find {name} through its entry point
  pytest                                  # a host with only {name}, GET {project.route}/status
  plexichat plugins check .               # before publishing: also lists the placeholders
                                          # (authors, description, urls) to replace
  plexichat plugins install .             # into this environment (--url to go live)""")
