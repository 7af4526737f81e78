"""The one type of every database id the HTTP API takes in a path or a query.

Ids are stored as 64-bit signed integers (SQLite and PostgreSQL alike), so an id outside
``1 .. 2**63 - 1`` names nothing. FastAPI refuses such an id with 422 and the reason
(``Input should be less than or equal to 9223372036854775807``) before a handler runs:
the database is never asked about a number it cannot hold.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

__all__ = ["MAX_ID", "ResourceId", "before_id"]

MAX_ID = 2**63 - 1
"""The largest id the database holds (a signed 64-bit integer)."""

ResourceId = Annotated[int, Path(ge=1, le=MAX_ID,
                                 description="A positive id (at most 2**63 - 1).")]
"""A path parameter naming one stored thing (a channel, message, subscription...)."""


def before_id(description: str) -> object:
    """``Query`` of an optional paging cursor: only ids smaller than it (an id, or one
    past the largest)."""
    return Query(ge=1, le=MAX_ID, description=description)
