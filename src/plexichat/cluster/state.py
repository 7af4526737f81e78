"""One plugin state across replicas: reconcile on every desired-state change.

The desired state (enabled/disabled, settings, grants) lives in the shared database with
a generation counter that every change bumps in its own transaction. :class:`ClusterState`
keeps this replica at that state:

- a change committed here is announced on the Redis channel :data:`CHANNEL`;
- every replica, on that signal, reads the generation and, when it moved, runs
  ``host.reconcile()`` (idempotent: what already matches is left alone);
- whatever Redis does, each replica also polls the generation every
  ``cluster_poll_interval`` seconds, so a lost signal or a Redis outage only delays the
  change, and a reconnecting subscriber catches up at once;
- a heartbeat row (replica id, host version, plugins with versions and states) is
  refreshed every ``cluster_heartbeat_interval`` seconds for ``GET /api/v1/cluster``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from . import heartbeats
from .heartbeats import Heartbeat, InstalledPlugin

if TYPE_CHECKING:
    from ..config import HostSettings
    from ..kernel.records import PluginRecord
    from ..storage import Database, HostStore

__all__ = ["CHANNEL", "ClusterState", "ReconcilingHost"]

log = logging.getLogger("plexichat.cluster")

CHANNEL = "plexichat:desired-state"
"""The pub/sub channel of desired-state changes; each message is the new generation."""

_RESUBSCRIBE_DELAY = 1.0


class ReconcilingHost(Protocol):
    """What :class:`ClusterState` needs of the host."""

    store: HostStore
    database: Database

    @property
    def ready(self) -> bool:
        """True once the host started its plugins."""

    @property
    def records(self) -> dict[str, PluginRecord]:
        """Every installed plugin's record."""

    async def reconcile(self, name: str | None = None) -> list[str]:
        """Bring the running plugins to the desired state in the store."""


class ClusterState:
    """Keeps one replica's plugins at the cluster's desired state (see the module)."""

    def __init__(self, host: ReconcilingHost, redis_url: str, *, host_version: str,
                 url: str = "", poll_interval: float = 3.0,
                 heartbeat_interval: float = 2.0, stale_after: float = 15.0) -> None:
        self.host = host
        self.redis_url = redis_url
        self.host_version = host_version
        self.url = url
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.replica_id = uuid.uuid4().hex[:12]
        """Random per process: a restarted replica is a new one."""
        self.started_at = datetime.now(timezone.utc)
        self.seen = 0
        """The generation this replica last reconciled to."""
        self.signals = 0
        """Change signals received from Redis (for diagnostics)."""
        self._redis: Any = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, host: ReconcilingHost, settings: HostSettings, *,
                      url: str = "") -> ClusterState:
        """The cluster state of ``host`` as configured by ``settings`` (Redis URL set)."""
        from .. import __version__

        assert settings.redis_url
        return cls(host, settings.redis_url, host_version=__version__, url=url,
                   poll_interval=settings.cluster_poll_interval,
                   heartbeat_interval=settings.cluster_heartbeat_interval,
                   stale_after=settings.cluster_stale_after)

    # --- start and stop ---------------------------------------------------------------

    async def start(self) -> None:
        """Remember the generation the host starts from, announce this replica's own
        changes, and run the subscriber, the poll and the heartbeat in the background.

        Call it before the host resolves its plugins: a change committed while they start
        is caught up with once they have.
        """
        from .connection import connect

        self._loop = asyncio.get_running_loop()
        self.seen = await asyncio.to_thread(self.host.store.generation)
        self._redis = connect(self.redis_url)
        self.host.store.add_change_listener(self._changed_here)
        self._tasks = [
            asyncio.create_task(self._subscribe(), name="plexichat-cluster-subscribe"),
            asyncio.create_task(self._follow(), name="plexichat-cluster-poll"),
            asyncio.create_task(self._beat(), name="plexichat-cluster-heartbeat"),
        ]

    async def stop(self) -> None:
        """Stop listening and polling, and remove this replica's heartbeat."""
        self.host.store.remove_change_listener(self._changed_here)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None
        with contextlib.suppress(Exception):
            await asyncio.to_thread(heartbeats.forget, self.host.database, self.replica_id)

    # --- signals ----------------------------------------------------------------------

    def _changed_here(self, generation: int) -> None:
        """A desired-state change committed in this process (maybe in another thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._announce_soon, generation)

    def _announce_soon(self, generation: int) -> None:
        task = asyncio.get_running_loop().create_task(self._announce(generation))
        task.add_done_callback(_ignore_result)

    async def _announce(self, generation: int) -> None:
        """Publish ``generation`` for the other replicas (their poll covers a failure)."""
        if self._redis is None:
            return
        try:
            await self._redis.publish(CHANNEL, str(generation))
        except Exception as exc:
            log.warning("cannot announce desired-state generation %d on Redis (%s); "
                        "other replicas will see it by polling", generation, exc)

    async def _subscribe(self) -> None:
        """Wake the follower on each change signal; resubscribe after Redis is lost."""
        lost = False
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    if lost:
                        log.info("Redis is back: following desired-state signals again")
                        lost = False
                    self._wake.set()  # catch up with whatever was missed meanwhile
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.signals += 1
                            self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not lost:
                    log.warning("Redis unavailable (%s): polling the desired-state "
                                "generation every %.1f s", exc, self.poll_interval)
                    lost = True
            await asyncio.sleep(_RESUBSCRIBE_DELAY)

    # --- reconciling ------------------------------------------------------------------

    async def _follow(self) -> None:
        """Reconcile whenever the generation moved: on a signal, or every poll interval."""
        while True:
            # until the host has started, look again soon: a change made while its
            # plugins started is caught up with right after
            wait = self.poll_interval if self.host.ready else min(self.poll_interval, 0.25)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reconciling to the cluster's desired state failed")

    async def catch_up(self) -> list[str]:
        """Reconcile once if the stored generation differs from the last one reconciled
        to (and the host has started); the names of the plugins that changed."""
        if not self.host.ready:
            return []
        generation = await asyncio.to_thread(self.host.store.generation)
        if generation == self.seen:
            return []
        changed = await self.host.reconcile()
        self.seen = generation
        if changed:
            log.info("desired state at generation %d: reconciled %s", generation,
                     ", ".join(changed))
            self._beat_soon()
        return changed

    # --- heartbeats -------------------------------------------------------------------

    def heartbeat(self) -> Heartbeat:
        """This replica's report, as of now."""
        plugins = [InstalledPlugin(r.name, r.candidate.version, r.state.value, r.reason)
                   for r in sorted(self.host.records.values(), key=lambda r: r.name)]
        return Heartbeat(replica_id=self.replica_id, host_version=self.host_version,
                         url=self.url, generation=self.seen, started_at=self.started_at,
                         last_seen=datetime.now(timezone.utc), plugins=plugins,
                         ready=self.host.ready)

    def _beat_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self._write_heartbeat())
        task.add_done_callback(_ignore_result)

    async def _write_heartbeat(self) -> None:
        await asyncio.to_thread(heartbeats.write, self.host.database, self.heartbeat())

    async def _beat(self) -> None:
        """Refresh the heartbeat row every heartbeat interval."""
        while True:
            try:
                await self._write_heartbeat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cannot write this replica's heartbeat: %s", exc)
            await asyncio.sleep(self.heartbeat_interval)


def _ignore_result(task: asyncio.Task[None]) -> None:
    """Done callback: retrieve the result so no failure is reported as unretrieved."""
    if not task.cancelled():
        task.exception()
