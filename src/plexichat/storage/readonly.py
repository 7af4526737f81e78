"""Reading the operator's decisions without creating a database as a side effect.

Commands that only look (``plexichat --help``, ``plugins list``) must not create a
data directory in whatever folder they are run from.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["operator_states"]


def operator_states() -> dict[str, bool]:
    """``{plugin: enabled}`` from the host database, or ``{}`` if there is none yet."""
    url = os.environ.get("PLEXICHAT_DATABASE_URL")
    if not url:
        db_file = Path(os.environ.get("PLEXICHAT_DATA_DIR", "data")) / "plexichat.db"
        if not db_file.is_file():
            return {}
        import sqlite3

        try:
            with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
                rows = conn.execute(
                    "SELECT plugin, enabled FROM plexichat_plugin_state").fetchall()
        except sqlite3.Error:
            return {}
        return {str(plugin): bool(enabled) for plugin, enabled in rows}
    from .database import Database
    from .store import HostStore

    database = Database(url)
    try:
        return HostStore(database).enabled_states()
    finally:
        database.dispose()
