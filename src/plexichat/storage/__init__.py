"""The host database: SQLite under the data directory by default, PostgreSQL to scale."""

from .database import Database, default_url
from .store import HostStore

__all__ = ["Database", "HostStore", "default_url"]
