"""``/api/v1/plugins``: what the running host knows about each plugin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from ..manager import PluginHost, PluginRecord
from .routes import flatten_routes

router = APIRouter(prefix="/api/v1/plugins", tags=["plugins"])


class RouteInfo(BaseModel):
    """One route a plugin contributed."""

    methods: list[str]
    path: str
    name: str


class PluginSummary(BaseModel):
    """One plugin, as listed."""

    name: str
    version: str
    type: str
    state: str
    reason: str
    distribution: str
    distribution_version: str


class PluginDetail(PluginSummary):
    """One plugin in full: manifest, hooks and contributions."""

    manifest: dict[str, Any] | None
    problems: list[str]
    warnings: list[str]
    hooks: list[str]
    routes: list[RouteInfo]
    stats: dict[str, dict[str, float | int]]


def _host(request: Request) -> PluginHost:
    return request.app.state.host  # type: ignore[no-any-return]


def _summary(record: PluginRecord) -> dict[str, Any]:
    c = record.candidate
    return {
        "name": c.name,
        "version": c.version,
        "type": c.type,
        "state": record.state.value,
        "reason": record.reason,
        "distribution": c.distribution,
        "distribution_version": c.distribution_version,
    }


@router.get("", response_model=list[PluginSummary])
async def list_plugins(request: Request) -> list[dict[str, Any]]:
    """Every installed plugin with its live state and, when not running, why."""
    host = _host(request)
    return [_summary(host.records[name]) for name in sorted(host.records)]


@router.get("/{name}", response_model=PluginDetail,
            responses={404: {"description": "No plugin of that name is installed."}})
async def plugin_detail(name: str, request: Request) -> dict[str, Any]:
    """One plugin: state, reason, manifest, implemented hooks, contributed routes."""
    host = _host(request)
    record = host.records.get(name)
    if record is None:
        raise HTTPException(404, f"no plugin named {name!r} is installed")
    return {
        **_summary(record),
        "manifest": record.candidate.manifest,
        "problems": record.candidate.problems,
        "warnings": record.warnings,
        "hooks": host.hooks_of(name),
        "routes": [
            {"methods": sorted(r.methods or ("*",)), "path": r.path, "name": r.name}
            for r in flatten_routes(record.routes)
        ],
        "stats": host.dispatcher.stats_for(name),
    }
