"""``plexichat secrets``: the keys that seal the secrets the host database holds."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from .target import require_database

__all__ = ["secrets"]


@click.group()
def secrets() -> None:
    """The keys sealing secret plugin settings and webhook signing secrets."""


@secrets.command("rotate")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def rotate(as_json: bool) -> None:
    """Re-seal every stored secret under a new key, in one transaction.

    With the key file (DATA_DIR/secret.key) a new key is put on its first line and the
    old ones stay below it. With PLEXICHAT_SECRET_KEY, put the new key first yourself
    (keep the old ones after it, comma-separated; 'plexichat secrets generate-key'
    makes one) and restart the hosts with it before running this. A running host keeps
    reading everything; a failure leaves every value readable with the listed keys.
    """
    from ..config import HostSettings
    from ..storage import Database
    from ..storage.resealing import rotate_keys
    from ..storage.sealing import SecretKeyError

    require_database(False)
    settings = HostSettings()
    database = Database(settings.resolved_database_url())
    env = settings.secret_key.get_secret_value() if settings.secret_key else None
    try:
        report = rotate_keys(database, settings.data_dir, env)
    except SecretKeyError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()
    if as_json:
        click.echo(json.dumps(asdict(report)))
        return
    click.echo(f"re-sealed the secrets of {report.settings} plugin(s) and "
               f"{report.webhook_secrets} webhook secret(s) under the first of "
               f"{report.keys} key(s) in {report.origin}")


@secrets.command("generate-key")
def generate_key() -> None:
    """Print a new random key for PLEXICHAT_SECRET_KEY."""
    from ..storage.sealing import new_key

    click.echo(new_key().decode("ascii"))
