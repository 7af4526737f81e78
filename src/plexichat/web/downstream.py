"""``call_next`` for plugin middleware: the rest of the app, run without a task when it can.

A plugin middleware awaits ``call_next(request)`` and gets a
:class:`~starlette.responses.Response` back. :class:`Downstream` runs the rest of the
ASGI app (later middleware and the route) *inline*, in the request's own task, and
records what it sends:

- most routes send their whole answer and finish within that run: the answer comes
  back as a plain :class:`Answered` response, and no task, stream or timer was made;
- a route that suspends after it began answering (a streamed body, a file sent in
  chunks, work left after the answer such as background tasks) is left to finish in a
  task of its own from there on: the part already sent is kept, the rest of its body
  flows through a one-message channel (the route waits until the answer is read, as
  it would with the server), and :meth:`Downstream.finish` awaits or cancels that task
  once the request's answer went out.

A body the middleware read (``await request.body()``) is replayed to the route.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..kernel.calls import Resumed

__all__ = ["Answered", "Downstream", "Streamed"]


class Answered(Response):
    """A whole answer the rest of the app sent: status, raw headers and body."""

    def __init__(self, start: Message, body: bytes) -> None:  # no Response.__init__:
        self.status_code = start["status"]                       # the headers are given
        self.raw_headers = list(start.get("headers", ()))
        self.body = body
        self.background = None


class _Channel:
    """One message at a time from the route's task to the answer being sent."""

    __slots__ = ("_item", "_put", "_taken")

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self._item: asyncio.Future[Message | None] = loop.create_future()
        self._taken: asyncio.Future[None] | None = None
        self._put = loop.create_future

    async def put(self, message: Message | None) -> None:
        """Hand over ``message`` (None: the route ended) and wait until it is taken."""
        self._taken = self._put()
        self._item.set_result(message)
        await self._taken

    async def get(self) -> Message | None:
        """The next message of the route (None once it ended)."""
        message = await self._item
        self._item = self._put()
        if self._taken is not None and not self._taken.done():
            self._taken.set_result(None)
        return message


class Streamed(Response):
    """An answer whose body the rest of the app is still sending, from its own task."""

    def __init__(self, start: Message, sent: list[Message], downstream: Downstream) -> None:
        self.status_code = start["status"]
        self.raw_headers = list(start.get("headers", ()))
        self.background = None
        self._sent = sent
        self._downstream = downstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        for message in self._sent:
            await send(message)
            if not message.get("more_body", False):
                return
        channel = self._downstream.channel
        assert channel is not None
        while True:
            message = await channel.get()
            if message is None:  # the route ended without finishing its body
                self._downstream.raise_failure()
                return
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self._downstream.consumed = True
                return


class _Drive:
    """Awaiting it runs ``coro`` in the awaiting task until the coroutine ends (None) or
    suspends after it began answering (then the pending future is returned: the caller
    moves the rest into a task)."""

    __slots__ = ("coro", "downstream")

    def __init__(self, coro: Any, downstream: Downstream) -> None:
        self.coro = coro
        self.downstream = downstream

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, downstream = self.coro, self.downstream
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                pending = coro.send(value) if error is None else coro.throw(error)
            except StopIteration:
                return None
            if downstream.start is not None:
                return pending
            try:
                value, error = (yield pending), None
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # thrown in by the task (e.g. cancellation)
                value, error = None, exc


class Downstream:
    """One run of the rest of the app on behalf of a middleware's ``call_next``."""

    __slots__ = ("app", "channel", "consumed", "start", "sent", "task", "_complete")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.start: Message | None = None
        self.sent: list[Message] = []
        self.channel: _Channel | None = None
        self.task: asyncio.Task[None] | None = None
        self.consumed = False
        self._complete = False

    async def send(self, message: Message) -> None:
        """The ``send`` the rest of the app is given."""
        if self.channel is not None:
            await self.channel.put(message)
            return
        kind = message["type"]
        if kind == "http.response.start":
            self.start = message
        elif kind == "http.response.body":
            self.sent.append(message)
            if not message.get("more_body", False):
                self._complete = True

    async def respond(self, request: Request) -> Response:
        """Run the rest of the app for ``request``; its answer as a response."""
        coro = self.app(request.scope, _receive_of(request), self.send)
        pending = await _Drive(coro, self)
        start = self.start
        if start is None:
            raise RuntimeError("No response returned.")
        if pending is None:  # the app ended: everything it sent is here
            return Answered(start, b"".join(m.get("body", b"") for m in self.sent))
        self.channel = _Channel()
        self.task = asyncio.get_running_loop().create_task(self._rest(coro, pending))
        if self._complete:
            self.consumed = True
            return Answered(start, b"".join(m.get("body", b"") for m in self.sent))
        return Streamed(start, self.sent, self)

    async def _rest(self, coro: Any, pending: Any) -> None:
        try:
            await Resumed(coro, pending)
        finally:
            if not self.consumed and self.channel is not None:
                self.channel_closed()

    def channel_closed(self) -> None:
        """Tell a reader of the body that the route ended."""
        channel = self.channel
        if channel is not None and not channel._item.done():
            channel._item.set_result(None)

    def raise_failure(self) -> None:
        """Raise the error that ended the route's task, if that is why its body stopped."""
        task = self.task
        if task is not None and task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                raise error

    async def finish(self) -> None:
        """Once the request's answer went out: let a route's remaining work (background
        tasks) finish, or stop a body nobody reads any more."""
        task = self.task
        if task is None:
            return
        if not self.consumed and not task.done():
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise


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
