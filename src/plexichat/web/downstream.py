"""``call_next`` for plugin middleware: the rest of the app, run in the request's own task.

A plugin middleware awaits ``call_next(request)`` and gets a
:class:`~starlette.responses.Response` back. :class:`Downstream` runs the rest of the
ASGI app (later middleware and the route) *inline* — no task, no stream, no event per
request — and collects what it sends into an :class:`Answered` response, which the
middleware may read or change before it is sent.

The price of running inline: the answer is complete before the middleware sees it. A
streamed body (``StreamingResponse``, a file sent in chunks) reaches the client once the
route finished sending it, and work a route does after its answer (background tasks)
is done before the answer goes out. A body that never ends cannot pass through plugin
middleware; serve such a route outside the layers plugin middleware applies to.

A body the middleware read (``await request.body()``) is replayed to the route.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive

__all__ = ["Answered", "Downstream"]


class Answered(Response):
    """A whole answer the rest of the app sent: status, raw headers and body."""

    def __init__(self, start: Message, body: bytes) -> None:
        # no Response.__init__: status and headers are given as they were sent
        self.status_code = start["status"]
        self.raw_headers = list(start.get("headers", ()))
        self.body = body
        self.background = None


class Downstream:
    """One run of the rest of the app on behalf of a middleware's ``call_next``."""

    __slots__ = ("app", "body", "start")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.start: Message | None = None
        self.body: list[bytes] = []

    async def send(self, message: Message) -> None:
        """The ``send`` the rest of the app is given: it records what is sent."""
        kind = message["type"]
        if kind == "http.response.start":
            self.start = message
        elif kind == "http.response.body":
            self.body.append(message.get("body", b""))

    async def respond(self, request: Request) -> Response:
        """Run the rest of the app for ``request``; its answer as a response."""
        await self.app(request.scope, _receive_of(request), self.send)
        if self.start is None:
            raise RuntimeError("No response returned.")
        return Answered(self.start, b"".join(self.body))


def _receive_of(request: Request) -> Receive:
    """The route's ``receive``: the body the middleware already read, then the server's."""
    receive = request.receive
    body = getattr(request, "_body", None)
    if body is None:
        return receive
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
