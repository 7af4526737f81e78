"""A plugin route that raises is the plugin's failure, answered 500 by the host.

An exception the app has a handler for (``HTTPException``, a request validation error,
the host's own handlers) is an answer, not a failure: it goes on to that handler.
Anything else a plugin's endpoint raises would reach the server as an unhandled error:
logged without the plugin's name, its connection dropped, nothing kept on the plugin.
:func:`charge_route_errors` wraps each route a plugin serves so that such an exception
is recorded against the plugin (``route:<METHOD> <path>``, with its traceback, counted
against its fault budget like a failing hook or middleware) and the client gets a
``500`` naming the plugin, on a connection that stays usable.
"""

from __future__ import annotations

import traceback
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["charge_route_errors"]


def charge_route_errors(plugin: str, entries: list[Any]) -> None:
    """Wrap the ``handle`` of every route entry in ``entries`` (what serving ``plugin``'s
    routers added to the app's route table) so that its errors are charged to
    ``plugin``; an entry wrapped already is left as it is.

    The entry's own ``handle`` is what the app's router calls for a matched route,
    whether the entry is a route, a mount or (in newer FastAPI releases) a node standing
    for a whole included router.
    """
    for entry in entries:
        handle = getattr(entry, "handle", None)
        if handle is None or isinstance(handle, _Charged):
            continue
        entry.handle = _Charged(handle, plugin)


class _Charged:
    """The ``handle`` of one plugin route entry, whose unhandled errors are its plugin's."""

    __slots__ = ("app", "plugin")

    def __init__(self, app: ASGIApp, plugin: str) -> None:
        self.app = app
        self.plugin = plugin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watching(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching)
        except Exception as exc:
            app = scope.get("app")
            host = getattr(getattr(app, "state", None), "host", None)
            if host is None or _handled_by(app, exc):
                raise
            # what the route's frames hold (all it allocated, if it ran out of memory)
            # goes now, before the failure is recorded
            traceback.clear_frames(exc.__traceback__)
            where = f"route:{scope.get('method', scope['type'].upper())} {scope['path']}"
            host.dispatcher.record_failure(self.plugin, where, exc)
            if scope["type"] != "http":
                raise
            if started:  # the answer is on its way: nothing more can be said
                return
            response = JSONResponse(status_code=500, content={
                "detail": f"plugin {self.plugin!r} failed while answering this request "
                          f"({type(exc).__name__}); its failures are listed at "
                          f"/api/v1/plugins/{self.plugin}"})
            await response(scope, receive, send)


def _handled_by(app: Any, exc: Exception) -> bool:
    """Whether ``app`` has an exception handler for ``exc`` (its class or a base)."""
    handlers = getattr(app, "exception_handlers", None) or {}
    return any(isinstance(key, type) and isinstance(exc, key) for key in handlers)
