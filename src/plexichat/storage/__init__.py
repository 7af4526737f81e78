"""The host database: SQLite under the data directory by default, PostgreSQL to scale."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Database", "HostStore", "default_url"]

if TYPE_CHECKING:
    from .database import Database, default_url
    from .store import HostStore


def __getattr__(name: str) -> Any:
    # Imported on first use, so that importing ``.readonly`` (``plexichat plugins
    # list``) does not import SQLAlchemy.
    if name in ("Database", "default_url"):
        from . import database

        return getattr(database, name)
    if name == "HostStore":
        from .store import HostStore

        return HostStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
