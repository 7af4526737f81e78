"""The one type of every database id the HTTP API takes in a path or a query.

Ids are stored in SQL ``INTEGER`` columns, which PostgreSQL holds in 32 bits (SQLite in
64), so an id outside ``1 .. 2**31 - 1`` names nothing on every database the host runs
on. FastAPI refuses such an id with 422 and the reason (``Input should be less than or
equal to 2147483647``) before a handler runs: the database is never asked about a number
it cannot hold (PostgreSQL would answer that with an error, not with "not found").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

__all__ = ["MAX_ID", "ResourceId", "before_id"]

MAX_ID = 2**31 - 1
"""The largest id every supported database holds (PostgreSQL's ``INTEGER``)."""

ResourceId = Annotated[int, Path(ge=1, le=MAX_ID,
                                 description="A positive id (at most 2147483647).")]
"""A path parameter naming one stored thing (a channel, message, subscription...)."""


def before_id(description: str) -> object:
    """``Query`` of an optional paging cursor: only ids smaller than it (an id, or one
    past the largest)."""
    return Query(ge=1, le=MAX_ID, description=description)
