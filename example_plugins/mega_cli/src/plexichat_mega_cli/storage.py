"""The plugin's table, ``mega_cli_usage``: one row per command run over the HTTP API."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

__all__ = ["record", "summary", "usage_table"]

DETAIL_CHARS = 200


def usage_table(context: Any) -> sa.Table:
    """The table (``context.db.table`` names it ``mega_cli_usage``)."""
    return context.db.table(
        "usage",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(DETAIL_CHARS), nullable=False),
    )


def record(context: Any, category: str, command: str, *, admin: bool, outcome: str,
           detail: str) -> None:
    """Log one run: ``outcome`` is ``ok``, ``refused`` or ``error`` (needs ``db:write``)."""
    table = usage_table(context)
    with context.db.begin() as conn:
        conn.execute(table.insert().values(
            at=time.time(), category=category, command=command, admin=admin,
            outcome=outcome, detail=detail[:DETAIL_CHARS]))


def summary(context: Any, limit: int = 20) -> dict[str, Any]:
    """Total runs, runs per command and outcome, and the latest ``limit`` runs."""
    table = usage_table(context)
    with context.db.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        per = conn.execute(
            sa.select(table.c.category, table.c.command, table.c.outcome, sa.func.count())
            .group_by(table.c.category, table.c.command, table.c.outcome)
            .order_by(table.c.category, table.c.command, table.c.outcome)).all()
        recent = conn.execute(
            sa.select(table).order_by(table.c.id.desc()).limit(limit)).mappings().all()
    by_command: dict[str, dict[str, int]] = {}
    for category, command, outcome, n in per:
        by_command.setdefault(f"{category} {command}", {})[outcome] = n
    return {"total": total, "by_command": by_command,
            "recent": [{k: row[k] for k in ("at", "category", "command", "admin", "outcome",
                                            "detail")} for row in recent]}
