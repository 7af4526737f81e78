"""Supervised background tasks of plugins.

Each task runs as an asyncio task. One that raises is restarted after an exponential
backoff (``base * 2**n`` seconds, capped), and each crash is reported through
``on_crash`` so it spends its plugin's fault budget. ``stop_plugin`` cancels every task
of a plugin and waits at most ``stop_timeout`` seconds for them.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .contributions import BackgroundTask
from .kernel.calls import PluginCalls

__all__ = ["TaskStatus", "TaskSupervisor"]

log = logging.getLogger("plexichat.tasks")


@dataclass
class TaskStatus:
    """What one supervised task is doing."""

    plugin: str
    name: str
    state: str = "pending"
    """``running``, ``backing-off``, ``stopped`` or ``cancelled``."""
    restarts: int = 0
    last_error: str = ""
    started_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API."""
        return {"name": self.name, "state": self.state, "restarts": self.restarts,
                "last_error": self.last_error}


class TaskSupervisor:
    """Runs, restarts and stops plugins' background tasks."""

    def __init__(
        self,
        *,
        on_crash: Callable[[str, str, BaseException], None] | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 60.0,
        stop_timeout: float = 5.0,
    ) -> None:
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
        status = TaskStatus(plugin, task.name)
        self._status[key] = status
        self._tasks[key] = asyncio.create_task(
            self._supervise(plugin, task, args, status), name=f"plexichat:{plugin}:{task.name}"
        )

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
