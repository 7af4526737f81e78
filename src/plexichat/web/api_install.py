"""``POST /api/v1/plugins/rescan`` and ``POST /api/v1/plugins/install``: plugins come and
go in the running host, no restart.

``rescan`` is what a CLI that just ran pip calls; ``install`` runs pip in the host's own
environment (``sys.executable -m pip``) through a child process
(:mod:`plexichat.web.install_runner`), then rescans, and answers when all is done.
``install/plan`` only asks pip for the plan; ``install/jobs`` starts the same install in
the background and answers at once with a job, which ``install/jobs/{job_id}`` reports
on while it runs: its phases, pip's output, then the install's answer (polling; see
:mod:`plexichat.web.install_jobs`). All need the admin token: installing a distribution
runs its code in the host process.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from ..audit import AuditAction
from .api_plugins import PluginSummary
from .auth import admin_actor, require_admin
from .install_jobs import (
    JOB_ID_PATTERN,
    PHASES,
    InstallBusy,
    install_lock,
    jobs_of,
    perform,
    plan,
    rescan_report,
)

router = APIRouter(prefix="/api/v1/plugins", tags=["plugins"])
_log = logging.getLogger("plexichat.install")

_ADMIN: dict[int | str, dict[str, Any]] = {
    401: {"description": "No admin token."},
    403: {"description": "Wrong admin token."},
}


class RescanView(BaseModel):
    """What a rescan found and did."""

    added: list[str] = Field(examples=[["hello"]])
    removed: list[str] = Field(examples=[[]])
    upgraded: list[str] = Field(examples=[[]])
    restart_required: list[str] = Field(examples=[[]])
    started: list[str] = Field(examples=[["hello"]])
    stopped: dict[str, str] = Field(examples=[{}])
    not_started: dict[str, str] = Field(examples=[{}])
    plugins: list[PluginSummary] = Field(
        description="The added and upgraded plugins, as /api/v1/plugins lists them.")
    python: str = Field(description="The interpreter the host runs on (pip installs there).",
                        examples=["/srv/plexichat/.venv/bin/python"])


class InstallRequest(BaseModel):
    """What to install, as ``plexichat plugins install`` takes it: http(s) URLs of wheels
    or sdists, pip requirements, or paths on the host's machine (wheels, sdists, project
    directories, folder plugins or .zip files of them)."""

    specs: list[str] = Field(min_length=1, examples=[["plexichat-hello"]])
    upgrade: bool = Field(default=False, description="Pass --upgrade to pip.")
    index_url: str | None = Field(default=None, description="pip's --index-url.")
    extra_index_urls: list[str] = Field(default_factory=list,
                                        description="pip's --extra-index-url, each.")
    catalog: str | None = Field(
        default=None, description="Take plugin names this catalog (JSON or PEP 503, path "
                                  "or URL) lists from it; default: PLEXICHAT_CATALOG.")
    force: bool = Field(default=False,
                        description="Install even when the plan would break a requirement "
                                    "of the host or an installed plugin (logged).")

    @field_validator("index_url", "extra_index_urls")
    @classmethod
    def _index_urls(cls, value: str | list[str] | None) -> str | list[str] | None:
        """pip index URLs: http(s) or file URLs, with no spaces or control characters."""
        from urllib.parse import urlsplit

        for url in [value] if isinstance(value, str) else value or []:
            if (not url.isprintable() or any(c.isspace() for c in url)
                    or urlsplit(url).scheme not in ("http", "https", "file")):
                raise ValueError(f"{url!r} is not an http(s) or file URL of a package index")
        return value


class PlanChangeView(BaseModel):
    """One distribution the install would add or replace."""

    distribution: str = Field(examples=["rich"])
    version: str = Field(examples=["12.6.0"])
    change: str = Field(description="new, upgraded, downgraded or reinstalled",
                        examples=["downgraded"])
    previous: str | None = Field(default=None, examples=["15.0.0"])
    requested: bool = Field(default=False,
                            description="Named by the install, not a dependency.")


class ConflictView(BaseModel):
    """A change outside the range an installed distribution requires."""

    distribution: str = Field(examples=["rich"])
    version: str = Field(examples=["12.6.0"])
    previous: str | None = Field(default=None, examples=["15.0.0"])
    requirer: str = Field(examples=["plexichat"])
    requirer_version: str = Field(examples=["3.0.0"])
    requirement: str = Field(examples=["rich>=13.7"])
    message: str = Field(examples=["rich 12.6.0 would replace 15.0.0, but plexichat 3.0.0 "
                                   "requires rich>=13.7"])


class InstallPlanView(BaseModel):
    """What pip resolved before installing anything, and what it would break."""

    changes: list[PlanChangeView]
    conflicts: list[ConflictView]
    blocked: list[str] = Field(
        default_factory=list,
        description="Why each version a plugin catalog blocks is refused (the install "
                    "is then refused with 422, force or not).",
        examples=[["plexichat-hello 1.0.0 is blocked by the plugin catalog "
                   "(catalog.json): leaks tokens to the log"]])
    ok: bool = Field(description="Nothing installed would be broken, and nothing is "
                                 "blocked.")


class RefusedView(BaseModel):
    """An install refused before pip touched the environment."""

    detail: str
    plan: InstallPlanView
    conflicts: list[ConflictView]


class InstallView(BaseModel):
    """pip's run and the rescan after it."""

    command: list[str] = Field(examples=[["/srv/plexichat/.venv/bin/python", "-m", "pip",
                                          "install", "plexichat-hello"]])
    returncode: int = Field(examples=[0])
    notes: list[str] = Field(examples=[[]])
    log: list[str] = Field(examples=[["Successfully installed plexichat-hello-1.0.0"]])
    rescan: RescanView
    plan: InstallPlanView | None = Field(
        default=None, description="What pip resolved before installing; with force, its "
                                  "conflicts were overridden.")
    problems: list[str] = Field(
        description="Why the install did not achieve its purpose (nothing installed, a "
                    "distribution without the plexichat.plugins entry point, a plugin "
                    "rejected or not started); empty when it did. The CLI exits non-zero "
                    "for these.")


class PlanView(BaseModel):
    """pip's dry run of an install: what it would change; nothing was installed."""

    plan: InstallPlanView
    notes: list[str] = Field(description="What was done to the specs on the way (folder "
                                         "plugins converted, catalog names taken).")


class PhaseView(BaseModel):
    """A phase an install job entered."""

    phase: str = Field(description="One of " + ", ".join(PHASES) + ".",
                       examples=["download"])
    at: float = Field(description="Seconds after the job started.", examples=[0.8])


class InstallJobView(BaseModel):
    """An install running in the background, or finished."""

    id: str = Field(pattern=JOB_ID_PATTERN, examples=["3f2a" * 8])
    state: str = Field(description="running, succeeded (installed and started), refused "
                                   "(the plan would break what is installed; nothing "
                                   "changed) or failed", examples=["running"])
    specs: list[str] = Field(examples=[["plexichat-hello"]])
    force: bool
    phase: str | None = Field(description="The phase it is in (or ended in): one of "
                                          + ", ".join(PHASES) + "; phases with nothing "
                                          "to do are skipped.", examples=["install"])
    phases: list[PhaseView]
    seconds: float = Field(description="How long it has run (or ran).")
    log: list[str] = Field(description="pip's output so far (the last 200 lines).")
    detail: str | None = Field(description="Why it was refused or failed; the problems "
                                           "of an install that did not achieve its "
                                           "purpose.")
    result: InstallView | None = Field(
        description="When pip installed: what POST /api/v1/plugins/install answers.")
    refusal: RefusedView | None = Field(
        description="When refused: the plan and the conflicts, as POST "
                    "/api/v1/plugins/install answers them with 409.")


class BusyView(BaseModel):
    """Another install is running."""

    detail: str
    job: str | None = Field(description="The running job, if the install is one.")


async def _rescan(request: Request) -> dict[str, Any]:
    return await rescan_report(request.app)


@router.post("/rescan", response_model=RescanView, responses=_ADMIN,
             dependencies=[Depends(require_admin)])
async def rescan(request: Request) -> dict[str, Any]:
    """Pick up plugins installed or uninstalled since the host started.

    New plugins are checked (manifest, compatibility, dependencies) and started; one
    that fails a check stays installed, not started, with the reason. Uninstalled
    plugins are stopped and disappear from /api/v1/plugins. An upgraded plugin whose
    old code is already running says "restart required" in its reason.
    """
    report = await _rescan(request)
    await request.app.state.host.audit.arecord(
        admin_actor(request), AuditAction.PLUGINS_RESCAN, target="plugins",
        details={k: report[k] for k in ("added", "removed", "upgraded", "started",
                                        "stopped", "not_started", "restart_required")})
    return report


@router.post("/install", response_model=InstallView,
             responses={**_ADMIN,
                        409: {"model": RefusedView | BusyView,
                              "description": "The plan would break a requirement of the "
                                             "host or an installed plugin; nothing "
                                             "changed (force: true installs anyway). Or "
                                             "an install job is running (``job``: its "
                                             "id); try again when it is over."},
                        422: {"description": "pip failed or a spec is not installable; "
                                             "nothing changed."}},
             dependencies=[Depends(require_admin)])
async def install(body: InstallRequest, request: Request) -> Any:
    """Run pip in the host's environment, then rescan (see ``POST .../rescan``).

    Specs are classified as the CLI does (URL, existing path, requirement); paths are
    read on the host's machine; a guide-style folder plugin or a ``.zip`` of one is
    converted to a distribution first. pip's output comes back in ``log``; ``problems``
    says why an install that pip completed still did not give a started plugin.

    pip first resolves the install without performing it, with the host and the
    installed plugins pinned; ``plan`` lists what it would add, upgrade or downgrade. A
    plan that moves a distribution outside the range the host or another installed
    distribution requires is refused with 409 and the conflicts, nothing changed, unless
    ``force`` is set (the override is logged).

    Installs run one at a time: this one waits for another ``POST .../install``, but
    answers 409 with the job's id while an install job (``POST .../install/jobs``) runs.
    """
    running = jobs_of(request.app).running
    if running is not None:
        return JSONResponse(status_code=409, content={
            "detail": str(InstallBusy(running.id)), "job": running.id})
    async with install_lock(request.app):
        answer = await perform(request.app, body.model_dump(),
                               actor=admin_actor(request))
    if answer.status == 200:
        return answer.body
    return JSONResponse(status_code=answer.status, content=answer.body)


@router.post("/install/plan", response_model=PlanView,
             responses={**_ADMIN,
                        422: {"description": "A spec is not installable or pip cannot "
                                             "resolve the install with the host and the "
                                             "installed plugins kept as they are."}},
             dependencies=[Depends(require_admin)])
async def install_plan(body: InstallRequest, request: Request) -> Any:
    """What ``POST .../install`` with this body would change, without installing.

    pip resolves the install without performing it (``pip install --dry-run``), with the
    host and the installed plugins pinned. ``plan.changes`` lists each distribution it
    would add, upgrade, downgrade or reinstall; ``plan.conflicts`` each change outside
    the range the host or another installed distribution requires, naming who requires
    what (the install would be refused unless forced). ``force`` is ignored here.
    """
    answer = await plan(request.app, body.model_dump())
    if answer.status == 200:
        return answer.body
    return JSONResponse(status_code=answer.status, content=answer.body)


@router.post("/install/jobs", response_model=InstallJobView, status_code=202,
             responses={**_ADMIN,
                        409: {"model": BusyView,
                              "description": "Another install is running; try again "
                                             "when it is over."}},
             dependencies=[Depends(require_admin)])
async def start_install_job(body: InstallRequest, request: Request) -> Any:
    """Start ``POST .../install`` in the background and answer at once with the job.

    ``GET .../install/jobs/{job_id}`` then says which phase it is in (resolve,
    download, build, install, start), shows pip's output so far and, once it is over,
    its state and the answer ``POST .../install`` would have given: ``result``, or
    ``refusal`` when the plan would break what is installed (nothing changed; ``force``
    installs anyway). One install runs at a time.
    """
    try:
        job = jobs_of(request.app).start(request.app, body.model_dump(),
                                         actor=admin_actor(request))
    except InstallBusy as exc:
        return JSONResponse(status_code=409, content={"detail": str(exc), "job": exc.job})
    return job.view()


@router.get("/install/jobs/{job_id}", response_model=InstallJobView,
            responses={**_ADMIN,
                       404: {"description": "No such job (jobs are kept in memory: the "
                                            "last 20 finished, until a restart)."}},
            dependencies=[Depends(require_admin)])
async def install_job(request: Request,
                      job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN,
                                                  description="The job's id.")]) -> Any:
    """An install job: its state, phases, pip's output so far, and once it is over,
    the install's answer. Poll it while ``state`` is ``running``."""
    job = jobs_of(request.app).get(job_id)
    if job is None:
        return JSONResponse(status_code=404, content={"detail": f"no install job {job_id}"})
    return job.view()
