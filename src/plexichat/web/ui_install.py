"""The web UI's install page: plan first, then install, then follow the install.

``/install``
    the form: what to install (one spec a line, as ``plexichat plugins install`` takes
    them) and whether to upgrade.
``POST /install/plan``
    pip's dry run only (:func:`plexichat.web.install_jobs.plan`): the plan as a table
    of each distribution added, upgraded, downgraded or reinstalled with its versions,
    and a plan that would break what is installed shown as a refusal naming the
    package, both versions and who requires what. Then an "Install" button; under a
    refusal, "Install anyway" with a force checkbox and a warning of what breaks.
``POST /install``
    starts the install as a job (:class:`plexichat.web.install_jobs.InstallJobs`, one
    at a time) and goes to its page.
``/install/jobs/{job_id}``
    the job: its phases (resolve, download, build, install, start), pip's output, then
    success with the plugins started, the refusal, or why it failed. While the job
    runs, ``plexichat.js`` fetches the page again every second and swaps the job's
    section in (the page works without it: reload).

Every POST carries the session's CSRF token (:mod:`.ui_forms`); the same install code
serves ``/api/v1/plugins/install``.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from .api_install import InstallRequest
from .install_jobs import JOB_ID_PATTERN, PHASES, InstallBusy, InstallJob, jobs_of, plan
from .ui_forms import checked_post
from .ui_render import error_page, render
from .ui_session import require_login, sessions_of

__all__ = ["PHASE_LABELS", "phase_rows", "router"]

router = APIRouter(include_in_schema=False)

PHASE_LABELS = {
    "resolve": "Resolve: pip's dry run, checked against what is installed",
    "download": "Download: collect each distribution",
    "build": "Build: sdists and projects into wheels",
    "install": "Install: pip writes the distributions",
    "start": "Start: the host rescans and starts the new plugins",
}
"""What each phase of :data:`plexichat.web.install_jobs.PHASES` does, as the page says it."""


def _request(form: dict[str, list[str]]) -> InstallRequest | str:
    """The install the form asks for, or what is wrong with it."""
    specs = [line.strip() for text in form.get("specs", []) + form.get("spec", [])
             for line in text.splitlines() if line.strip()]
    try:
        return InstallRequest(specs=specs, upgrade=bool(form.get("upgrade")),
                              force=bool(form.get("force")))
    except ValidationError as exc:
        if not specs:
            return "Say what to install: a distribution name, a wheel's URL or a path."
        return "; ".join(str(e["msg"]) for e in exc.errors())


async def _form(request: Request, *, status: int = 200, body: InstallRequest | None = None,
                error: str = "", planned: dict[str, Any] | None = None) -> HTMLResponse:
    return await render(request, "install.html", status=status, title="Install a plugin",
                        specs=body.specs if body else [],
                        upgrade=body.upgrade if body else False, error=error,
                        plan=(planned or {}).get("plan"), notes=(planned or {}).get("notes", []))


@router.get("/install", response_class=HTMLResponse)
async def install_form(request: Request) -> Response:
    """The install form."""
    await require_login(request)
    return await _form(request)


@router.post("/install/plan", response_class=HTMLResponse)
async def install_plan(request: Request) -> Response:
    """pip's dry run of the install asked for: the plan, or the refusal it would meet."""
    _session, form = await checked_post(request)
    body = _request(form)
    if isinstance(body, str):
        return await _form(request, status=422, error=body)
    answer = await plan(request.app, body.model_dump())
    if answer.status != 200:
        return await _form(request, status=answer.status, body=body,
                           error=str(answer.body.get("detail", "")))
    return await _form(request, body=body, planned=answer.body)


@router.post("/install")
async def install_start(request: Request) -> Response:
    """Start the install as a job and show its page."""
    session, form = await checked_post(request)
    body = _request(form)
    if isinstance(body, str):
        return await _form(request, status=422, error=body)
    try:
        job = jobs_of(request.app).start(request.app, body.model_dump())
    except InstallBusy as exc:
        session.flash("error", f"Not started: {exc}. Try again when it is over.")
        await sessions_of(request).save(session)
        target = f"/install/jobs/{exc.job}" if exc.job else "/install"
        return RedirectResponse(target, status_code=303)
    return RedirectResponse(f"/install/jobs/{urllib.parse.quote(job.id)}", status_code=303)


def phase_rows(job: InstallJob) -> list[dict[str, Any]]:
    """Each phase with its status on the job's page: ``done``, ``current`` (running, or
    where a refused or failed job stopped), ``skipped`` (nothing to do) or
    ``pending``; and when it was entered."""
    entered = dict(job.phases)
    last = job.phases[-1][0] if job.phases else None
    if last is None and job.state == "running":
        last = PHASES[0]  # the install job is starting: its first phase is next
    reached = PHASES.index(last) if last is not None else -1
    rows = []
    for index, phase in enumerate(PHASES):
        if phase == last and job.state != "succeeded":
            status = "current" if job.state == "running" else "stopped"
        elif phase in entered:
            status = "done"
        elif index < reached:
            status = "skipped"
        else:
            status = "pending"
        rows.append({"phase": phase, "label": PHASE_LABELS[phase], "status": status,
                     "at": entered.get(phase)})
    return rows


@router.get("/install/jobs/{job_id}", response_class=HTMLResponse)
async def install_job_page(request: Request, job_id: str) -> Response:
    """An install job's page: phases, pip's output, then the outcome."""
    await require_login(request)
    job = jobs_of(request.app).get(job_id) if re.match(JOB_ID_PATTERN, job_id) else None
    if job is None:
        return await error_page(request, 404, "No such install job (the host keeps the "
                                              "last 20, until it restarts).")
    return await render(request, "install_job.html", title="Installing", job=job.view(),
                        phases=phase_rows(job))
