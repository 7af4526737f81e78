"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

router = APIRouter(prefix="/api/v1/health", tags=["health"])


class HealthStatus(BaseModel):
    """A probe's answer."""

    status: str = Field(examples=["ok"], description="``ok``, ``starting``, ``unhealthy``, "
                        "or ``safe-mode`` (ready, but no plugin is loaded).")
    detail: str = Field(default="", examples=[""])
    safe_mode: bool = Field(default=False, description="The host runs in safe mode: no "
                            "plugin is imported; the web UI, the plugin API and the CLI "
                            "work, to disable, uninstall or roll back a plugin.")
    safe_mode_reason: str = Field(default="", description="Why it runs in safe mode.",
                                  examples=["the last 3 starts did not reach ready within "
                                            "10 minutes; run 'plexichat safe-mode clear' to "
                                            "leave safe mode"])


@router.get("/live", response_model=HealthStatus)
async def live() -> HealthStatus:
    """The process is up and serving requests."""
    return HealthStatus(status="ok")


@router.get("/ready", response_model=HealthStatus,
            responses={503: {"model": HealthStatus, "description": "Still starting plugins."}})
async def ready(request: Request, response: Response) -> HealthStatus:
    """Every plugin has started, failed or been refused: the host is ready.

    A host in safe mode is ready at once (200) with status ``safe-mode``,
    ``safe_mode: true`` and the reason: it serves the operator, not the plugins.
    """
    host = request.app.state.host
    if host.safe_mode:
        return HealthStatus(status="safe-mode", detail="no plugin is loaded",
                            safe_mode=True, safe_mode_reason=host.safe_mode)
    if not host.ready:
        response.status_code = 503
        return HealthStatus(status="starting", detail="plugins are still starting")
    problems = await host.ready_problems()
    if problems:
        response.status_code = 503
        return HealthStatus(status="unhealthy", detail="; ".join(problems))
    return HealthStatus(status="ok")
