"""The operator's web UI: server-rendered pages over the plugin host.

Pages (HTML, Jinja2 templates in ``templates/``, assets in ``static/``, no CDN):

``/``
    overview: host version, health (readiness checks, failed and quarantined plugins),
    plugin counts by state, plugin UI pages.
``/favicon.ico``
    the host's icon, linked from every page.
``/login`` · ``/logout``
    the admin token, checked with :class:`~plexichat.web.auth.AdminToken`, opens a
    session (:mod:`.ui_session`). Failed attempts are throttled per address (and for
    the admin as one user name): after ``PLEXICHAT_LOGIN_MAX_FAILURES``, 429 with
    ``Retry-After`` (:mod:`plexichat.services.login_throttle`).
``/chat``
    the chat page for users (:mod:`.chat_page`).
``/audit``
    the audit trail, with filters (:mod:`.ui_audit`).
``/plugins``
    every plugin: version, type, state and reason, health; enable/disable buttons.
``/install`` · ``/install/jobs/{job_id}``
    installing plugins: pip's plan first, then the install, followed phase by phase
    (:mod:`.ui_install`).
``/plugins/{name}``
    one plugin: its settings form generated from its JSON Schema
    (:mod:`.settings_form`) with the host's validation errors next to their fields,
    hooks, routes, tasks, health, permissions, UI pages and docs.
``/plugins/{name}/ui/{page}/…``
    a plugin's UI pages (manifest ``ui_pages`` and the ``register_ui_pages`` hook),
    files of its package served only from inside the page's directory
    (:mod:`.safe_paths`); anything that would leave it is 404.
``/theme/{name}.css``
    the CSS a started ``theme`` plugin ships (``theme.css`` at its package root, then
    ``theme/*.css``), linked from every page.

Every form that changes something carries the session's CSRF token in a hidden field,
checked on POST together with the ``Origin`` header (:mod:`.ui_forms`); pages are
rendered by :mod:`.ui_render`. The forms call the same
:class:`~plexichat.host.PluginHost` methods as the REST API.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import mimetypes
import urllib.parse
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import adapters
from ..audit import Actor, AuditAction
from ..contributions import UIPageSpec
from ..host import PluginHost
from ..kernel.lifecycle import PluginRecord
from ..kernel.plugin_settings import SettingsRejected
from ..kernel.states import PluginState
from ..services.login_throttle import LoginKeys, LoginThrottle
from ..settings import SettingsError, SettingsInvalid
from .auth import client_address
from .safe_paths import clean_relative, is_inside, resolve_inside
from .ui_forms import checked_post, read_form, same_origin
from .ui_render import error_page, plugin_hook_values, render, theme_files
from .ui_session import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    Answer,
    Sessions,
    current_session,
    local_target,
    require_login,
    session_cookie,
    sessions_of,
    ui_actor,
)

log = logging.getLogger("plexichat.web.ui")

__all__ = ["SESSION_COOKIE", "install", "router"]

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    """Add the web UI, the ``/docs`` viewer and the ``/chat`` page to ``app``."""
    from .chat_page import router as chat_router
    from .docs_viewer import router as docs_router
    from .ui_audit import router as audit_router
    from .ui_install import router as install_router

    app.state.ui_sessions = Sessions(app.state.host.services.ephemeral)
    app.state.ui_hook_cache = {}
    app.add_exception_handler(Answer, _answer)
    app.include_router(router)
    app.include_router(install_router)
    app.include_router(docs_router)
    app.include_router(audit_router)
    app.include_router(chat_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


async def _answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Answer)
    return exc.response


# --- plugin UI pages ------------------------------------------------------------------


async def ui_pages(request: Request, record: PluginRecord) -> list[UIPageSpec]:
    """A plugin's UI pages: the manifest's ``ui_pages``, then ``register_ui_pages``."""
    pages: list[UIPageSpec] = []
    declared = record.candidate.manifest.ui_pages if record.candidate.manifest else []
    for item in declared:
        pages.append(UIPageSpec(name=item.name, title=item.title, path=item.path,
                                description=item.description))
    for value in await plugin_hook_values(request, record, "register_ui_pages"):
        try:
            pages.extend(adapters.ui_pages(record.name, value))
        except adapters.ContributionError as exc:
            log.warning("%s", exc)
    unique: dict[str, UIPageSpec] = {}
    for page in pages:
        if clean_relative(page.name) is not None and "/" not in page.name:
            unique.setdefault(page.name, page)
    return list(unique.values())


def _page_root(record: PluginRecord, page: UIPageSpec) -> Path | None:
    """The directory a UI page is served from: inside the package, never the package
    root itself (which holds the plugin's code)."""
    package = record.candidate.package_dir
    if not package:
        return None
    root = resolve_inside(package, page.path.strip().rstrip("/"))
    if root is None or not root.is_dir() or root == Path(package).resolve():
        return None
    return root


_NEVER_SERVED = {".py", ".pyc", ".pyo", ".pyd", ".so"}


def locate_ui_file(record: PluginRecord, pages: list[UIPageSpec], path: str) -> Path | None:
    """The file (or directory) ``path`` names below ``/plugins/{name}/ui/``, or None.

    The first segment names a page; the rest is a path inside that page's directory.
    Paths under the package's ``ui/`` folder (e.g. ``ui/static/…``, shared by pages
    living there) are served too when at least one page lives in it.
    """
    segments = clean_relative(path)
    package = record.candidate.package_dir
    if segments is None or not package or not segments[0]:
        return None
    rest = "/".join(segments[1:])
    target: Path | None = None
    for page in pages:
        if page.name == segments[0]:
            root = _page_root(record, page)
            if root is not None:
                target = resolve_inside(root, rest)
            break
    if target is None:
        shared = resolve_inside(package, "ui")
        if shared is not None and shared.is_dir() and any(
                (root := _page_root(record, p)) is not None and is_inside(shared, root)
                for p in pages):
            target = resolve_inside(shared, path)
    if target is None or not is_inside(package, target):
        return None
    if target.is_file() and target.suffix.lower() in _NEVER_SERVED:
        return None
    return target


def _host(request: Request) -> PluginHost:
    return request.app.state.host  # type: ignore[no-any-return]


async def _health(host: PluginHost, record: PluginRecord) -> dict[str, Any]:
    if record.state is not PluginState.STARTED:
        return {"label": "not running", "key": "none", "healthy": None, "detail": ""}
    report = await host.health(record.name)
    failing = [f"{name}: {check.get('detail', 'failing')}"
               for name, check in report.checks.items() if not check.get("healthy")]
    if not report.checks:  # nothing to judge by: say so rather than "healthy"
        return {"label": "no checks", "key": "none", "healthy": None,
                "detail": "the plugin registers no health checks"}
    label = "healthy" if report.healthy else "unhealthy"
    return {"label": label, "key": label, "healthy": report.healthy,
            "detail": "; ".join(failing)}


_BROKEN_STATES = (PluginState.FAILED, PluginState.QUARANTINED)


async def overview_health(host: PluginHost) -> tuple[str, list[str]]:
    """The overview's health word and the problems behind it.

    ``starting`` until the plugins have started; ``unhealthy`` while a readiness check
    fails; ``degraded`` while a plugin has failed or is quarantined (the host serves,
    without it); ``safe-mode`` when no plugin is loaded (:mod:`plexichat.boot`); ``ok``
    otherwise.
    """
    if host.safe_mode:
        return "safe-mode", [f"no plugin is loaded: {host.safe_mode}"]
    if not host.ready:
        return "starting", ["plugins are still starting"]
    problems = await host.ready_problems()
    broken = [f"{name} {record.state.value}: {record.reason or 'no reason given'}"
              for name, record in sorted(host.records.items())
              if record.state in _BROKEN_STATES]
    if problems:
        return "unhealthy", problems + broken
    if broken:
        return "degraded", broken
    return "ok", []


# --- pages -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    """Host version, readiness and plugin counts by state."""
    host = _host(request)
    counts = collections.Counter(r.state for r in host.records.values())
    ready, problems = await overview_health(host)
    pages: list[tuple[str, UIPageSpec]] = []
    for name, record in sorted(host.records.items()):
        if record.state is PluginState.STARTED:
            pages.extend((name, page) for page in await ui_pages(request, record))
    return await render(request, "overview.html", title="Overview", ready=ready,
                        problems=problems, counts=sorted(counts.items()),
                        total=len(host.records), pages=pages,
                        cluster=await _cluster(request))


async def _cluster(request: Request) -> Any:
    """The cluster view for the overview's replica table; None when not clustered, or
    for a visitor who is not logged in (replica addresses are for operators)."""
    cluster = request.app.state.cluster
    if cluster is None or await current_session(request) is None:
        return None
    from datetime import datetime, timezone

    from ..cluster.status import cluster_view

    host = _host(request)
    view = await asyncio.to_thread(
        cluster_view, host.database, host.store,
        stale_after=request.app.state.settings.cluster_stale_after,
        now=datetime.now(timezone.utc))
    return {"me": cluster.replica_id, "view": view}


@router.get("/favicon.ico")
async def favicon() -> Response:
    """The host's icon (browsers ask for it at this path)."""
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/vnd.microsoft.icon",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/plugins") -> Response:
    """The login form."""
    return await render(request, "login.html", title="Log in", next=local_target(next),
                        error="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the admin token; on success open a session and go where the user was going."""
    form = await read_form(request)
    target = local_target((form.get("next") or ["/plugins"])[0])
    token = (form.get("token") or [""])[0].strip()
    if not same_origin(request):
        return await error_page(request, 403, "Log in from this host's own login form.")
    throttle: LoginThrottle = request.app.state.login_throttle
    keys = LoginKeys.of("admin-ui", "admin", request.client.host if request.client else None)
    wait = await throttle.retry_after(keys)
    if wait is not None:
        page = await render(request, "login.html", status=429, title="Log in", next=target,
                            error=f"Too many failed logins; try again in {wait} s.")
        page.headers["Retry-After"] = str(wait)
        return page
    admin = request.app.state.admin_token
    audit = _host(request).audit
    if not token or not await asyncio.to_thread(admin.check, token):
        await throttle.failed(keys)
        await audit.arecord(Actor.ui_session("", client_address(request)),
                            AuditAction.UI_LOGIN_FAILED, target="/login")
        return await render(request, "login.html", status=401, title="Log in", next=target,
                            error="That is not the admin token.")
    await throttle.succeeded(keys)
    await sessions_of(request).drop(request.cookies.get(SESSION_COOKIE))
    session_id, session = await sessions_of(request).create()
    await audit.arecord(ui_actor(request, session), AuditAction.UI_LOGIN, target="/login")
    response = RedirectResponse(target, status_code=303)
    response.headers.append("set-cookie",
                            session_cookie(request, session_id, SESSION_LIFETIME))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session."""
    await checked_post(request)
    await sessions_of(request).drop(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.headers.append("set-cookie", session_cookie(request, "", 0))
    return response


@router.get("/plugins", response_class=HTMLResponse)
async def plugins_page(request: Request) -> Response:
    """Every plugin with its state, reason and health, and enable/disable buttons."""
    await require_login(request)
    host = _host(request)
    records = [host.records[name] for name in sorted(host.records)]
    health = await asyncio.gather(*(_health(host, r) for r in records))
    rows = [{"record": r, "health": h} for r, h in zip(records, health, strict=True)]
    return await render(request, "plugins.html", title="Plugins", rows=rows)


def _record_or_none(host: PluginHost, name: str) -> PluginRecord | None:
    return host.records.get(name)


async def _not_found(request: Request, name: str) -> HTMLResponse:
    return await error_page(request, 404, f"No plugin named {name!r} is installed.")


def _start_steps(record: PluginRecord) -> list[tuple[str, float | None]]:
    """``(step, seconds)`` of the plugin's last start, the whole start last; empty when
    this host never started it."""
    from ..kernel.startup import START_PHASES

    timings = record.timings
    if timings is None:
        return []
    return ([(label, getattr(timings, f"{phase}_seconds"))
             for phase, label in START_PHASES.items()]
            + [("total", timings.total_seconds)])


async def _detail(request: Request, record: PluginRecord, *, status: int = 200,
                  submitted: dict[str, list[str]] | None = None,
                  errors: list[SettingsError] | None = None,
                  general: list[str] | None = None) -> HTMLResponse:
    from .api_plugins import plugin_detail
    from .docs_viewer import plugin_documents
    from .settings_form import build_fields, errors_by_field

    host = _host(request)
    name = record.name
    detail = await plugin_detail(name, request)
    schema = await host.settings_schema(name)
    current = host.current_settings(name)
    fields = build_fields(schema, current, submitted)
    messages = list(general or [])
    if errors:
        messages.extend(errors_by_field(errors, fields, schema))
    return await render(
        request, "plugin_detail.html", status=status, title=name, record=record,
        detail=detail, start_steps=_start_steps(record),
        manifest=(record.candidate.manifest.model_dump(mode="json")
                                 if record.candidate.manifest is not None else {}),
        health=await _health(host, record),
        health_checks=(await host.health(name)).checks
        if record.state is PluginState.STARTED else {},
        fields=fields, form_errors=messages, has_schema=bool(schema.get("properties")),
        pages=await ui_pages(request, record),
        docs=await plugin_documents(request, record),
        served=record.state is PluginState.STARTED,
    )


@router.get("/plugins/{name}", response_class=HTMLResponse)
async def plugin_page(request: Request, name: str) -> Response:
    """One plugin: settings form, hooks, routes, tasks, health, permissions."""
    await require_login(request)
    record = _record_or_none(_host(request), name)
    if record is None:
        return await _not_found(request, name)
    return await _detail(request, record)


@router.post("/plugins/{name}/enable")
async def enable_plugin(request: Request, name: str) -> Response:
    """Start a plugin (the operator's choice is remembered)."""
    return await _toggle(request, name, enable=True)


@router.post("/plugins/{name}/disable")
async def disable_plugin(request: Request, name: str) -> Response:
    """Stop a plugin and take its contributions out (remembered)."""
    return await _toggle(request, name, enable=False)


@router.post("/plugins/{name}/start")
async def start_plugin(request: Request, name: str) -> Response:
    """Start a stopped plugin for this run (e.g. ``auto_start: false``)."""
    from ..host import NotStartable

    session, form = await checked_post(request)
    host = _host(request)
    if _record_or_none(host, name) is None:
        return await _not_found(request, name)
    try:
        record = await host.start(name)
    except NotStartable as exc:
        session.flash("error", str(exc))
    else:
        await host.audit.arecord(ui_actor(request, session), AuditAction.PLUGIN_START,
                                 plugin=name, target=name,
                                 details={"state": record.state.value})
        state = record.state.value + (f": {record.reason}" if record.reason else "")
        session.flash("success" if record.state is PluginState.STARTED else "error",
                      f"{name} is now {state}.")
    await sessions_of(request).save(session)
    return RedirectResponse(local_target((form.get("next") or ["/plugins"])[0]),
                            status_code=303)


async def _toggle(request: Request, name: str, *, enable: bool) -> Response:
    session, form = await checked_post(request)
    host = _host(request)
    if _record_or_none(host, name) is None:
        return await _not_found(request, name)
    actor = ui_actor(request, session)
    record = await (host.enable(name, actor=actor) if enable
                    else host.disable(name, actor=actor))
    state = record.state.value + (f": {record.reason}" if record.reason else "")
    wanted = PluginState.STARTED if enable else PluginState.DISABLED
    session.flash("success" if record.state is wanted else "error",
                  f"{name} is now {state}.")
    await sessions_of(request).save(session)
    target = local_target((form.get("next") or ["/plugins"])[0])
    return RedirectResponse(target, status_code=303)


@router.post("/plugins/{name}/settings", response_class=HTMLResponse)
async def save_settings(request: Request, name: str) -> Response:
    """Validate and apply the settings form; errors come back next to their fields."""
    from ..settings import fill_defaults, unmask, validate_settings
    from .settings_form import missing_required, parse_form

    session, form = await checked_post(request)
    host = _host(request)
    record = _record_or_none(host, name)
    if record is None:
        return await _not_found(request, name)
    schema = await host.settings_schema(name)
    current = host.current_settings(name)
    data = parse_form(schema, form, current)
    missing = missing_required(schema, form, current)
    if missing:  # report them with whatever else is wrong, store nothing
        others: list[SettingsError] = []
        try:
            validate_settings(name, schema, fill_defaults(schema, unmask(schema, data,
                                                                         current)))
        except SettingsInvalid as exc:
            others = exc.errors
        taken = {e.path for e in missing}
        return await _detail(request, record, status=422, submitted=form,
                             errors=missing + [e for e in others if e.path not in taken])
    try:
        await host.update_settings(name, data, actor=ui_actor(request, session))
    except SettingsInvalid as exc:
        return await _detail(request, record, status=422, submitted=form, errors=exc.errors)
    except SettingsRejected as exc:
        return await _detail(request, record, status=409, submitted=form,
                             general=[str(exc)])
    session.flash("success", "Settings saved.")
    await sessions_of(request).save(session)
    return RedirectResponse(f"/plugins/{urllib.parse.quote(name)}#settings",
                            status_code=303)


# --- plugin UI pages and themes ---------------------------------------------------------------


@router.get("/plugins/{name}/ui")
async def plugin_ui_root(name: str) -> Response:
    """``/plugins/{name}/ui`` → ``/plugins/{name}/ui/``."""
    return RedirectResponse(f"/plugins/{urllib.parse.quote(name)}/ui/", status_code=307)


@router.get("/plugins/{name}/ui/{path:path}")
async def plugin_ui(request: Request, name: str, path: str) -> Response:
    """A file of a started plugin's UI page; a directory answers its ``index.html``."""
    host = _host(request)
    record = _record_or_none(host, name)
    if record is None or record.state is not PluginState.STARTED:
        return await error_page(request, 404, "No such plugin page.")
    pages = await ui_pages(request, record)
    if path == "":
        return await render(request, "plugin_pages.html", title=f"{name}: pages",
                            record=record, pages=pages)
    target = locate_ui_file(record, pages, path)
    if target is not None and target.is_dir():
        if not path.endswith("/"):  # relative links in index.html need the slash
            quoted = urllib.parse.quote(f"/plugins/{name}/ui/{path}/")
            return RedirectResponse(quoted, status_code=307)
        index = resolve_inside(target, "index.html")
        target = index if index is not None and index.is_file() else None
    if target is None or not target.is_file():
        return await error_page(request, 404, "No such plugin page.")
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(target, media_type=media_type,
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-cache"})


@router.get("/theme/{name}.css")
async def theme_css(request: Request, name: str) -> Response:
    """The CSS of a started theme plugin."""
    record = _record_or_none(_host(request), name)
    if record is None or record.state is not PluginState.STARTED:
        return Response("/* no such theme */", status_code=404, media_type="text/css")
    files = theme_files(record)
    if not files:
        return Response("/* no such theme */", status_code=404, media_type="text/css")
    parts = [f"/* {name}: {f.name} */\n{f.read_text(encoding='utf-8', errors='replace')}"
             for f in files]
    return Response("\n".join(parts), media_type="text/css",
                    headers={"X-Content-Type-Options": "nosniff",
                             "Cache-Control": "no-cache"})
