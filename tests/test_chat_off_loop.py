"""The chat never blocks the event loop on the database.

The app runs in-process on an event loop in debug mode, whose slow-callback threshold
is 50 ms, over a database that takes 150 ms for every statement: a statement made on
the loop's thread shows up as asyncio's "Executing ... took" warning of at least that
long (shorter ones are the machine's own hiccups, which debug mode on a busy machine
reports too). Registering, logging in, creating a channel, posting 50 messages and
listing them must run no statement on the loop's thread (the failure lists the slow
callbacks asyncio saw), and the messages are published in storage order.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time

import httpx
import pytest
import sqlalchemy as sa
from support.chat import FAST_HASHING

from plexichat.config import HostSettings
from plexichat.web import create_app

STATEMENT_TIME = 0.15
"""Seconds every database statement takes during the chat path."""


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        took = re.search(r" took ([0-9.]+) seconds$", message)
        if message.startswith("Executing") and took and float(took[1]) >= STATEMENT_TIME:
            self.warnings.append(message)


@pytest.fixture
def slow_callbacks():
    handler = _SlowCallbacks()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _slow_statements(engine: sa.Engine, on_loop: list[str]) -> None:
    loop_thread = threading.current_thread()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _wait(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if threading.current_thread() is loop_thread:
            on_loop.append(statement)
        time.sleep(STATEMENT_TIME)


async def _chat_path(tmp_path, slow_callbacks, on_loop: list[str]
                     ) -> tuple[list[str], list[int], float]:
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.05
    settings = HostSettings(data_dir=tmp_path / "data", load_plugins="",
                            redis_url=None, **FAST_HASHING)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=transport, base_url="http://chat.test") as client:
        _slow_statements(app.state.host.database.engine, on_loop)
        slow_callbacks.warnings.clear()  # only the chat path counts
        started = time.monotonic()
        response = await client.post("/api/v1/users", json={"name": "ada",
                                                            "password": "lovelace-1"})
        assert response.status_code == 201, response.text
        response = await client.post("/api/v1/users/login", json={"name": "ada",
                                                                  "password": "lovelace-1"})
        auth = {"Authorization": f"Bearer {response.json()['token']}"}
        response = await client.post("/api/v1/channels", json={"name": "general"},
                                     headers=auth)
        assert response.status_code == 201, response.text
        channel = response.json()["id"]
        me = (await client.get("/api/v1/users/me", headers=auth)).json()
        watcher = app.state.host.services.chat.fanout.subscribe(me["id"], {channel})
        posted = []
        for batch in range(5):  # ten at a time: concurrent posts keep storage order
            answers = await asyncio.gather(*(
                client.post(f"/api/v1/channels/{channel}/messages",
                            json={"text": f"message {batch * 10 + i}"}, headers=auth)
                for i in range(10)))
            assert all(a.status_code == 201 for a in answers), answers[0].text
            posted += [a.json()["id"] for a in answers]
        response = await client.get(f"/api/v1/channels/{channel}/messages",
                                    params={"limit": 50}, headers=auth)
        assert response.status_code == 200, response.text
        listed = [m["id"] for m in response.json()["messages"]]
        elapsed = time.monotonic() - started
        warnings = list(slow_callbacks.warnings)
        published = [watcher.queue.get_nowait() for _ in range(watcher.queue.qsize())]
    assert sorted(posted) == listed
    assert [e["message"]["id"] for e in published if e] == listed  # storage order
    return warnings, listed, elapsed


def test_chat_path_never_blocks_the_event_loop_on_the_database(tmp_path, slow_callbacks):
    on_loop: list[str] = []
    warnings, listed, elapsed = asyncio.run(_chat_path(tmp_path, slow_callbacks, on_loop))
    print(f"chat path (register, log in, channel, 50 posts, list) with {STATEMENT_TIME:g} s "
          f"per statement: {elapsed:.1f} s, {len(warnings)} slow callbacks")
    assert len(listed) == 50
    # A statement on the loop's thread is the defect; asyncio's slow-callback warnings say
    # how long it held the loop. Slow callbacks with no statement on the loop's thread are
    # the machine's own pauses under load (a full CI run shows some): reported, not failed.
    assert on_loop == [], (f"{len(on_loop)} statements ran on the event loop's thread, "
                           f"e.g. {on_loop[0]!r}; slow callbacks: {warnings[:3]}")
