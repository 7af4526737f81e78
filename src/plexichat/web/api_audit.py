"""``GET /api/v1/audit``: the audit trail of operators' and plugins' actions (admin).

Pages are newest first. The cursor is an entry id: pass a page's ``next_cursor`` as
``cursor`` to get the entries older than the last one shown; ``next_cursor`` is null on
the last page. Entries recorded meanwhile do not shift the pages (ids only grow). With
``after`` the answer is instead the entries newer than that id, oldest first: what a
client following the trail polls with the highest id it has seen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from ..audit import MAX_PAGE, ActorKind, AuditQuery, AuditTrail
from .auth import require_admin

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEntryView(BaseModel):
    """One action: who, what, when, to what, from where."""

    id: int = Field(description="Grows with every entry; the cursor of pagination.",
                    examples=[42])
    at: datetime = Field(examples=["2026-01-02T10:06:00+00:00"])
    actor: str = Field(description="`kind:id`, e.g. `admin:admin-token`, "
                       "`ui:3fa2c1d09e7b` (a web UI session), `user:ada` (a chat user), "
                       "`plugin:hello`, `host:local` (the host itself; a replica id on a "
                       "cluster), `cli:ops` (the CLI writing the database, as an OS user).",
                       examples=["admin:admin-token"])
    actor_kind: str = Field(examples=["admin"],
                            description="One of: " + ", ".join(k.value for k in ActorKind))
    actor_id: str = Field(examples=["admin-token"])
    source: str = Field(description="The client address of the request; empty when the "
                        "action did not come over the network.", examples=["10.0.0.7"])
    replica: str = Field(description="The replica that recorded it; empty when not "
                         "clustered.", examples=[""])
    action: str = Field(examples=["plugin.disable"])
    plugin: str | None = Field(description="The plugin acted on or acting.",
                               examples=["hello"])
    target: str = Field(examples=["hello"])
    details: dict[str, Any] = Field(
        description="What else there is to know: e.g. a settings change as "
                    "`{changes: {field: {from, to}}}` with secrets masked, a quarantine's "
                    "`reason`.",
        examples=[{"state_before": "started"}])


class AuditPageView(BaseModel):
    """One page of the audit trail."""

    entries: list[AuditEntryView]
    next_cursor: int | None = Field(
        description="Pass it as `cursor` for the next (older) page; null on the last.",
        examples=[17])


@router.get("", response_model=AuditPageView,
            responses={401: {"description": "No admin token."},
                       403: {"description": "Wrong admin token."}},
            dependencies=[Depends(require_admin)])
async def audit_trail(
    request: Request,
    actor: Annotated[str | None, Query(
        description="`kind` (`admin`, `ui`, `user`, `plugin`, `host`, `cli`) or "
                    "`kind:id` (`plugin:hello`).", max_length=300)] = None,
    plugin: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(description="e.g. `plugin.disable`.",
                                        max_length=60)] = None,
    since: Annotated[datetime | None, Query(
        description="Only entries at or after this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(
        description="Only entries before this time (ISO 8601).")] = None,
    cursor: Annotated[int | None, Query(
        ge=1, description="The `next_cursor` of the previous page.")] = None,
    after: Annotated[int | None, Query(
        ge=0, description="Instead of a page: the entries newer than this id, oldest "
                          "first.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """The audit trail, newest first, filtered by actor, plugin, action and time.

    Every operator action (enable, disable, settings changes with secrets masked,
    grants, installs, rescans, webhook subscriptions), admin token refusals, web UI
    logins, failed chat logins, plugin starts, stops, failures and quarantines, and
    what plugins do to other users' data through ``context.chat``.
    """
    if cursor is not None and after is not None:
        raise RequestValidationError([{  # FastAPI's own 422, as the schema documents
            "type": "value_error", "loc": ("query", "after"), "input": after,
            "msg": "pass either cursor (older entries) or after (newer entries), not both"}])
    trail: AuditTrail = request.app.state.host.audit
    page = await trail.aquery(AuditQuery(actor=actor, plugin=plugin, action=action,
                                         since=since, until=until, cursor=cursor,
                                         after=after, limit=limit))
    return {"entries": [e.as_dict() for e in page.entries],
            "next_cursor": page.next_cursor}
