"""Single-statement writes that two replicas can run at once: upsert, insert-if-new."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["dialect_insert", "insert_new", "upsert"]


def dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the connection's database."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def upsert(conn: sa.Connection, table: sa.Table, **values: Any) -> None:
    """Insert the row, or update the row of the same primary key: one statement, so two
    replicas writing it at once cannot both insert (delete + insert could)."""
    keys = [c.name for c in table.primary_key.columns]
    statement = dialect_insert(conn, table).values(**values)
    conn.execute(statement.on_conflict_do_update(
        index_elements=keys, set_={k: v for k, v in values.items() if k not in keys}))


def insert_new(conn: sa.Connection, table: sa.Table, **values: Any) -> None:
    """Insert the row unless one with its primary key exists (then nothing changes)."""
    keys = [c.name for c in table.primary_key.columns]
    conn.execute(dialect_insert(conn, table).values(**values)
                 .on_conflict_do_nothing(index_elements=keys))
