"""The server's side of an install: run ``python -m plexichat.devkit.install_job`` in a
child process and read its JSON lines without blocking the event loop.

The developer tooling (pip, catalogs, folder-plugin conversion) stays out of the server
process; only plain JSON crosses the boundary (see :mod:`plexichat.devkit.install_job`
for the protocol).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JOB_MODULE", "InstallJobFailed", "JobResult", "job_command", "run_install_job"]

JOB_MODULE = "plexichat.devkit.install_job"
"""The module the child process runs."""


class InstallJobFailed(RuntimeError):
    """The job ended without its final answer (it crashed); the message holds the tail of
    what it wrote to stderr."""


@dataclass
class JobResult:
    """The job's answer, as plain data: pip's lines and the final outcome object."""

    log: list[str] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    """The phases the install entered, in order (``resolve``, ``download``, ``build``,
    ``install``; skipped ones are missing)."""
    command: list[str] = field(default_factory=list)
    returncode: int | None = None
    error: str | None = None
    """Set when nothing was run or changed (a spec is not installable …)."""
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    """Each plugin pip added, removed or changed: ``name``, ``change``, ``state`` …"""
    plan: dict[str, Any] | None = None
    """What pip resolved before installing: ``changes`` (``distribution``, ``version``,
    ``change``, ``previous``, ``requested``), ``conflicts``, ``ok``."""
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    """What the plan would break, each with its ``message``; with ``error`` set the
    install was refused for them."""


def job_command() -> list[str]:
    """The child process: this interpreter (so pip installs where the server runs)."""
    return [sys.executable, "-m", JOB_MODULE]


async def run_install_job(request: dict[str, Any],
                          on_event: Callable[[str, str], None] | None = None) -> JobResult:
    """Run one install job for ``request`` (the job's stdin object; ``sys_path`` is
    added: the job sees what the server sees) and return its answer. ``on_event``
    hears ``("phase", NAME)`` and ``("pip", LINE)`` as they come. Raises
    :class:`InstallJobFailed` when the job gives none. Cancelled, the job is killed."""
    proc = await asyncio.create_subprocess_exec(
        *job_command(), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        return await _answer(proc, request, on_event or (lambda kind, text: None))
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise


async def _answer(proc: asyncio.subprocess.Process, request: dict[str, Any],
                  on_event: Callable[[str, str], None]) -> JobResult:
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps({**request, "sys_path": list(sys.path)}).encode())
    await proc.stdin.drain()
    proc.stdin.close()
    result = JobResult()
    final: dict[str, Any] | None = None

    async def read_stdout() -> None:
        nonlocal final
        assert proc.stdout is not None
        async for raw in proc.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict) and "pip" in message:
                result.log.append(str(message["pip"]))
                on_event("pip", str(message["pip"]))
            elif isinstance(message, dict) and isinstance(message.get("phase"), str):
                result.phases.append(message["phase"])
                on_event("phase", message["phase"])
            elif isinstance(message, dict) and isinstance(message.get("plan"), dict):
                result.plan = message["plan"]
            elif isinstance(message, dict) and isinstance(message.get("outcome"), dict):
                final = message["outcome"]

    assert proc.stderr is not None
    _, stderr = await asyncio.gather(read_stdout(), proc.stderr.read())
    code = await proc.wait()
    if final is None:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-20:]
        raise InstallJobFailed(f"the install job exited with status {code} without an "
                               "answer: " + ("\n".join(tail) or "no output"))
    result.command = [str(c) for c in final.get("command", [])]
    result.returncode = final.get("returncode")
    result.error = final.get("error")
    result.notes = [str(n) for n in final.get("notes", [])]
    result.problems = [str(p) for p in final.get("problems", [])]
    result.changes = [c for c in final.get("changes", []) if isinstance(c, dict)]
    if isinstance(final.get("plan"), dict):
        result.plan = final["plan"]
    result.conflicts = [c for c in final.get("conflicts", []) if isinstance(c, dict)]
    return result
