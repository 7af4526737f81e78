"""``/api/v1/plugins``: what the running host knows about each plugin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..audit import AuditAction
from ..host import NotStartable, PluginHost
from ..kernel.lifecycle import PluginNotFound, PluginRecord
from ..kernel.plugin_settings import SettingsRejected
from ..kernel.states import PluginState
from ..settings import SettingsInvalid, mask_secrets
from ..storage.generation import GenerationMismatch, expecting
from .auth import admin_actor, require_admin
from .routes import flatten_routes

router = APIRouter(prefix="/api/v1/plugins", tags=["plugins"])


class RouteInfo(BaseModel):
    """One route a plugin contributed."""

    methods: list[str] = Field(examples=[["GET"]])
    path: str = Field(examples=["/api/v1/hello"])
    name: str = Field(examples=["hello"])


class PluginSummary(BaseModel):
    """One plugin, as listed."""

    name: str = Field(examples=["hello"])
    version: str = Field(examples=["1.0.0"])
    type: str = Field(examples=["feature"])
    state: str = Field(examples=["started"])
    reason: str = Field(examples=[""])
    distribution: str = Field(examples=["plexichat-hello"])
    distribution_version: str = Field(examples=["1.0.0"])
    warnings: list[str] = Field(
        default_factory=list,
        examples=[["api_endpoints declares /api/v1/hello/old, but the plugin does not "
                   "serve it"]],
        description="Problems that do not keep the plugin from running: manifest and "
                    "metadata disagreements, refused routes, a slow start, routes served "
                    "but not declared in `api_endpoints` (or declared but not served).")
    generation: int = Field(
        default=0, examples=[7],
        description="The desired-state generation of the plugin's last change (0: never "
                    "changed). Send it back as `If-Match` to change the plugin only if "
                    "nobody changed it meanwhile.")


class FailureInfo(BaseModel):
    """One failure of the plugin's code, with its traceback."""

    hook: str = Field(description="Where it failed: a hook's name (``startup`` …), or "
                      "``import``, ``settings``, ``health:<check>``, ``task:<task>``, "
                      "``middleware``, ``event:<event>``, ``slash:<command>``.")
    error: str = Field(description="``ExceptionType: message``.")
    exception_type: str = Field(description="The exception's class name.")
    message: str = Field(description="The exception's message.")
    traceback: str = Field(description="The formatted Python traceback.")
    at: float = Field(description="When, in Unix time (seconds).")


class StartTimingsInfo(BaseModel):
    """How long each step of the plugin's last start took, in seconds.

    A step the start never reached (it failed earlier) is null; ``total_seconds`` is
    null while the plugin is still starting.
    """

    import_seconds: float | None = Field(
        description="Importing the plugin's module.", examples=[0.012])
    settings_seconds: float | None = Field(
        description="Reading and validating its settings.", examples=[0.001])
    startup_seconds: float | None = Field(
        description="Its startup hook.", examples=[0.25])
    contribute_seconds: float | None = Field(
        description="Collecting and filing its contributions.", examples=[0.004])
    routes_seconds: float | None = Field(
        description="Collecting and serving its routes.", examples=[0.002])
    total_seconds: float | None = Field(
        description="The whole start.", examples=[0.27])


class PluginDetail(PluginSummary):
    """One plugin in full: manifest, hooks and contributions."""

    manifest: dict[str, Any] | None
    problems: list[str]
    hooks: list[str]
    routes: list[RouteInfo]
    stats: dict[str, dict[str, float | int]]
    permissions_requested: list[str]
    permissions_granted: list[str]
    contributions: dict[str, list[str]]
    tasks: list[dict[str, Any]]
    failures: list[FailureInfo] = Field(
        description="The plugin's last failures (at most 20), oldest first.")
    timings: StartTimingsInfo | None = Field(
        description="How long each step of its last start took; null when this host "
                    "never started it. A start slower than PLEXICHAT_SLOW_START_WARNING "
                    "also has a warning naming its slowest step.")


class SettingsView(BaseModel):
    """A plugin's settings (secrets masked) and the schema they follow."""

    plugin: str = Field(examples=["moderation"])
    settings: dict[str, Any] = Field(examples=[{"action": "mask", "api_key": "********"}])
    settings_schema: dict[str, Any] = Field(examples=[{
        "type": "object",
        "properties": {"action": {"enum": ["mask", "reject"]},
                       "api_key": {"type": "string", "writeOnly": True}}}])


class SettingsProblem(BaseModel):
    """One violated rule of a settings document."""

    path: str = Field(examples=["$.rate_limit_per_minute"])
    rule: str = Field(examples=["minimum"])
    message: str = Field(examples=["-5 is less than the minimum of 0"])


class SettingsRefused(BaseModel):
    """Why settings were not stored: the plugin's schema refused them (``errors`` lists
    each violated rule), or the body was not a JSON object (``detail`` is then FastAPI's
    list of validation problems and ``errors`` is empty)."""

    detail: str | list[dict[str, Any]] = Field(
        examples=["invalid settings for plugin 'moderation': $.rate_limit_per_minute: -5 "
                  "is less than the minimum of 0 (minimum)"])
    errors: list[SettingsProblem] = Field(default_factory=list)


class GrantChange(BaseModel):
    """Permissions to grant and to revoke (either may be empty)."""

    grant: list[str] = []
    revoke: list[str] = []
    generation: int | None = Field(
        default=None, description="Change only if the plugin is still at this "
        "desired-state generation (as `If-Match`); 409 otherwise.")


class GenerationConflict(BaseModel):
    """The plugin changed since the generation the request named; nothing was written."""

    detail: str
    current: PluginSummary = Field(description="The plugin's state and generation now.")


class GrantsView(BaseModel):
    """A plugin's granted permissions after a change, and when the change applies."""

    plugin: str
    granted: list[str]
    note: str
    generation: int = Field(default=0, description="The plugin's generation after it.")


class HealthView(BaseModel):
    """A plugin's health: overall flag and each check's outcome."""

    plugin: str = Field(examples=["hello"])
    healthy: bool = Field(examples=[True])
    checks: dict[str, dict[str, Any]] = Field(examples=[{
        "greeting": {"healthy": True, "message": "ok"}}])


class SelfTestView(BaseModel):
    """The outcome of a plugin's self-test."""

    plugin: str = Field(examples=["hello"])
    passed: bool = Field(examples=[True])
    tests: list[str] = Field(examples=[["greets"]])
    message: str = Field(examples=["1 test passed"])


def _host(request: Request) -> PluginHost:
    return request.app.state.host  # type: ignore[no-any-return]


def _summary(record: PluginRecord, generation: int = 0) -> dict[str, Any]:
    c = record.candidate
    return {
        "generation": generation,
        "name": c.name,
        "version": c.version,
        "type": c.type,
        "state": record.state.value,
        "reason": record.reason,
        "distribution": c.distribution,
        "distribution_version": c.distribution_version,
        "warnings": list(record.warnings),
    }


@router.get("", response_model=list[PluginSummary])
async def list_plugins(request: Request) -> list[dict[str, Any]]:
    """Every installed plugin with its live state and, when not running, why."""
    host = _host(request)
    generations = host.store.plugin_generations()
    return [_summary(host.records[name], generations.get(name, 0))
            for name in sorted(host.records)]


@router.get("/{name}", response_model=PluginDetail,
            responses={404: {"description": "No plugin of that name is installed."}})
async def plugin_detail(name: str, request: Request) -> dict[str, Any]:
    """One plugin: state, reason, manifest, implemented hooks, contributed routes."""
    host = _host(request)
    record = host.records.get(name)
    if record is None:
        raise HTTPException(404, f"no plugin named {name!r} is installed")
    return {
        **_summary(record, host.store.plugin_generation(name)),
        "manifest": (record.candidate.manifest.model_dump(mode="json")
                     if record.candidate.manifest is not None else None),
        "problems": record.candidate.problems,
        "hooks": host.hooks_of(name),
        "routes": [
            {"methods": sorted(r.methods or ("*",)), "path": r.path, "name": r.name}
            for r in flatten_routes(record.routes)
        ],
        "stats": host.dispatcher.stats_for(name),
        "permissions_requested": sorted(host.requested_permissions(record)),
        "permissions_granted": sorted(record.context.granted if record.context
                                      else host.store.grants(name)),
        "contributions": (host.wiring.by_plugin[name].summary()
                          if name in host.wiring.by_plugin else {}),
        "tasks": [t.as_dict() for t in host.tasks.status(name)],
        "failures": [f.as_dict() for f in host.dispatcher.failures.of(name)],
        "timings": record.timings.as_dict() if record.timings is not None else None,
    }


def _record_or_404(host: PluginHost, name: str) -> PluginRecord:
    try:
        return host.record(name)
    except PluginNotFound as exc:
        raise HTTPException(404, str(exc)) from None


_ADMIN: dict[int | str, dict[str, Any]] = {
    401: {"description": "No admin token."},
    403: {"description": "Wrong admin token."},
    404: {"description": "No plugin of that name is installed."},
}

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": GenerationConflict,
          "description": "`If-Match` named another generation than the plugin's: it was "
                         "changed meanwhile; nothing was written."},
}

IfMatch = Annotated[str | None, Header(
    description="The plugin's desired-state generation this change is based on "
                "(`generation` of its summary); without it the last write wins.")]


def _expected(if_match: str | None, body: int | None = None) -> int | None:
    """The generation named by ``If-Match`` (quotes and ``W/`` allowed) or the body."""
    if if_match is None or not if_match.strip():
        return body
    raw = if_match.strip().removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError:
        raise RequestValidationError([{  # FastAPI's own 422, as the schema documents
            "type": "int_parsing", "loc": ("header", "if-match"), "input": if_match,
            "msg": "If-Match must be a plugin generation (an integer)"}]) from None


def _conflict(host: PluginHost, name: str, exc: GenerationMismatch) -> JSONResponse:
    current = _summary(host.record(name), host.store.plugin_generation(name))
    return JSONResponse(status_code=409, content={"detail": str(exc), "current": current})


@router.post("/{name}/enable", response_model=PluginSummary,
             responses={**_ADMIN, **_CONFLICT}, dependencies=[Depends(require_admin)])
async def enable_plugin(name: str, request: Request, if_match: IfMatch = None) -> Any:
    """Start a plugin and remember the choice across restarts, on every replica."""
    return await _set_enabled(request, name, True, _expected(if_match))


@router.post("/{name}/disable", response_model=PluginSummary,
             responses={**_ADMIN, **_CONFLICT}, dependencies=[Depends(require_admin)])
async def disable_plugin(name: str, request: Request, if_match: IfMatch = None) -> Any:
    """Stop a plugin, remove its routes, middleware, hooks and tasks; remember the choice
    (every replica follows)."""
    return await _set_enabled(request, name, False, _expected(if_match))


@router.post("/{name}/start", response_model=PluginSummary,
             responses={**_ADMIN, 409: {"description": "The plugin may not run: disabled, "
                                                       "rejected, or the host is in safe "
                                                       "mode; the detail says which."}},
             dependencies=[Depends(require_admin)])
async def start_plugin(name: str, request: Request) -> Any:
    """Start a plugin for this run: one whose manifest says ``auto_start: false``, or
    one stopped by the operator. Nothing is stored; a started plugin is left alone.
    A plugin that fails to start answers 200 with state ``failed`` and the reason."""
    host = _host(request)
    _record_or_404(host, name)
    try:
        record = await host.start(name)
    except NotStartable as exc:
        raise HTTPException(409, str(exc)) from None
    await host.audit.arecord(admin_actor(request), AuditAction.PLUGIN_START, plugin=name,
                             target=name, details={"state": record.state.value})
    return _summary(record, host.store.plugin_generation(name))


@router.post("/{name}/stop", response_model=PluginSummary, responses=_ADMIN,
             dependencies=[Depends(require_admin)])
async def stop_plugin(name: str, request: Request) -> Any:
    """Stop a started plugin for this run (it hears ``shutdown``, its routes, hooks and
    tasks are withdrawn); nothing is stored, so it starts again with the host."""
    host = _host(request)
    _record_or_404(host, name)
    record = await host.stop(name)
    await host.audit.arecord(admin_actor(request), AuditAction.PLUGIN_STOP, plugin=name,
                             target=name, details={"state": record.state.value})
    return _summary(record, host.store.plugin_generation(name))


async def _set_enabled(request: Request, name: str, enabled: bool,
                       expected: int | None) -> Any:
    host = _host(request)
    _record_or_404(host, name)
    actor = admin_actor(request)
    try:
        with expecting(name, expected):
            record = await (host.enable(name, actor=actor) if enabled
                            else host.disable(name, actor=actor))
    except GenerationMismatch as exc:
        return _conflict(host, name, exc)
    return _summary(record, host.store.plugin_generation(name))


@router.get("/{name}/settings", response_model=SettingsView, responses=_ADMIN,
            dependencies=[Depends(require_admin)])
async def get_settings(name: str, request: Request) -> dict[str, Any]:
    """The plugin's settings; secrets (``writeOnly``, ``format: password``) are masked."""
    host = _host(request)
    _record_or_404(host, name)
    schema = await host.settings_schema(name)
    return {"plugin": name, "settings": mask_secrets(schema, host.current_settings(name)),
            "settings_schema": schema}


@router.put("/{name}/settings", response_model=SettingsView,
            responses={**_ADMIN,
                       409: {"description": "The plugin refused them, or `If-Match` named "
                                            "another generation; nothing changed."},
                       422: {"model": SettingsRefused,
                             "description": "Invalid settings; nothing changed."}},
            dependencies=[Depends(require_admin)])
async def put_settings(name: str, request: Request,
                       settings: Annotated[dict[str, Any], Body()],
                       if_match: IfMatch = None) -> Any:
    """Validate and store new settings, then apply them to the live plugin.

    Invalid settings answer 422 with each error's JSON path and rule. If the plugin's
    ``config_changed`` raises, the previous settings are restored and the answer is 409.
    """
    host = _host(request)
    _record_or_404(host, name)
    try:
        with expecting(name, _expected(if_match)):
            stored = await host.update_settings(name, settings, actor=admin_actor(request))
    except GenerationMismatch as exc:
        return _conflict(host, name, exc)
    except SettingsInvalid as exc:
        return JSONResponse(status_code=422, content={
            "detail": str(exc),
            "errors": [{"path": e.path, "rule": e.rule, "message": e.message}
                       for e in exc.errors]})
    except SettingsRejected as exc:
        return JSONResponse(status_code=409, content={"detail": str(exc)})
    schema = await host.settings_schema(name)
    return {"plugin": name, "settings": mask_secrets(schema, stored), "settings_schema": schema}


@router.post("/{name}/grants", response_model=GrantsView,
             responses={**_ADMIN, **_CONFLICT,
                        422: {"description": "Unknown permission; nothing changed."}},
             dependencies=[Depends(require_admin)])
async def change_grants(name: str, change: GrantChange, request: Request,
                        if_match: IfMatch = None) -> Any:
    """Grant and revoke permissions; stored as the operator's decision.

    A started plugin sees the new grants at once for every service it asks for from
    then on; a service it already holds stays until it is restarted (disable, enable).
    """
    from ..permissions import KNOWN_PERMISSIONS

    host = _host(request)
    record = _record_or_404(host, name)
    unknown = sorted(set(change.grant + change.revoke) - set(KNOWN_PERMISSIONS))
    if unknown:
        raise HTTPException(422, f"unknown permission(s): {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(KNOWN_PERMISSIONS))}")
    try:
        with expecting(name, _expected(if_match, change.generation)):
            granted = host.change_grants(name, change.grant, change.revoke,
                                         actor=admin_actor(request))
    except GenerationMismatch as exc:
        return _conflict(host, name, exc)
    note = "used from the plugin's next start"
    if record.context is not None:
        record.context.granted = frozenset(granted)
    if record.state is PluginState.STARTED:
        note = ("in effect now for what the plugin asks for from now on"
                + ("; a revoked service it already holds stays until it is restarted"
                   " (disable, enable)" if change.revoke else ""))
    return {"plugin": name, "granted": sorted(granted), "note": note,
            "generation": host.store.plugin_generation(name)}


@router.get("/{name}/health", response_model=HealthView,
            responses={404: {"description": "No plugin of that name is installed."}})
async def plugin_health(name: str, request: Request) -> dict[str, Any]:
    """Run the plugin's health checks now."""
    host = _host(request)
    _record_or_404(host, name)
    report = await host.health(name)
    return {"plugin": name, "healthy": report.healthy, "checks": report.checks}


@router.post("/{name}/self-test", response_model=SelfTestView, responses=_ADMIN,
             dependencies=[Depends(require_admin)])
async def plugin_self_test(name: str, request: Request) -> dict[str, Any]:
    """Run the plugin's self-test, bounded by the health timeout."""
    host = _host(request)
    _record_or_404(host, name)
    result = await host.self_test(name)
    return {"plugin": name, "passed": result.passed, "tests": result.tests,
            "message": result.message}
