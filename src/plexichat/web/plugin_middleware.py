"""Plugin middleware, consulted per request so enabling and disabling act at once.

A plugin's middleware is ``fn(request, call_next)``. It may be sync and return
``call_next(request)`` without awaiting it, as the plugin guide shows; the host awaits
whatever needs awaiting. ``/api/`` requests pass through the ``api`` layer, everything
else through ``web``. A middleware that raises before calling ``call_next`` is counted
against its plugin and skipped; the request goes on without it. One that raises (or
returns something other than a response) after ``call_next`` answered is counted too,
and that answer is sent. An error raised further down the chain (by a later middleware
or the route) is not charged to the middleware it passes through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from starlette.responses import Response

__all__ = ["run_plugin_middleware"]

Next = Callable[[Request], Awaitable[Response]]


async def run_plugin_middleware(request: Request, call_next: Next) -> Response:
    """The one HTTP middleware of the app that runs every plugin middleware in turn."""
    host = request.app.state.host
    layer = "api" if request.url.path.startswith("/api/") else "web"
    chain = [(plugin, spec.middleware) for plugin, spec in host.wiring.middleware
             if spec.layer == layer]
    if not chain:
        return await call_next(request)
    return await _run(chain, 0, request, call_next, host)


async def _run(chain: list[tuple[str, Any]], index: int, request: Request,
               call_next: Next, host: Any) -> Response:
    if index == len(chain):
        return await call_next(request)
    plugin, middleware = chain[index]
    answered: list[Response] = []  # what the rest of the chain answered, once called
    failed_below = False  # the rest of the chain raised: that error is not this plugin's

    async def next_step(req: Request) -> Response:
        nonlocal failed_below
        try:
            response = await _run(chain, index + 1, req, call_next, host)
        except BaseException:
            failed_below = True
            raise
        answered.append(response)
        return response

    try:
        result = await host.dispatcher.calls(plugin, "middleware", middleware, request,
                                             next_step, excuse=lambda _: failed_below)
    except Exception:
        if failed_below:
            raise
        return answered[-1] if answered else await _run(chain, index + 1, request,
                                                        call_next, host)
    if not isinstance(result, Response):
        host.dispatcher.record_failure(
            plugin, "middleware",
            TypeError(f"middleware returned {type(result).__name__}, not a Response"))
        return answered[-1] if answered else await _run(chain, index + 1, request,
                                                        call_next, host)
    return result
