"""Installs in the running host: planned, performed, and followed while they run.

Three ways in share this module: ``POST /api/v1/plugins/install`` (answers when the
install is over), ``POST /api/v1/plugins/install/plan`` (pip's dry run only) and ``POST
/api/v1/plugins/install/jobs`` (answers at once with a job that ``GET
/api/v1/plugins/install/jobs/{job_id}`` reports on: its state, the phases entered so far
and pip's output; the web UI's install page polls it). Each runs
:func:`plexichat.web.install_runner.run_install_job` (a child process: the server never
imports the developer tooling) and, after pip, rescans the host.

One install runs at a time (``app.state.install_lock``): a job asked for while another
install runs is refused with the running job's id. The last :data:`KEEP_FINISHED`
finished jobs are kept in memory for their pages; a restart forgets them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from ..audit import Actor, AuditAction, redact_url
from ..kernel.rescan import RescanReport
from ..kernel.states import PluginState
from .api_plugins import _summary
from .install_runner import InstallJobFailed, run_install_job

__all__ = ["JOB_ID_PATTERN", "KEEP_FINISHED", "PHASES", "InstallAnswer", "InstallBusy",
           "InstallJob", "InstallJobs", "install_lock", "jobs_of", "perform", "plan",
           "rescan_report"]

_log = logging.getLogger("plexichat.install")

PHASES: tuple[str, ...] = ("resolve", "download", "build", "install", "start")
"""A job's phases in order: the install job's own (pip's dry run, collecting, building,
installing), then ``start``: the host rescans and starts what was installed."""

JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
"""A job id: 32 lower-case hex digits."""

KEEP_FINISHED = 20
"""How many finished jobs stay readable."""

LOG_LINES = 200
"""How many of pip's last lines an answer carries."""


@dataclass
class InstallAnswer:
    """An install's answer as ``POST /api/v1/plugins/install`` gives it: the status code
    (200 done, 409 refused by the plan, 422 not installable or pip failed, 500 the
    install job crashed) and the body."""

    status: int
    body: dict[str, Any]


class InstallBusy(RuntimeError):
    """Another install is running; ``job`` is its id when it is a job."""

    def __init__(self, job: str | None) -> None:
        super().__init__("another install is running" + (f": job {job}" if job else ""))
        self.job = job


def install_lock(app: FastAPI) -> asyncio.Lock:
    """The lock one install at a time holds."""
    lock = getattr(app.state, "install_lock", None)
    if lock is None:
        lock = app.state.install_lock = asyncio.Lock()
    return lock  # type: ignore[no-any-return]


def _request(app: FastAPI, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The install job's stdin object (the catalog defaults to the host's setting)."""
    return {"specs": list(data["specs"]), "upgrade": bool(data.get("upgrade", False)),
            "index_url": data.get("index_url"),
            "extra_index_urls": list(data.get("extra_index_urls") or []),
            "catalog": data.get("catalog") or app.state.host.settings.catalog,
            "force": bool(data.get("force", False)), **extra}


async def rescan_report(app: FastAPI) -> dict[str, Any]:
    """Rescan the host (after its plugins' startup, if that still runs) and say what
    changed, with the added and upgraded plugins as ``/api/v1/plugins`` lists them."""
    starting = getattr(app.state, "plugin_startup", None)
    if starting is not None and not starting.done():  # let startup finish first
        with contextlib.suppress(Exception):
            await asyncio.shield(starting)
    host = app.state.host
    report: RescanReport = await host.rescan()
    shown = [n for n in sorted({*report.added, *report.upgraded}) if n in host.records]
    return {**report.as_dict(), "python": sys.executable,
            "plugins": [_summary(host.records[n]) for n in shown]}


async def plan(app: FastAPI, data: dict[str, Any]) -> InstallAnswer:
    """pip's dry run of the install ``data`` asks for (nothing installed): 200 with
    ``plan`` and ``notes``, 422 when a spec is not installable or pip cannot resolve it,
    500 when the install job crashed."""
    try:
        result = await run_install_job(_request(app, data, force=False, plan_only=True))
    except InstallJobFailed as exc:
        return InstallAnswer(500, {"detail": str(exc)})
    if result.error is not None or result.plan is None:
        return InstallAnswer(422, {"detail": result.error or "pip made no plan"})
    return InstallAnswer(200, {"plan": result.plan, "notes": result.notes})


async def perform(app: FastAPI, data: dict[str, Any],
                  on_phase: Callable[[str], None] | None = None,
                  on_line: Callable[[str], None] | None = None, *,
                  actor: Actor | None = None) -> InstallAnswer:
    """Install what ``data`` asks for and rescan, holding the install lock (the caller
    does). ``on_phase``/``on_line`` hear of each phase and line of pip's output. With
    ``actor``, the install (request, status, plan, problems) goes to the audit trail."""
    answer = await _perform(app, data, on_phase, on_line)
    if actor is not None:
        await app.state.host.audit.arecord(
            actor, AuditAction.PLUGINS_INSTALL,
            target=", ".join(redact_url(s) for s in data["specs"]),
            details=_install_audit(_request(app, data), answer))
    return answer


def _install_audit(job: dict[str, Any], answer: InstallAnswer) -> dict[str, Any]:
    """What the audit keeps of an install: the request, and the answer's status, plan,
    problems and rescan (not pip's log)."""
    body = answer.body
    kept: dict[str, Any] = {k: body[k] for k in ("detail", "plan", "conflicts", "problems",
                                                 "returncode")
                            if k in body}
    if "rescan" in body:
        kept["rescan"] = {k: body["rescan"][k] for k in ("added", "upgraded", "removed",
                                                         "started", "not_started")}
    shown = {**job, "specs": [redact_url(s) for s in job["specs"]],
             "index_url": redact_url(job["index_url"]) if job["index_url"] else None,
             "extra_index_urls": [redact_url(u) for u in job["extra_index_urls"]],
             "catalog": redact_url(job["catalog"]) if job["catalog"] else None}
    return {"request": shown, "status": answer.status, **kept}


async def _perform(app: FastAPI, data: dict[str, Any],
                   on_phase: Callable[[str], None] | None,
                   on_line: Callable[[str], None] | None) -> InstallAnswer:

    def event(kind: str, text: str) -> None:
        if kind == "phase" and on_phase is not None:
            on_phase(text)
        elif kind == "pip" and on_line is not None:
            on_line(text)

    try:
        result = await run_install_job(_request(app, data), event)
    except InstallJobFailed as exc:
        return InstallAnswer(500, {"detail": str(exc)})
    if result.error is not None and result.conflicts and result.plan is not None:
        return InstallAnswer(409, {"detail": result.error, "plan": result.plan,
                                   "conflicts": result.conflicts})
    if result.error is not None:
        return InstallAnswer(422, {"detail": result.error})
    log = result.log[-LOG_LINES:]
    if result.returncode != 0:
        return InstallAnswer(422, {
            "detail": f"pip exited with status {result.returncode}; nothing was installed",
            "command": result.command, "log": log})
    for conflict in result.conflicts:
        _log.warning("plugin install forced despite a conflict: %s", conflict.get("message"))
    if on_phase is not None:
        on_phase("start")
    report = await rescan_report(app)
    problems = list(result.problems)
    for change in result.changes:
        name = change.get("name")
        if change.get("change") == "installed" and \
                change.get("state") == PluginState.AVAILABLE.value and \
                name in report["not_started"]:
            problems.append(f"{name} did not start: {report['not_started'][name]}")
    return InstallAnswer(200, {"command": result.command, "returncode": result.returncode,
                               "notes": result.notes, "log": log, "rescan": report,
                               "plan": result.plan, "problems": problems})


@dataclass
class InstallJob:
    """One install followed while it runs."""

    id: str
    specs: list[str]
    force: bool
    started: float = field(default_factory=time.monotonic)
    state: str = "running"
    """``running``, then ``succeeded`` (installed and started), ``refused`` (the plan
    would break what is installed; nothing changed) or ``failed``."""
    phases: list[tuple[str, float]] = field(default_factory=list)
    """Each phase entered and when (seconds after the job started)."""
    log: list[str] = field(default_factory=list)
    answer: InstallAnswer | None = None
    finished: float | None = None

    def entered(self, phase: str) -> None:
        """The job entered ``phase``."""
        self.phases.append((phase, round(time.monotonic() - self.started, 3)))

    def finish(self, answer: InstallAnswer) -> None:
        """The job is over, with ``answer``."""
        self.answer, self.finished = answer, time.monotonic()
        problems = answer.body.get("problems") if answer.status == 200 else None
        self.state = ("succeeded" if answer.status == 200 and not problems else
                      "refused" if answer.status == 409 else "failed")

    def view(self) -> dict[str, Any]:
        """The job as ``GET /api/v1/plugins/install/jobs/{job_id}`` shows it."""
        answer = self.answer
        body = answer.body if answer is not None else {}
        detail: str | None = None
        if answer is not None and answer.status != 200:
            detail = str(body.get("detail", ""))
        elif body.get("problems"):
            detail = "; ".join(body["problems"])
        end = self.finished if self.finished is not None else time.monotonic()
        log: list[str] = body["log"] if "log" in body else self.log
        return {
            "id": self.id, "state": self.state, "specs": self.specs, "force": self.force,
            "phase": self.phases[-1][0] if self.phases else None,
            "phases": [{"phase": p, "at": at} for p, at in self.phases],
            "seconds": round(end - self.started, 3),
            "log": log[-LOG_LINES:],
            "detail": detail,
            "result": body if answer is not None and answer.status == 200 else None,
            "refusal": body if answer is not None and answer.status == 409 else None,
        }


class InstallJobs:
    """The host's install jobs: the running one and the last finished ones."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, InstallJob] = OrderedDict()
        self._running: InstallJob | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> InstallJob | None:
        """The job running now, if any."""
        return self._running

    def get(self, job_id: str) -> InstallJob | None:
        """The job with this id, if it is still kept."""
        return self._jobs.get(job_id)

    def start(self, app: FastAPI, data: dict[str, Any], *,
              actor: Actor | None = None) -> InstallJob:
        """Start installing what ``data`` asks for (the fields of ``POST
        /api/v1/plugins/install``) in the background, audited as ``actor``'s. Raises
        :class:`InstallBusy` while another install runs."""
        if self._running is not None:
            raise InstallBusy(self._running.id)
        if install_lock(app).locked():
            raise InstallBusy(None)
        job = InstallJob(uuid.uuid4().hex, list(data["specs"]), bool(data.get("force")))
        self._jobs[job.id] = job
        self._running = job
        task = asyncio.get_running_loop().create_task(self._run(app, job, data, actor))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, app: FastAPI, job: InstallJob, data: dict[str, Any],
                   actor: Actor | None) -> None:
        try:
            async with install_lock(app):
                answer = await perform(app, data, job.entered, job.log.append, actor=actor)
        except Exception as exc:  # the job's page must say it ended, whatever happened
            _log.exception("install job %s failed", job.id)
            answer = InstallAnswer(500, {"detail": f"{type(exc).__name__}: {exc}"})
        finally:
            self._running = None
        job.finish(answer)
        finished = [k for k, j in self._jobs.items() if j.state != "running"]
        for key in finished[:-KEEP_FINISHED]:
            del self._jobs[key]


def jobs_of(app: FastAPI) -> InstallJobs:
    """The app's install jobs."""
    jobs = getattr(app.state, "install_jobs", None)
    if jobs is None:
        jobs = app.state.install_jobs = InstallJobs()
    return jobs  # type: ignore[no-any-return]
