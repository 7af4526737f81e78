"""``kill -9`` of a served host while it is being written to loses nothing acknowledged.

A real ``plexichat serve`` on its default SQLite database: two REST clients post
messages and a plugin's background task writes its key-value store (``context.kv``)
as fast as it can, noting each key once ``kv.set`` returned. The host is killed with
SIGKILL mid-stream (no shutdown, nothing flushed), then started again on the same data
directory: every message answered ``201`` and every noted KV write is there, whole.
See docs/RELIABILITY.md ("When the host process is killed").
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from support.chat import Chatter
from support.dists import make_plugin
from support.served import serve

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

KV_WRITER = """
    import asyncio
    import os

    from fastapi import APIRouter
    from plexichat import hookimpl
    from plexichat.contributions import BackgroundTask

    router = APIRouter()
    CONTEXT = {}

    def value_of(n):
        return {"n": n, "text": f"value {n} " + "x" * 512}

    async def write_forever(context):
        noted = os.environ.get("KV_WRITES_NOTED")
        if not noted:  # the restarted host only reads
            await asyncio.Event().wait()
        n = 0
        with open(noted, "a") as fh:
            while True:
                context.kv.set(f"key-{n:06d}", value_of(n))
                fh.write(f"key-{n:06d}\\n")  # written once set() returned
                fh.flush()
                n += 1
                await asyncio.sleep(0.005)  # the chat gets the loop too

    @router.get("/api/v1/kv-writer/items")
    def items():
        kv = CONTEXT["context"].kv
        return {key: kv.get(key) for key in kv.keys("key-")}

    @hookimpl
    def startup(context):
        CONTEXT["context"] = context

    @hookimpl
    def register_routers():
        return router

    @hookimpl
    def register_background_tasks():
        return [BackgroundTask("write", write_forever)]
"""

ENV = {"PLEXICHAT_LOAD_PLUGINS": "kv_writer", "PLEXICHAT_PASSWORD_HASH_TIME_COST": "1",
       "PLEXICHAT_PASSWORD_HASH_MEMORY_KIB": "64"}


def _post_until(stop: threading.Event, user: Chatter, channel: int, who: str,
                acknowledged: dict[int, str]) -> None:
    """Post ``<who> <n>`` messages until ``stop`` or the host dies; note each 201."""
    n = 0
    while not stop.is_set():
        text = f"{who} {n}"
        try:
            response = user.post(channel, text)
        except Exception:  # the host was killed mid-request: not acknowledged
            return
        if response.status_code == 201:
            acknowledged[response.json()["id"]] = text
        n += 1


def test_a_killed_host_keeps_every_acknowledged_message_and_kv_write(site, tmp_path: Path):
    make_plugin(site, "kv_writer", code=KV_WRITER)
    noted = tmp_path / "kv-writes.txt"
    acknowledged: dict[int, str] = {}
    with serve(site, tmp_path, "--log-level", "warning",
               env={**ENV, "KV_WRITES_NOTED": str(noted)}) as served:
        served.wait_ready()
        setup = served.client()
        owner = Chatter(setup, "owner")  # type: ignore[arg-type]
        channel = owner.create_channel()
        stop = threading.Event()
        writers = []
        for who in ("alice", "bob"):
            client = served.client()
            user = Chatter(client, who)  # type: ignore[arg-type]
            assert user.join(channel).status_code == 200
            writers.append(threading.Thread(target=_post_until,
                                            args=(stop, user, channel, who, acknowledged)))
        for writer in writers:
            writer.start()
        time.sleep(3.0)  # messages and KV writes in full flow
        served.proc.send_signal(signal.SIGKILL)
        served.proc.wait(timeout=10)
        stop.set()
        for writer in writers:
            writer.join(timeout=30)
        assert served.proc.returncode == -signal.SIGKILL
    keys = noted.read_text().splitlines()
    assert len(acknowledged) >= 10 and len(keys) >= 10, (len(acknowledged), len(keys))

    with serve(site, tmp_path, "--log-level", "warning", env=ENV) as again:
        again.wait_ready()
        client = again.client()
        reader = Chatter.__new__(Chatter)  # the owner, logged in again
        reader.client = client  # type: ignore[assignment]
        response = client.post("/api/v1/users/login",
                               json={"name": "owner", "password": "password-1"})
        assert response.status_code == 200, response.text
        reader.headers = {"Authorization": f"Bearer {response.json()['token']}"}
        stored: dict[int, str] = {}
        before = None
        while True:
            page = reader.page(channel, limit=200, **({"before": before} if before else {}))
            stored.update((m["id"], m["text"]) for m in page["messages"])
            before = page["next_before"]
            if before is None:
                break
        items = client.get("/api/v1/kv-writer/items").json()

    lost = {i: t for i, t in acknowledged.items() if stored.get(i) != t}
    assert not lost, f"{len(lost)} acknowledged messages lost or changed: {lost}"
    for key in keys:
        n = int(key.removeprefix("key-"))
        assert items.get(key) == {"n": n, "text": f"value {n} " + "x" * 512}, key
    # nothing half-written: whatever is stored is whole, acknowledged or not
    assert all(t.split(" ")[0] in ("alice", "bob") for t in stored.values())
    for key, value in items.items():
        n = int(key.removeprefix("key-"))
        assert value == {"n": n, "text": f"value {n} " + "x" * 512}, key
