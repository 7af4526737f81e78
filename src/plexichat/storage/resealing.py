"""Key rotation: every sealed value of the host database sealed again under a new key.

:func:`rotate_keys` puts a new key first (in the key file; with
``PLEXICHAT_SECRET_KEY`` the operator has put it first already), then re-seals every
sealed value — plugin settings' secrets and webhook signing secrets, the previous ones
of a rotation's overlap too — in one transaction. The old keys stay listed after the new
one, so a failure at any point leaves everything readable: either nothing was re-sealed,
or all of it was, and each value opens with one of the keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from .database import Database, plugin_settings, webhook_subscriptions
from .sealing import SecretBox, load_keys, new_key, write_key_file

__all__ = ["RotationReport", "reseal_all", "rotate_keys"]


@dataclass(frozen=True)
class RotationReport:
    """What a rotation re-sealed, and where the keys are."""

    origin: str
    """``PLEXICHAT_SECRET_KEY`` or the key file's path."""
    keys: int
    """Keys listed now (the new one first)."""
    settings: int
    """Plugins whose settings held sealed values."""
    webhook_secrets: int
    """Webhook signing secrets (current and previous ones) re-sealed."""


def reseal_all(database: Database, box: SecretBox,
               before_commit: Callable[[], None] | None = None) -> tuple[int, int]:
    """Seal every sealed value again under ``box``'s newest key, in one transaction;
    returns ``(plugins, webhook secrets)`` re-sealed. ``before_commit`` runs last inside
    the transaction (an exception there rolls everything back)."""
    plugins = secrets = 0
    s = webhook_subscriptions.c
    with database.engine.begin() as conn:
        for plugin, doc in conn.execute(sa.select(plugin_settings.c.plugin,
                                                  plugin_settings.c.settings)).all():
            resealed = box.reseal_tree(doc)
            if resealed != doc:
                conn.execute(sa.update(plugin_settings)
                             .where(plugin_settings.c.plugin == plugin)
                             .values(settings=resealed))
                plugins += 1
        for row in conn.execute(sa.select(s.id, s.secret, s.previous_secret)).all():
            values = {name: box.reseal(value) for name, value in
                      (("secret", row.secret), ("previous_secret", row.previous_secret))
                      if value is not None}
            conn.execute(sa.update(webhook_subscriptions).where(s.id == row.id)
                         .values(**values))
            secrets += len(values)
        if before_commit is not None:
            before_commit()
    return plugins, secrets


def rotate_keys(database: Database, data_dir: Path, env_value: str | None, *,
                before_commit: Callable[[], None] | None = None) -> RotationReport:
    """Re-seal everything under a new key.

    With ``env_value`` (``PLEXICHAT_SECRET_KEY``) its first key is the new one: the
    operator lists the new key first and keeps the old ones after it. Otherwise a new
    key goes on top of the key file (the old ones stay below it) before anything is
    re-sealed.
    """
    database.add_missing_columns(webhook_subscriptions)  # a database of an older host
    source = load_keys(data_dir, env_value)
    keys = source.keys
    if source.path is not None:
        keys = [new_key(), *keys]
        write_key_file(source.path, keys)
    box = SecretBox(keys, origin=source.origin)
    plugins, secrets = reseal_all(database, box, before_commit)
    return RotationReport(origin=source.origin, keys=len(keys), settings=plugins,
                          webhook_secrets=secrets)
