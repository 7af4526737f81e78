"""The web UI's Audit page (``/audit``): the audit trail as a table, with filters.

The same query as ``GET /api/v1/audit`` (:class:`~plexichat.audit.AuditQuery`): newest
first, filtered by actor, plugin, action and time (the form's times are UTC), with a
link to the older entries that carries the page's cursor.
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..audit import AuditAction, AuditQuery, AuditTrail
from .ui_render import render
from .ui_session import require_login

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

_FILTERS = ("actor", "plugin", "action", "since", "until")


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request) -> Response:
    """The audit trail, newest first, :data:`PAGE_SIZE` entries a page."""
    await require_login(request)
    params = request.query_params
    filters = {key: params.get(key, "").strip()[:300] for key in _FILTERS}
    error = ""
    try:
        since = _time(filters["since"], "since")
        until = _time(filters["until"], "until")
        cursor = int(params["cursor"]) if params.get("cursor") else None
    except ValueError as exc:
        error, since, until, cursor = str(exc), None, None, None
    trail: AuditTrail = request.app.state.host.audit
    page = await trail.aquery(AuditQuery(
        actor=filters["actor"] or None, plugin=filters["plugin"] or None,
        action=filters["action"] or None, since=since, until=until, cursor=cursor,
        limit=PAGE_SIZE))
    next_page = None
    if page.next_cursor is not None:
        kept = {k: v for k, v in filters.items() if v}
        next_page = "/audit?" + urllib.parse.urlencode({**kept, "cursor": page.next_cursor})
    return await render(request, "audit.html", title="Audit", entries=page.entries,
                        filters=filters, actions=[a.value for a in AuditAction],
                        next_page=next_page, error=error)


def _time(value: str, name: str) -> datetime | None:
    """A filter's time (ISO 8601, as a ``datetime-local`` field sends it; UTC unless
    it names its zone), or None when empty."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not a date and time such as "
                         "2026-01-02T10:06") from None
