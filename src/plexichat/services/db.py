"""A plugin's view of the host database: namespaced tables, gated connections."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage import Database

__all__ = ["PluginDB", "table_prefix"]


def table_prefix(plugin: str) -> str:
    """Every table of ``plugin`` is named ``<plugin>_<something>``."""
    return f"{plugin}_"


class PluginDB:
    """Tables named for the plugin, and connections within its permissions."""

    def __init__(self, database: Database, plugin: str,
                 require: Callable[[str, str], None]) -> None:
        self._database = database
        self._plugin = plugin
        self._require = require
        self.metadata = sa.MetaData()

    @property
    def dialect(self) -> str:
        """The database engine's name (``sqlite``, ``postgresql``)."""
        return self._database.dialect

    def table(self, name: str, *columns: Any, **kwargs: Any) -> sa.Table:
        """Define a table named ``<plugin>_<name>`` in this plugin's metadata."""
        full = name if name.startswith(table_prefix(self._plugin)) else (
            table_prefix(self._plugin) + name)
        if full in self.metadata.tables:
            return self.metadata.tables[full]
        return sa.Table(full, self.metadata, *columns, **kwargs)

    def connect(self) -> AbstractContextManager[Connection]:
        """A read connection (needs ``db:read`` or ``db:write``)."""
        self._require("db", "db:read")
        return self._database.engine.connect()

    def begin(self) -> AbstractContextManager[Connection]:
        """A transaction that commits on success (needs ``db:write``)."""
        self._require("db", "db:write")
        return self._database.engine.begin()
