"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

router = APIRouter(prefix="/api/v1/health", tags=["health"])


class HealthStatus(BaseModel):
    """A probe's answer."""

    status: str = Field(examples=["ok"])
    detail: str = Field(default="", examples=[""])


@router.get("/live", response_model=HealthStatus)
async def live() -> HealthStatus:
    """The process is up and serving requests."""
    return HealthStatus(status="ok")


@router.get("/ready", response_model=HealthStatus,
            responses={503: {"model": HealthStatus, "description": "Still starting plugins."}})
async def ready(request: Request, response: Response) -> HealthStatus:
    """Every plugin has started, failed or been refused: the host is ready."""
    host = request.app.state.host
    if not host.ready:
        response.status_code = 503
        return HealthStatus(status="starting", detail="plugins are still starting")
    problems = await host.ready_problems()
    if problems:
        response.status_code = 503
        return HealthStatus(status="unhealthy", detail="; ".join(problems))
    return HealthStatus(status="ok")
