"""``call_next`` for plugin middleware: the rest of the app, run in the request's own task.

A plugin middleware awaits ``call_next(request)`` and gets a
:class:`~starlette.responses.Response` back. :class:`Downstream` runs the rest of the
ASGI app (later middleware and the route) *inline*, in the request's own task — no
task, stream or event per request — by stepping its coroutine itself:

- the route's answer is collected up to its last body chunk, or up to the first chunk
  of a streamed body; there the route is paused and ``call_next`` returns the answer
  (:class:`Answered` for a whole body, :class:`Streamed` for one still coming), which
  the middleware may read or change;
- once that answer is sent, the paused route is stepped on in the same task: a streamed
  body flows straight to the server, and work the route does after its answer
  (background tasks) runs after the answer went out, as without middleware.

Staying in one task keeps what is bound to a task (anyio cancel scopes, context
variables) where the route opened it. A body the middleware read
(``await request.body()``) is replayed to the route.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Answered", "Downstream", "Streamed"]


class _Pause:
    """Awaited by the route's ``send`` in the request's task: hands control back to the
    :class:`_Drive` loop."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        yield self


_PAUSE = _Pause()
_DONE = object()


class _Drive:
    """Awaiting it steps the route's coroutine in the awaiting task until the coroutine
    ends (``_DONE``) or pauses (``_PAUSE``): in its own ``send``, or because a task of
    the route (a streamed body is sent from one) paused in ``send``. ``throw`` starts
    by raising that exception in the route."""

    __slots__ = ("downstream", "throw")

    def __init__(self, downstream: Downstream, throw: BaseException | None = None) -> None:
        self.downstream = downstream
        self.throw = throw

    def __await__(self) -> Generator[Any, Any, Any]:
        downstream = self.downstream
        coro = downstream.coro
        error = self.throw
        pending, downstream.waiting_on = downstream.waiting_on, None
        while True:
            if pending is None:
                downstream.stepping = True
                try:
                    pending = coro.send(None) if error is None else coro.throw(error)
                except StopIteration:
                    downstream.coro = None
                    return _DONE
                except BaseException:
                    downstream.coro = None  # the route ended with this error
                    raise
                finally:
                    downstream.stepping = False
                error = None
                if pending is _PAUSE:
                    return _PAUSE
            if pending is None or not hasattr(pending, "add_done_callback"):
                try:  # a bare yield (sleep(0)): give the loop one turn
                    yield pending
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:
                    error = exc
                pending = None
                if downstream.child_paused():
                    return _PAUSE
                continue
            if not pending.done():
                wake = asyncio.get_running_loop().create_future()
                wake._asyncio_future_blocking = True  # awaited as a Future awaits itself
                downstream.wake = wake
                pending.add_done_callback(_waker(wake))
                try:
                    yield wake
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:  # thrown in by the task (e.g. cancellation)
                    error = exc
                finally:
                    downstream.wake = None
                if error is None and not pending.done():  # a route task paused in send
                    downstream.waiting_on = pending
                    return _PAUSE
            pending = None


def _waker(wake: asyncio.Future[None]) -> Callable[[Any], None]:
    """A done-callback that wakes whoever awaits ``wake``."""
    def done(_: Any) -> None:
        if not wake.done():
            wake.set_result(None)
    return done


async def _discard(message: Message) -> None:
    """Where a route's messages go once its answer is complete or was not used."""


class Downstream:
    """One run of the rest of the app on behalf of a middleware's ``call_next``."""

    __slots__ = ("abandoned", "app", "body", "complete", "coro", "forward", "release",
                 "start", "stepping", "wake", "waiting_on")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.start: Message | None = None
        self.body: list[bytes] = []
        self.complete = False
        self.coro: Any = None
        self.forward: Send | None = None
        self.stepping = False
        self.wake: asyncio.Future[None] | None = None
        self.release: asyncio.Future[None] | None = None
        self.waiting_on: Any = None
        self.abandoned = False

    async def send(self, message: Message) -> None:
        """The ``send`` the route is given: collects its answer, pausing the route at
        the end of the answer or at the first chunk of a streamed body."""
        if self.forward is not None:
            await self.forward(message)
            return
        kind = message["type"]
        if kind == "http.response.start":
            self.start = message
        elif kind == "http.response.body":
            self.body.append(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.stepping:  # called from the route's coroutine, in this task
                await _PAUSE
                return
            # sent from a task of the route: hold it until the answer is sent
            self.release = asyncio.get_running_loop().create_future()
            if self.wake is not None and not self.wake.done():
                self.wake.set_result(None)
            await self.release
            if self.abandoned:
                raise asyncio.CancelledError()  # nobody takes this body

    def child_paused(self) -> bool:
        """A task of the route waits in ``send`` for the answer to be sent."""
        return self.release is not None and not self.release.done()

    async def respond(self, request: Request) -> Response:
        """Run the route for ``request`` up to its answer; that answer as a response."""
        self.coro = self.app(request.scope, _receive_of(request), self.send)
        await _Drive(self)
        if self.start is None:
            raise RuntimeError("No response returned.")
        if self.complete or self.coro is None:
            return Answered(self.start, b"".join(self.body))
        return Streamed(self.start, b"".join(self.body), self)

    async def finish(self, send: Send = _discard) -> None:
        """Step the paused route on to its end, its further messages going to ``send``."""
        if self.coro is None:
            return
        self.forward = send
        if self.release is not None and not self.release.done():
            self.release.set_result(None)
        while self.coro is not None:
            await _Drive(self)

    async def abandon(self) -> None:
        """Stop a route whose answer was not used: cancelled where it waits."""
        if self.coro is None:
            return
        self.forward = _discard
        if self.release is not None and not self.release.done():
            self.release.set_result(None)
        self.abandoned = True
        throw: BaseException | None = asyncio.CancelledError()
        try:
            while self.coro is not None:
                await _Drive(self, throw)
                throw = None
        except asyncio.CancelledError:
            pass


class Answered(Response):
    """A whole answer of the route: status, raw headers and body."""

    def __init__(self, start: Message, body: bytes) -> None:
        # no Response.__init__: status and headers are given as they were sent
        self.status_code = start["status"]
        self.raw_headers = list(start.get("headers", ()))
        self.body = body
        self.background = None


class Streamed(Response):
    """An answer whose body the paused route goes on streaming once it is sent."""

    def __init__(self, start: Message, first: bytes, downstream: Downstream) -> None:
        self.status_code = start["status"]
        self.raw_headers = list(start.get("headers", ()))
        self.body = first
        self.background = None
        self._downstream = downstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        await self._downstream.finish(send)


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
