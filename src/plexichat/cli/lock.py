"""``plexichat plugins lock``: the installed plugin set as a hash-pinned requirements file
(:mod:`plexichat.devkit.install_lock`)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["lock"]


@click.command("lock")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the lock here (default: print it).")
@click.option("--wheel-dir", "wheel_dirs", multiple=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A directory of wheels to take digests from (repeatable; the "
                   "PIP_FIND_LINKS directories are read too).")
@click.option("--catalog", default=None, metavar="PATH_OR_URL",
              help="A plugin catalog whose sha256 entries are used for wheels found "
                   "nowhere else (default: PLEXICHAT_CATALOG).")
def lock(output: Path | None, wheel_dirs: tuple[Path, ...], catalog: str | None) -> None:
    """Write the installed plugin set — every plugin distribution and each distribution
    they require that the host does not — as a requirements file pinned to versions and
    wheel sha256 digests, which `pip install --require-hashes -r FILE` reproduces in a
    fresh environment where the same PlexiChat version is installed.

    Digests come from each distribution's direct_url.json (installed from a catalog
    wheel or a URL with #sha256=), else from a wheel of that version in a --wheel-dir or
    PIP_FIND_LINKS directory, else from the catalog. A distribution none of them knows
    fails the lock, named, with nothing written: a digest is never guessed. Editable
    installs (development checkouts) are left out, with a warning."""
    from ..devkit.artifact_hashes import HashSources, find_links_dirs
    from ..devkit.install_lock import LockError, lock_requirements, render_lock
    from ..kernel.files import write_atomically

    entries = []
    if catalog is None:
        from ..config import HostSettings

        catalog = HostSettings().catalog
    if catalog:
        from ..devkit.catalog import CatalogError, load_catalog

        try:
            entries = load_catalog(catalog)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from None
    sources = HashSources([*wheel_dirs, *find_links_dirs()], entries)
    try:
        result = lock_requirements(sources)
    except LockError as exc:
        raise click.ClickException(str(exc)) from None
    for editable in result.editable:
        click.secho(f"warning: not locked: {editable} is an editable install, not a wheel",
                    fg="yellow", err=True)
    lines = result.lines
    text = render_lock(result)
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomically(output.resolve(), text)
    click.echo(f"{output}: {len(lines)} distribution(s) pinned with their sha256: "
               + (", ".join(f"{line.distribution} {line.version}" for line in lines)
                  or "no plugins installed"), err=True)
