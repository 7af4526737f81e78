"""A real webhook receiver on 127.0.0.1: an HTTP server in a thread that records what
it receives and answers with the status codes a test scripts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .dists import make_plugin


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    answered: int


class Receiver:
    """Records POSTs; answers ``answers`` in turn, then ``default`` (200); a 3xx answer
    carries ``Location: <location>`` when one is given (a path on this receiver)."""

    def __init__(self, port: int = 0, answers: list[int] | None = None,
                 default: int = 200, delay: float = 0.0,
                 location: str | None = None) -> None:
        self.requested_port = port
        self.location = location
        self.answers = list(answers or [])
        self.default = default
        self.delay = delay
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    code = receiver.answers.pop(0) if receiver.answers else receiver.default
                    receiver.received.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                        time.monotonic(), code))
                payload = b"ok" if code < 400 else b"receiver says no"
                try:
                    self.send_response(code)
                    if 300 <= code < 400 and receiver.location:
                        self.send_header("location", receiver.url(receiver.location))
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the sender gave up (timeout tests)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.requested_port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            assert time.monotonic() < deadline, (
                f"receiver got {len(self.received)} of {count} requests in {timeout} s")
            time.sleep(0.01)


@contextmanager
def receiving(**kwargs: Any) -> Iterator[Receiver]:
    """A started :class:`Receiver`, stopped afterwards."""
    receiver = Receiver(**kwargs).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def free_port() -> int:
    """A port nothing listens on (yet) at 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


EMITTER = """
    from fastapi import APIRouter, HTTPException
    from plexichat import hookimpl

    router = APIRouter()
    state = {}

    @hookimpl
    def startup(context):
        state["context"] = context

    @router.post("/api/v1/emitter/{event}")
    def emit(event: str):
        try:
            return {"id": state["context"].webhooks.emit(event, {"from": "emitter"})}
        except ValueError as exc:
            raise HTTPException(400, str(exc))

    @hookimpl
    def register_routers():
        return router
"""


def make_emitter(site: Path) -> Path:
    """Install plugin ``emitter``: it declares webhook event ``emitter.ping`` and serves
    ``POST /api/v1/emitter/{event}``, which emits ``event`` through ``context.webhooks``
    (400 with the reason when refused)."""
    return make_plugin(site, "emitter", code=EMITTER, manifest={
        "name": "emitter", "type": "feature", "permissions": ["webhooks:emit"],
        "webhooks": ["emitter.ping"]})
