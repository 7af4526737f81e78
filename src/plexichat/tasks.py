"""Supervised background tasks of plugins.

Each task runs as an asyncio task. One that raises is restarted after an exponential
backoff (``base * 2**n`` seconds, capped), and each crash is reported through
``on_crash`` so it spends its plugin's fault budget. ``stop_plugin`` cancels every task
of a plugin and waits at most ``stop_timeout`` seconds for them.

Placement: given a lease provider (:mod:`plexichat.cluster.leases`, when replicas share
Redis or PostgreSQL), a ``singleton`` task runs only while this replica holds the lease
``task:<plugin>:<name>``: the supervisor waits in ``standby`` trying to take it every
third of the lease period, renews it as often while the task runs, and cancels the task
at once when a renewal fails (another replica may hold it by then). A ``per_replica``
task runs on every replica. Without a lease provider (one process) every task runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .contributions import BackgroundTask
from .kernel.calls import PluginCalls

if TYPE_CHECKING:
    from .cluster.leases import Lease, LeaseProvider

__all__ = ["PER_REPLICA", "PLACEMENTS", "SINGLETON", "TaskStatus", "TaskSupervisor"]

SINGLETON = "singleton"
"""Exactly one replica runs the task."""
PER_REPLICA = "per_replica"
"""Every replica runs the task."""
PLACEMENTS = (SINGLETON, PER_REPLICA)

log = logging.getLogger("plexichat.tasks")


@dataclass
class TaskStatus:
    """What one supervised task is doing."""

    plugin: str
    name: str
    state: str = "pending"
    """``running``, ``standby`` (a singleton another replica runs), ``backing-off``,
    ``stopped`` or ``cancelled``."""
    placement: str = PER_REPLICA
    """``singleton`` or ``per_replica``."""
    restarts: int = 0
    last_error: str = ""
    started_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API."""
        return {"name": self.name, "state": self.state, "restarts": self.restarts,
                "last_error": self.last_error, "placement": self.placement}


class TaskSupervisor:
    """Runs, restarts and stops plugins' background tasks.

    ``leases`` places ``singleton`` tasks on one replica (None: one process, every task
    runs here); ``default_placement`` is the placement of a task that declares none.
    """

    def __init__(
        self,
        *,
        on_crash: Callable[[str, str, BaseException], None] | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 60.0,
        stop_timeout: float = 5.0,
        leases: LeaseProvider | None = None,
        default_placement: str = SINGLETON,
    ) -> None:
        if default_placement not in PLACEMENTS:
            raise ValueError(f"placement {default_placement!r} is not one of {PLACEMENTS}")
        self.leases = leases
        self.default_placement = default_placement
        self.on_crash = on_crash
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stop_timeout = stop_timeout
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._status: dict[tuple[str, str], TaskStatus] = {}
        self._cancelled: set[asyncio.Task[None]] = set()  # by cancel(), maybe not ended

    def start(self, plugin: str, task: BackgroundTask, args: dict[str, Any]) -> None:
        """Start supervising ``task`` of ``plugin``; ``args`` offers e.g. ``context``."""
        key = (plugin, task.name)
        if key in self._tasks and not self._tasks[key].done():
            raise ValueError(f"plugin {plugin!r} already runs a task named {task.name!r}")
        placement = task.placement or self.default_placement
        if placement not in PLACEMENTS:
            raise ValueError(f"task {task.name!r} of plugin {plugin!r}: placement "
                             f"{placement!r} is not one of {', '.join(PLACEMENTS)}")
        status = TaskStatus(plugin, task.name, placement=placement)
        self._status[key] = status
        if placement == SINGLETON and self.leases is not None:
            run = self._singleton(self.leases.lease(f"task:{plugin}:{task.name}"),
                                  plugin, task, args, status)
        else:
            run = self._supervise(plugin, task, args, status)
        self._tasks[key] = asyncio.create_task(run, name=f"plexichat:{plugin}:{task.name}")

    def status(self, plugin: str) -> list[TaskStatus]:
        """The tasks of ``plugin``."""
        return [s for (p, _), s in sorted(self._status.items()) if p == plugin]

    async def stop_plugin(self, plugin: str) -> None:
        """Cancel every task of ``plugin`` and wait (bounded) for them to end."""
        keys = [k for k in self._tasks if k[0] == plugin]
        tasks = [self._tasks.pop(k) for k in keys]
        for t in tasks:
            t.cancel()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=self.stop_timeout)
            for t in pending:
                log.warning("task %s of plugin %s ignored cancellation; closing it",
                            t.get_name(), plugin)
                _close(t)
        for k in keys:
            self._status[k].state = "cancelled"

    def cancel(self, plugin: str) -> None:
        """Cancel every task of ``plugin`` without waiting (from synchronous code)."""
        for key in [k for k in self._tasks if k[0] == plugin]:
            task = self._tasks.pop(key)
            task.cancel()
            self._cancelled.add(task)
            task.add_done_callback(self._cancelled.discard)
            self._status[key].state = "cancelled"

    async def stop_all(self) -> None:
        """Cancel every task of every plugin, and wait (bounded) for those that
        :meth:`cancel` cancelled earlier."""
        for plugin in sorted({p for p, _ in self._tasks}):
            await self.stop_plugin(plugin)
        if self._cancelled:
            _, pending = await asyncio.wait(list(self._cancelled), timeout=self.stop_timeout)
            for t in pending:
                log.warning("task %s ignored cancellation; closing it", t.get_name())
                _close(t)

    async def close(self) -> None:
        """Stop every task and free the lease provider's connections."""
        await self.stop_all()
        if self.leases is not None:
            await self.leases.close()

    async def _singleton(self, lease: Lease, plugin: str, task: BackgroundTask,
                         args: dict[str, Any], status: TaskStatus) -> None:
        """Run ``task`` only while ``lease`` is held here; wait for it otherwise."""
        assert self.leases is not None
        every = self.leases.period / 3
        try:
            while True:
                status.state = "standby"
                if not await _quietly(lease.acquire, lease.name, "taking"):
                    await asyncio.sleep(every)
                    continue
                log.info("lease %s taken: task %s of plugin %s runs on this replica",
                         lease.name, task.name, plugin)
                running = asyncio.create_task(self._supervise(plugin, task, args, status))
                try:
                    while not running.done():
                        await asyncio.wait([running], timeout=every)
                        if not running.done() and not await _quietly(
                                lease.renew, lease.name, "renewing"):
                            log.warning("lease %s lost: task %s of plugin %s stops here",
                                        lease.name, task.name, plugin)
                            break
                finally:
                    if not running.done():
                        running.cancel()
                        await asyncio.wait([running], timeout=self.stop_timeout)
                if running.done() and not running.cancelled():
                    running.result()  # a task that returned on its own: done
                    return
                await asyncio.sleep(every)  # lost: another replica holds it by now
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(lease.release())

    async def _supervise(self, plugin: str, task: BackgroundTask, args: dict[str, Any],
                         status: TaskStatus) -> None:
        failures = 0
        where = f"task:{task.name}"
        run = functools.partial(task.func, **_chosen(task.func, args))
        calls = PluginCalls(record=self.on_crash)
        while True:
            status.state = "running"
            try:
                if task.interval is None:
                    await calls(plugin, where, run)
                    status.state = "stopped"  # returned on its own
                    return
                while True:
                    await calls(plugin, where, run)
                    failures = 0
                    await asyncio.sleep(task.interval)
            except asyncio.CancelledError:
                status.state = "cancelled"
                raise
            except Exception as exc:  # blamed on its plugin by calls (recorded, or logged)
                failures += 1
                status.restarts += 1
                status.last_error = f"{type(exc).__name__}: {exc}"
                delay = min(self.backoff_cap, self.backoff_base * (2 ** (failures - 1)))
                status.state = "backing-off"
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:  # e.g. its plugin quarantined by this crash
                    status.state = "cancelled"
                    raise


async def _quietly(step: Callable[[], Any], lease: str, doing: str) -> bool:
    """``await step()``; False (logged) when it raises: a lease not held is not a crash."""
    try:
        return bool(await step())
    except Exception as exc:
        log.warning("lease %s: %s it failed: %s", lease, doing, exc)
        return False


def _close(task: asyncio.Task[None]) -> None:
    """End a task whose coroutine swallowed its cancellation.

    Closing the coroutine raises ``GeneratorExit`` where it waits, which an ``except
    CancelledError`` does not catch; cancelling the task again stops it waiting for
    that await. Otherwise the task would keep the event loop (and the process) from
    shutting down.
    """
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    try:
        task.get_coro().close()
    except RuntimeError as exc:  # it ignored GeneratorExit as well
        log.error("task %s cannot be stopped: %s", task.get_name(), exc)
    task.cancel()


def _chosen(func: Callable[..., Any], args: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``args`` that ``func`` takes as parameters."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}
    return {k: v for k, v in args.items() if k in params}
