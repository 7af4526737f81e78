"""What passes through plugin middleware's ``call_next`` keeps its timing: a streamed
body reaches the server chunk by chunk, and a route's work after its answer runs after
the answer was sent. Driven at the ASGI level, with uvicorn's ASGI spec version (a
streamed body is sent from a task of the route there)."""

from __future__ import annotations

import asyncio
import types

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from plexichat.contributions import MiddlewareSpec
from plexichat.kernel.calls import PluginCalls
from plexichat.web.plugin_middleware import PluginMiddleware


async def stamp(request, call_next):
    response = await call_next(request)
    response.headers["x-stamped"] = "yes"
    return response


def app_with(routes, middleware=stamp):
    host = types.SimpleNamespace(
        wiring=types.SimpleNamespace(middleware=[("stamping", MiddlewareSpec("api", middleware))]),
        dispatcher=types.SimpleNamespace(calls=PluginCalls()))
    app = Starlette(routes=routes)
    app.add_middleware(PluginMiddleware, host=host, timeout=5.0)
    return app


async def call(app, path, send):
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
             "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
             "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": [], "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    disconnected = asyncio.Event()

    async def receive():
        await disconnected.wait()
        return {"type": "http.disconnect"}

    try:
        await asyncio.wait_for(app(scope, receive, send), 5)
    finally:
        disconnected.set()


def test_streamed_body_reaches_the_server_before_the_route_finished():
    events: dict[str, asyncio.Event] = {}

    async def chunks():
        yield b"first;"
        await events["first out"].wait()  # only the server seeing it lets the route go on
        yield b"second;"

    async def stream(request: Request):
        return StreamingResponse(chunks(), media_type="text/plain")

    sent = []

    async def send(message):
        sent.append(message)
        if message.get("body") == b"first;":
            events["first out"].set()

    async def main():
        events["first out"] = asyncio.Event()
        await call(app_with([Route("/api/stream", stream)]), "/api/stream", send)

    asyncio.run(main())
    assert sent[0]["type"] == "http.response.start"
    assert (b"x-stamped", b"yes") in sent[0]["headers"]
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"first;second;"


def test_work_after_the_answer_runs_after_it_was_sent():
    order = []

    async def after():
        order.append("background")

    async def answer(request: Request):
        return JSONResponse({"ok": True}, background=BackgroundTask(after))

    async def send(message):
        if message["type"] == "http.response.body" and not message.get("more_body"):
            order.append("answer sent")

    asyncio.run(call(app_with([Route("/api/answer", answer)]), "/api/answer", send))
    assert order == ["answer sent", "background"]


def test_streamed_answer_a_middleware_replaces_is_stopped():
    stopped = []

    async def endless():
        try:
            while True:
                yield b"more;"
                await asyncio.sleep(0)
        finally:
            stopped.append(True)

    async def stream(request: Request):
        return StreamingResponse(endless())

    async def replace(request, call_next):
        await call_next(request)
        return JSONResponse({"replaced": True})

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(call(app_with([Route("/api/endless", stream)], replace), "/api/endless",
                     send))
    assert sent[-1]["body"] == b'{"replaced":true}'
    assert stopped == [True]
