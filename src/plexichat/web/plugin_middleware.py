"""Plugin middleware, consulted per request so enabling and disabling act at once.

A plugin's middleware is ``fn(request, call_next)``. It may be sync and return
``call_next(request)`` without awaiting it, as the plugin guide shows; the host awaits
whatever needs awaiting. ``/api/`` requests pass through the ``api`` layer, everything
else through ``web``. A middleware that raises before calling ``call_next`` is counted
against its plugin and skipped; the request goes on without it. One that raises (or
returns something other than a response) after ``call_next`` answered is counted too,
and that answer is sent. An error raised further down the chain (by a later middleware
or the route) is not charged to the middleware it passes through.

A middleware that neither answers nor calls ``call_next`` within
``HostSettings.middleware_timeout`` seconds (its own time: the time the rest of the app
takes inside ``call_next`` does not count) is cut off: the failure is counted against
its plugin and the request is answered ``504``.

:class:`PluginMiddleware` is a plain ASGI middleware: a request that no plugin
middleware applies to costs one look at its path, and one that some do runs the rest
of the app inline, in the request's own task (:mod:`plexichat.web.downstream`).
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..kernel.calls import HookTimeout
from ..kernel.threads import STUCK_HEADING
from .downstream import Downstream

__all__ = ["PluginMiddleware"]

Next = Callable[[Request], Awaitable[Response]]
Chain = tuple[tuple[str, Callable[..., Any]], ...]


class PluginMiddleware:
    """The one ASGI middleware of the app that runs every plugin middleware in turn.

    ``host`` is the :class:`~plexichat.host.PluginHost` whose wiring lists the plugin
    middleware; ``timeout`` is each middleware's deadline per request, in seconds.
    """

    def __init__(self, app: ASGIApp, host: Any, timeout: float) -> None:
        self.app = app
        self.host = host
        self.timeout = timeout
        self._source: object = None
        self._size = -1
        self._layers: dict[str, Chain] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chain = self._chain("api" if scope["path"].startswith("/api/") else "web")
        if not chain:
            await self.app(scope, receive, send)
            return
        run = _Run(self, chain, Request(scope, receive), asyncio.current_task())
        try:
            response = await run.step(0, run.request)
            run.watch.stop()
            await response(scope, receive, send)
        except BaseException:
            run.watch.stop()
            for downstream in run.downstreams:
                await downstream.abandon()
            raise
        for downstream in run.downstreams:  # work a route does after its answer
            if downstream.complete:
                await downstream.finish()
            else:  # a streamed answer the middleware did not send
                await downstream.abandon()

    def _chain(self, layer: str) -> Chain:
        """The plugin middleware of ``layer``, in order; rebuilt when the wiring changed
        (the wiring appends to its list, and replaces it when a plugin leaves)."""
        wired: list[Any] = self.host.wiring.middleware
        if wired is not self._source or len(wired) != self._size:
            layers: dict[str, list[tuple[str, Callable[..., Any]]]] = {}
            for plugin, spec in wired:
                layers.setdefault(spec.layer, []).append((plugin, spec.middleware))
            self._layers = {name: tuple(chain) for name, chain in layers.items()}
            self._source, self._size = wired, len(wired)
        return self._layers.get(layer, ())


class _Run:
    """One request through the plugin middleware chain."""

    __slots__ = ("chain", "downstreams", "middleware", "request", "watch")

    def __init__(self, middleware: PluginMiddleware, chain: Chain, request: Request,
                 task: asyncio.Task[Any] | None) -> None:
        self.middleware = middleware
        self.chain = chain
        self.request = request
        self.downstreams: list[Downstream] = []
        self.watch = _Watch(middleware.timeout, task)

    async def step(self, index: int, request: Request) -> Response:
        """The answer of the chain from ``index`` on (past its end: the rest of the app)."""
        if index == len(self.chain):
            downstream = Downstream(self.middleware.app)
            self.downstreams.append(downstream)
            return await downstream.respond(request)
        plugin, middleware = self.chain[index]
        host = self.middleware.host
        answered: list[Response] = []  # what the rest of the chain answered, once called
        failed_below = False  # the rest of the chain raised: that error is not this plugin's
        deadline = _Deadline(self.watch)

        async def next_step(req: Request) -> Response:
            nonlocal failed_below
            deadline.pause()
            try:
                response = await self.step(index + 1, req)
            except BaseException:
                failed_below = True
                raise
            finally:
                deadline.resume()
            answered.append(response)
            return response

        try:
            result = await host.dispatcher.calls(plugin, "middleware", deadline.run,
                                                 middleware, request, next_step,
                                                 excuse=lambda _: failed_below)
        except HookTimeout:
            if failed_below:
                raise
            return _gateway_timeout(plugin, self.middleware.timeout)
        except Exception:
            if failed_below:
                raise
            return answered[-1] if answered else await self.step(index + 1, request)
        if not isinstance(result, Response):
            host.dispatcher.record_failure(
                plugin, "middleware",
                TypeError(f"middleware returned {type(result).__name__}, not a Response"))
            return answered[-1] if answered else await self.step(index + 1, request)
        return result


class _Watch:
    """The clock of one request's plugin middleware: one timer for the whole chain, which
    checks the middleware running its own code (not waiting in ``call_next``) when it
    fires, and is set again for what that one has left."""

    __slots__ = ("running", "seconds", "_handle", "_task")

    def __init__(self, seconds: float, task: asyncio.Task[Any] | None) -> None:
        self.seconds = seconds
        self.running: _Deadline | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._task = task

    def arm(self, at: float) -> None:
        """Make sure the timer fires by ``at`` (loop time)."""
        if self._handle is None and self._task is not None:
            self._handle = asyncio.get_running_loop().call_at(at, self._check)

    def stop(self) -> None:
        """The request is done: no more checks."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _check(self) -> None:
        self._handle = None
        running = self.running
        if running is None:  # every middleware waits in call_next; resume() arms again
            return
        left = running.since + self.seconds - asyncio.get_running_loop().time()
        if left > 0:
            self.arm(running.since + self.seconds)
            return
        running.expired = True
        assert self._task is not None
        self._task.cancel()


class _Deadline:
    """A middleware's own time limit: paused while the rest of the app runs inside its
    ``call_next``. Missing it cancels the middleware and raises :class:`HookTimeout`."""

    __slots__ = ("expired", "since", "_watch")

    def __init__(self, watch: _Watch) -> None:
        self._watch = watch
        self.expired = False
        self.since = 0.0

    async def run(self, middleware: Callable[..., Any], request: Request, call_next: Next) -> Any:
        """``middleware(request, call_next)``, awaited, within the deadline."""
        self.resume()
        try:
            value = middleware(request, call_next)
            while value is not None and hasattr(value, "__await__"):
                value = await value
            return value
        except asyncio.CancelledError as cancelled:
            if not self.expired:
                raise
            uncancel = getattr(asyncio.current_task(), "uncancel", None)
            if uncancel is not None:
                uncancel()
            timeout = HookTimeout(f"middleware neither answered nor called call_next "
                                  f"within {self._watch.seconds:g} s")
            # where it waited: the cancellation's way out of the middleware's code
            timeout.stuck = (f"{STUCK_HEADING}:\n"
                             + "".join(traceback.format_tb(cancelled.__traceback__)))
            raise timeout from None
        finally:
            self.pause()

    def pause(self) -> None:
        """Stop the clock (the rest of the app runs)."""
        if self._watch.running is self:
            self._watch.running = None

    def resume(self) -> None:
        """Start the clock again, with the whole deadline."""
        if not self.expired:
            self.since = asyncio.get_running_loop().time()
            self._watch.running = self
            self._watch.arm(self.since + self._watch.seconds)


def _gateway_timeout(plugin: str, seconds: float) -> Response:
    return JSONResponse(status_code=504, content={
        "detail": f"plugin {plugin!r}: request middleware did not answer within "
                  f"{seconds:g} s"})
