"""Chat fan-out across replicas: one Redis stream carries every replica's chat events.

:class:`ClusterFanout` is the :class:`~plexichat.chat.fanout.FanoutPublisher` of a
clustered replica. The chat service hands it each event right after storing it;
:meth:`ClusterFanout.publish` only queues the event, and one sender task appends the
queue, in order, to the stream :data:`STREAM` (``XADD``, trimmed to about
:data:`STREAM_LENGTH` entries). One reader task per replica follows the stream
(``XREAD BLOCK``) and feeds each entry to the replica's own
:class:`~plexichat.chat.fanout.FanoutHub`.

A replica delivers its own events the same way, when they come back from the stream, so
every replica's clients see the events in the one order of the stream: per replica,
storage order; between replicas, the order their events reached Redis. A reader that
lost Redis for a moment goes on from the last entry it read, so it misses nothing the
stream still holds.

While Redis is unreachable, events wait in this replica's outbox (in storage order, at
most :data:`OUTBOX_LIMIT`; beyond that the oldest are dropped, logged: they stay stored
and in the channel's history) and the sender retries every half second; once Redis is
back they are appended, then delivered everywhere in order. Each entry carries this
sender's id and a running number, so an entry appended twice (a retry after an append
whose answer was lost) is delivered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ..chat.fanout import FanoutHub

__all__ = ["OUTBOX_LIMIT", "STREAM", "STREAM_LENGTH", "ClusterFanout"]

log = logging.getLogger("plexichat.cluster.fanout")

STREAM = "plexichat:chat:events"
"""The Redis stream every replica appends its chat events to and reads from."""
STREAM_LENGTH = 10_000
"""About how many entries the stream keeps (what a reader that lost Redis can catch up on)."""
OUTBOX_LIMIT = 10_000
"""At most this many events wait for an unreachable Redis; the oldest go first."""
_BATCH = 500
_BLOCK_MS = 1000
_RETRY_SECONDS = 0.5


class ClusterFanout:
    """Publishes chat events to every replica through one Redis stream, and delivers the
    stream's events to this replica's ``hub`` (see the module docstring)."""

    def __init__(self, redis: Redis, hub: FanoutHub, *, stream: str = STREAM) -> None:
        self.redis = redis
        self.hub = hub
        self.stream = stream
        self._outbox: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_id = "0-0"
        self._sender = uuid.uuid4().hex[:12]
        self._sent = 0  # running number of this sender's entries
        self._seen: dict[str, int] = {}  # sender: its last entry delivered here
        self._away = False  # the last append failed

    # --- the FanoutPublisher side ----------------------------------------------------

    def publish(self, channel_id: int, event: dict[str, Any]) -> None:
        """Queue ``event`` of ``channel_id`` for every replica's clients."""
        self._queue({"channel_id": channel_id, "event": event})

    def joined(self, user_id: int, channel_id: int) -> None:
        """Tell every replica that ``user_id`` joined ``channel_id``."""
        self._queue({"joined": [user_id, channel_id]})

    def _queue(self, entry: dict[str, Any]) -> None:
        if not self._tasks:  # not started (a host without a server): this process only
            self._apply(entry)
            return
        self._sent += 1
        entry["from"] = [self._sender, self._sent]
        self._outbox.append(entry)
        if len(self._outbox) > OUTBOX_LIMIT:
            dropped = len(self._outbox) - OUTBOX_LIMIT
            del self._outbox[:dropped]
            log.error("Redis unreachable: dropped the %d oldest chat event(s) waiting to "
                      "be published (they stay stored)", dropped)
        self._wake.set()

    # --- running ---------------------------------------------------------------------

    async def start(self) -> None:
        """Read from the stream's current end on, and start sending and reading."""
        with contextlib.suppress(Exception):  # no Redis yet: the reader starts at the top
            newest: Any = await self.redis.xrevrange(self.stream, count=1)
            if newest:
                self._last_id = _text(newest[0][0])
        self._tasks = [asyncio.create_task(self._send(), name="plexichat-fanout-send"),
                       asyncio.create_task(self._read(), name="plexichat-fanout-read")]

    async def stop(self) -> None:
        """Send what is queued (briefly), then stop both tasks and close the connection."""
        if self._outbox:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._drained(), 2.0)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    async def _drained(self) -> None:
        while self._outbox:
            await asyncio.sleep(0.01)

    async def _send(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                batch = self._outbox[:_BATCH]
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for entry in batch:
                            pipe.xadd(self.stream, {"e": json.dumps(entry)},
                                      maxlen=STREAM_LENGTH, approximate=True)
                        await pipe.execute()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # Redis is away: keep them, in order, and retry
                    if not self._away:
                        log.warning("cannot publish chat events to Redis (%s): holding "
                                    "them until it is back", exc)
                        self._away = True
                    await asyncio.sleep(_RETRY_SECONDS)
                    continue
                # forget the batch (what was queued meanwhile stays; some of the batch
                # may have been dropped meanwhile)
                last = batch[-1]["from"][1]
                while self._outbox and self._outbox[0]["from"][1] <= last:
                    del self._outbox[0]
                if self._away:
                    log.info("Redis is back: chat events published again")
                    self._away = False

    async def _read(self) -> None:
        while True:
            try:
                answer: Any = await self.redis.xread({self.stream: self._last_id},
                                                     block=_BLOCK_MS, count=500)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("reading chat events from Redis failed (%s); retrying", exc)
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            for _stream, entries in answer or ():
                for entry_id, fields in entries:
                    self._last_id = _text(entry_id)
                    try:
                        entry = json.loads(fields[b"e"])
                    except (KeyError, ValueError) as exc:
                        log.warning("skipping a malformed chat event %s: %s", entry_id, exc)
                        continue
                    self._apply(entry)

    def _apply(self, entry: dict[str, Any]) -> None:
        """Hand one entry to this replica's hub (once, though appended twice)."""
        origin = entry.get("from")
        if origin is not None:
            sender, number = str(origin[0]), int(origin[1])
            if number <= self._seen.get(sender, 0):
                return
            self._seen[sender] = number
        if "joined" in entry:
            user_id, channel_id = entry["joined"]
            self.hub.joined(int(user_id), int(channel_id))
        else:
            self.hub.publish(int(entry["channel_id"]), entry["event"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
