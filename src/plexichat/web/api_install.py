"""``POST /api/v1/plugins/rescan`` and ``POST /api/v1/plugins/install``: plugins come and
go in the running host, no restart.

``rescan`` is what a CLI that just ran pip calls; ``install`` runs pip in the host's own
environment (``sys.executable -m pip``) through a child process
(:mod:`plexichat.web.install_runner`), then rescans. Both need the admin token:
installing a distribution runs its code in the host process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from ..audit import AuditAction, redact_url
from ..host import PluginHost
from ..kernel.rescan import RescanReport
from ..kernel.states import PluginState
from .api_plugins import PluginSummary, _summary
from .auth import admin_actor, require_admin
from .install_runner import InstallJobFailed, run_install_job

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


def _host(request: Request) -> PluginHost:
    return request.app.state.host  # type: ignore[no-any-return]


async def _rescan(request: Request) -> dict[str, Any]:
    starting = getattr(request.app.state, "plugin_startup", None)
    if starting is not None and not starting.done():  # let startup finish first
        with contextlib.suppress(Exception):
            await asyncio.shield(starting)
    host = _host(request)
    report: RescanReport = await host.rescan()
    shown = [n for n in sorted({*report.added, *report.upgraded}) if n in host.records]
    return {**report.as_dict(), "python": sys.executable,
            "plugins": [_summary(host.records[n]) for n in shown]}


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
    await _host(request).audit.arecord(
        admin_actor(request), AuditAction.PLUGINS_RESCAN, target="plugins",
        details={k: report[k] for k in ("added", "removed", "upgraded", "started",
                                        "stopped", "not_started", "restart_required")})
    return report


def _install_lock(request: Request) -> asyncio.Lock:
    lock = getattr(request.app.state, "install_lock", None)
    if lock is None:
        lock = request.app.state.install_lock = asyncio.Lock()
    return lock  # type: ignore[no-any-return]


@router.post("/install", response_model=InstallView,
             responses={**_ADMIN,
                        409: {"model": RefusedView,
                              "description": "The plan would break a requirement of the "
                                             "host or an installed plugin; nothing "
                                             "changed (force: true installs anyway)."},
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
    """
    host = _host(request)
    job = {"specs": list(body.specs), "upgrade": body.upgrade, "index_url": body.index_url,
           "extra_index_urls": list(body.extra_index_urls),
           "catalog": body.catalog or host.settings.catalog, "force": body.force}
    answer = await _install(request, host, job)
    await host.audit.arecord(admin_actor(request), AuditAction.PLUGINS_INSTALL,
                             target=", ".join(redact_url(s) for s in body.specs),
                             details=_install_audit(job, answer))
    return answer


def _install_audit(job: dict[str, Any], answer: Any) -> dict[str, Any]:
    """What the audit keeps of an install: the request, and the answer's status, plan,
    problems and rescan (not pip's log)."""
    if isinstance(answer, JSONResponse):
        status, body = answer.status_code, json.loads(bytes(answer.body))
    else:
        status, body = 200, answer
    kept = {k: body[k] for k in ("detail", "plan", "conflicts", "problems", "returncode")
            if k in body}
    if "rescan" in body:
        kept["rescan"] = {k: body["rescan"][k] for k in ("added", "upgraded", "removed",
                                                         "started", "not_started")}
    shown = {**job, "specs": [redact_url(s) for s in job["specs"]],
             "index_url": redact_url(job["index_url"]) if job["index_url"] else None,
             "extra_index_urls": [redact_url(u) for u in job["extra_index_urls"]],
             "catalog": redact_url(job["catalog"]) if job["catalog"] else None}
    return {"request": shown, "status": status, **kept}


async def _install(request: Request, host: PluginHost, job: dict[str, Any]) -> Any:
    """Run the install job and rescan: the answer of ``POST /install``."""
    async with _install_lock(request):
        try:
            result = await run_install_job(job)
        except InstallJobFailed as exc:
            return JSONResponse(status_code=500, content={"detail": str(exc)})
        if result.error is not None and result.conflicts and result.plan is not None:
            return JSONResponse(status_code=409, content={
                "detail": result.error, "plan": result.plan, "conflicts": result.conflicts})
        if result.error is not None:
            return JSONResponse(status_code=422, content={"detail": result.error})
        log = result.log[-200:]
        if result.returncode != 0:
            return JSONResponse(status_code=422, content={
                "detail": f"pip exited with status {result.returncode}; nothing was "
                          "installed", "command": result.command, "log": log})
        for conflict in result.conflicts:
            _log.warning("plugin install forced despite a conflict: %s",
                         conflict.get("message"))
        report = await _rescan(request)
    problems = list(result.problems)
    for change in result.changes:
        name = change.get("name")
        if change.get("change") == "installed" and \
                change.get("state") == PluginState.AVAILABLE.value and \
                name in report["not_started"]:
            problems.append(f"{name} did not start: {report['not_started'][name]}")
    return {"command": result.command, "returncode": result.returncode, "notes": result.notes,
            "log": log, "rescan": report, "plan": result.plan, "problems": problems}
