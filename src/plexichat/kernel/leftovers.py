"""What a plugin left running after it stopped: threads and asyncio tasks in its code.

A plugin that starts a thread or an event-loop task in ``startup`` should end it in
``shutdown``. One that does not keeps running code the host has taken out: its routes
and hooks are gone, but its thread still polls and its task still ticks. After a
plugin's shutdown the host looks for threads and tasks whose stack runs through the
plugin's own files (:func:`find_leftovers`): the tasks are cancelled (a task can be),
the threads named (Python cannot stop a thread from outside: it runs until it returns
or the process ends), and both are reported on the plugin as a warning.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Leftovers", "code_root", "end_leftovers", "find_leftovers"]


@dataclass
class Leftovers:
    """Threads and tasks still running a stopped plugin's code."""

    threads: list[threading.Thread] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.threads or self.tasks)

    def cancel_tasks(self) -> None:
        """Cancel every task left (threads cannot be cancelled)."""
        for task in self.tasks:
            task.cancel()

    def warning(self) -> str:
        """What the operator is told: each thread and task by name."""
        parts = [f"thread {t.name!r} (still running: a thread cannot be stopped from "
                 "outside; it ends with the process)" for t in self.threads]
        parts += [f"task {_task_name(t)!r} (cancelled)" for t in self.tasks]
        return ("left running after its shutdown: " + "; ".join(parts)
                + "; a plugin should end what it started in its shutdown hook")


def code_root(package_dir: str | None, obj: Any) -> str | None:
    """The directory (or single file) holding a plugin's code; None if unknown."""
    if package_dir:
        return os.path.realpath(package_dir)
    for candidate in (obj, type(obj)):
        try:
            return os.path.realpath(inspect.getfile(candidate))
        except (TypeError, OSError):
            continue
    return None


async def find_leftovers(root: str | None, *, grace: float = 1.0) -> Leftovers:
    """Threads and tasks (of the running event loop) whose stack is in ``root``'s code.

    What the plugin's shutdown just asked to end gets a moment to do so: a task whose
    cancellation is under way is not counted, and threads still running get up to
    ``grace`` seconds to return before they are.
    """
    if root is None:
        return Leftovers()
    prefix = root if root.endswith(".py") else root.rstrip(os.sep) + os.sep
    await asyncio.sleep(0)  # tasks cancelled a moment ago finish now
    found = Leftovers(threads=_threads_in(prefix), tasks=_tasks_in(prefix))
    deadline = time.monotonic() + grace
    while found.threads and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        found.threads = [t for t in found.threads if t.is_alive()]
    return found


async def end_leftovers(package_dir: str | None, obj: Any) -> str | None:
    """Cancel the tasks a stopped plugin (its package directory and object) left running;
    the warning naming them and its threads still running, or None when there are none."""
    leftovers = await find_leftovers(code_root(package_dir, obj))
    if not leftovers:
        return None
    leftovers.cancel_tasks()
    return leftovers.warning()


def _threads_in(prefix: str) -> list[threading.Thread]:
    frames = sys._current_frames()
    me = threading.get_ident()
    found = []
    for thread in threading.enumerate():
        if thread.ident is None or thread.ident == me or not thread.is_alive():
            continue
        frame = frames.get(thread.ident)
        while frame is not None:
            if _in(frame.f_code.co_filename, prefix):
                found.append(thread)
                break
            frame = frame.f_back
    return found


def _tasks_in(prefix: str) -> list[asyncio.Task[Any]]:
    current = asyncio.current_task()
    found = []
    for task in asyncio.all_tasks():
        cancelling = getattr(task, "cancelling", None)  # Python 3.11+
        if task is current or task.done() or (cancelling is not None and cancelling()):
            continue
        if any(_in(f.f_code.co_filename, prefix) for f in task.get_stack()):
            found.append(task)
    return found


def _in(filename: str, prefix: str) -> bool:
    return filename.startswith(prefix) or os.path.realpath(filename).startswith(prefix)


def _task_name(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    qualname = getattr(coro, "__qualname__", None)
    return f"{task.get_name()} ({qualname})" if qualname else task.get_name()
