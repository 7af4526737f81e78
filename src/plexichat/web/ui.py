"""The operator's web UI: server-rendered pages over the plugin host.

Pages (HTML, Jinja2 templates in ``templates/``, assets in ``static/``, no CDN):

``/``
    overview: host version, health (readiness checks, failed and quarantined plugins),
    plugin counts by state, plugin UI pages.
``/favicon.ico``
    the host's icon, linked from every page.
``/login`` · ``/logout``
    the admin token, checked with :class:`~plexichat.web.auth.AdminToken`, opens a
    session; the cookie holds a random session id (``HttpOnly``, ``SameSite=Strict``,
    path ``/``), never the token, and the session lives in this process's memory.
``/chat``
    the chat page for users (:mod:`.chat_page`).
``/plugins``
    every plugin: version, type, state and reason, health; enable/disable buttons.
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
checked on POST together with the ``Origin`` header. The forms call the same
:class:`~plexichat.manager.PluginHost` methods as the REST API.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import logging
import mimetypes
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import __version__, adapters
from ..contributions import UIPageSpec
from ..kernel.states import STATE_STYLE
from ..manager import PluginHost, PluginRecord, PluginState, SettingsRejected
from ..settings import SettingsError, SettingsInvalid
from .safe_paths import clean_relative, is_inside, resolve_inside

if TYPE_CHECKING:
    import jinja2

log = logging.getLogger("plexichat.web.ui")

__all__ = ["SESSION_COOKIE", "install", "router"]

SESSION_COOKIE = "plexichat_session"
SESSION_LIFETIME = 12 * 3600
"""Seconds a UI session lasts."""
MAX_FORM_BYTES = 1024 * 1024

STATIC_DIR = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    """Add the web UI, the ``/docs`` viewer and the ``/chat`` page to ``app``."""
    from .chat_page import router as chat_router
    from .docs_viewer import router as docs_router

    app.state.ui_sessions = Sessions()
    app.state.ui_hook_cache = {}
    app.add_exception_handler(Answer, _answer)
    app.include_router(router)
    app.include_router(docs_router)
    app.include_router(chat_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


class Answer(Exception):
    """Raised by helpers to answer a request at once (a redirect, a 403 page)."""

    def __init__(self, response: Response) -> None:
        self.response = response


async def _answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Answer)
    return exc.response


# --- sessions ---------------------------------------------------------------------------


@dataclass
class UISession:
    """One logged-in browser."""

    csrf: str
    expires: float
    flashes: list[tuple[str, str]] = field(default_factory=list)

    def flash(self, kind: str, message: str) -> None:
        """A message shown once on the next page."""
        self.flashes.append((kind, message))


class Sessions:
    """Server-side sessions keyed by a hash of the random id the cookie carries."""

    def __init__(self, lifetime: float = SESSION_LIFETIME, limit: int = 10_000) -> None:
        self.lifetime = lifetime
        self.limit = limit
        self._items: dict[str, UISession] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()

    def create(self) -> tuple[str, UISession]:
        """A new session and the id to put in the cookie."""
        session_id = secrets.token_urlsafe(32)
        session = UISession(csrf=secrets.token_urlsafe(32),
                            expires=time.monotonic() + self.lifetime)
        with self._lock:
            now = time.monotonic()
            for key in [k for k, s in self._items.items() if s.expires < now]:
                del self._items[key]
            while len(self._items) >= self.limit:  # the oldest goes first
                del self._items[next(iter(self._items))]
            self._items[self._key(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> UISession | None:
        """The live session of ``session_id``, if any."""
        if not session_id:
            return None
        key = self._key(session_id)
        with self._lock:
            session = self._items.get(key)
            if session is not None and session.expires < time.monotonic():
                del self._items[key]
                return None
        return session

    def drop(self, session_id: str | None) -> None:
        """End a session (logout)."""
        if session_id:
            with self._lock:
                self._items.pop(self._key(session_id), None)


def _sessions(request: Request) -> Sessions:
    return request.app.state.ui_sessions  # type: ignore[no-any-return]


def current_session(request: Request) -> UISession | None:
    """The logged-in session of this request, if any."""
    return _sessions(request).get(request.cookies.get(SESSION_COOKIE))


def _session_cookie(request: Request, value: str, max_age: int) -> str:
    secure = "; Secure" if request.url.scheme == "https" else ""
    return (f"{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; "
            f"SameSite=Strict{secure}")


def _local_target(target: str, default: str = "/plugins") -> str:
    """``target`` if it is a path on this host (no open redirects), else ``default``."""
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 32 for c in target)):
        return default
    return target


def require_login(request: Request) -> UISession:
    """The session, or an answer sending the browser to the login form."""
    session = current_session(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Answer(RedirectResponse(
            "/login?" + urllib.parse.urlencode({"next": target}), status_code=303))
    return session


async def read_form(request: Request) -> dict[str, list[str]]:
    """The fields of a url-encoded form body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise Answer(await error_page(request, 413, "The form is too large."))
    if kind != "application/x-www-form-urlencoded" and (body or kind):
        raise Answer(await error_page(request, 415, "Forms must be sent url-encoded."))
    form: dict[str, list[str]] = {}
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                       max_num_fields=2000)
    except (UnicodeDecodeError, ValueError):
        raise Answer(await error_page(request, 400, "The form could not be read.")) from None
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return form


def _same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site.

    Browsers send ``Origin`` with every form POST; clients that send none are let
    through to the CSRF token check.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    netloc = urllib.parse.urlsplit(origin).netloc
    hosts = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "")}
    return bool(netloc) and netloc in hosts


async def checked_post(request: Request) -> tuple[UISession, dict[str, list[str]]]:
    """The session and form of a POST whose CSRF token (and ``Origin``) check out."""
    session = require_login(request)
    form = await read_form(request)
    token = (form.get("csrf_token") or [""])[0]
    if not _same_origin(request) or not hmac.compare_digest(token.encode(),
                                                            session.csrf.encode()):
        raise Answer(await error_page(
            request, 403, "This form did not come from your current session (CSRF check "
            "failed). Reload the page and try again."))
    return session, form


# --- rendering ---------------------------------------------------------------------------

_templates: jinja2.Environment | None = None


def templates() -> jinja2.Environment:
    """The Jinja2 environment of the UI's templates (autoescaping on)."""
    global _templates
    if _templates is None:
        import jinja2

        _templates = jinja2.Environment(
            loader=jinja2.PackageLoader("plexichat.web", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        _templates.filters["urlpart"] = lambda s: urllib.parse.quote(str(s), safe="")
        _templates.filters["isotime"] = _isotime
        # state names, labels and CSS classes come from the one table of them
        _templates.globals["PluginState"] = PluginState
        _templates.globals["STATE_STYLE"] = STATE_STYLE
    return _templates


def _isotime(unix: float) -> str:
    """Unix time as ``2026-01-31T12:00:00Z`` (UTC, to the second)."""
    import datetime

    moment = datetime.datetime.fromtimestamp(unix, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _host(request: Request) -> PluginHost:
    return request.app.state.host  # type: ignore[no-any-return]


async def render(request: Request, template: str, *, status: int = 200, title: str = "",
                 **context: Any) -> HTMLResponse:
    """A page of the UI, with the layout's common context."""
    session = current_session(request)
    flashes = list(session.flashes) if session else []
    if session:
        session.flashes.clear()
    html = templates().get_template(template).render(
        version=__version__,
        title=title,
        path=request.url.path,
        session=session,
        csrf=session.csrf if session else "",
        flashes=flashes,
        themes=theme_links(_host(request)),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An HTML error page."""
    return await render(request, "error.html", status=status, title=f"Error {status}",
                        code=status, message=message)


# --- plugin contributions the UI reads -----------------------------------------------------


async def plugin_hook_values(request: Request, record: PluginRecord, hook: str) -> list[Any]:
    """What a started plugin's implementations of ``hook`` return (one value each, for
    :mod:`plexichat.adapters`), asked once per plugin load."""
    host = _host(request)
    if (record.state is not PluginState.STARTED or record.obj is None
            or not host.pm.is_registered(record.obj)):
        return []
    cache: dict[tuple[str, str], tuple[Any, list[Any]]] = request.app.state.ui_hook_cache
    hit = cache.get((record.name, hook))
    if hit is not None and hit[0] is record.obj:
        return hit[1]
    results = await host.dispatcher.acall(hook, only=record.name, context=record.context,
                                          timeout=host.settings.health_timeout,
                                          sync_in_thread=True)
    values = list(results.values)
    cache[(record.name, hook)] = (record.obj, values)
    return values


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


def theme_files(record: PluginRecord) -> list[Path]:
    """The CSS files a ``theme`` plugin ships: ``theme.css``, then ``theme/*.css``."""
    package = record.candidate.package_dir
    if record.candidate.type != "theme" or not package:
        return []
    files = []
    single = resolve_inside(package, "theme.css")
    if single is not None and single.is_file():
        files.append(single)
    folder = resolve_inside(package, "theme")
    if folder is not None and folder.is_dir():
        files.extend(p for p in sorted(folder.glob("*.css"))
                     if p.is_file() and is_inside(folder, p))
    return files


def theme_links(host: PluginHost) -> list[str]:
    """Stylesheet URLs of every started theme plugin."""
    return [f"/theme/{name}.css" for name, record in sorted(host.records.items())
            if record.state is PluginState.STARTED and record.candidate.type == "theme"
            and theme_files(record)]


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
    without it); ``ok`` otherwise.
    """
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
                        total=len(host.records), pages=pages)


@router.get("/favicon.ico")
async def favicon() -> Response:
    """The host's icon (browsers ask for it at this path)."""
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/vnd.microsoft.icon",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/plugins") -> Response:
    """The login form."""
    return await render(request, "login.html", title="Log in", next=_local_target(next),
                        error="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the admin token; on success open a session and go where the user was going."""
    form = await read_form(request)
    target = _local_target((form.get("next") or ["/plugins"])[0])
    token = (form.get("token") or [""])[0].strip()
    if not _same_origin(request):
        return await error_page(request, 403, "Log in from this host's own login form.")
    admin = request.app.state.admin_token
    if not token or not await asyncio.to_thread(admin.check, token):
        return await render(request, "login.html", status=401, title="Log in", next=target,
                            error="That is not the admin token.")
    _sessions(request).drop(request.cookies.get(SESSION_COOKIE))
    session_id, _session = _sessions(request).create()
    response = RedirectResponse(target, status_code=303)
    response.headers.append("set-cookie",
                            _session_cookie(request, session_id, SESSION_LIFETIME))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session."""
    await checked_post(request)
    _sessions(request).drop(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.headers.append("set-cookie", _session_cookie(request, "", 0))
    return response


@router.get("/plugins", response_class=HTMLResponse)
async def plugins_page(request: Request) -> Response:
    """Every plugin with its state, reason and health, and enable/disable buttons."""
    require_login(request)
    host = _host(request)
    records = [host.records[name] for name in sorted(host.records)]
    health = await asyncio.gather(*(_health(host, r) for r in records))
    rows = [{"record": r, "health": h} for r, h in zip(records, health, strict=True)]
    return await render(request, "plugins.html", title="Plugins", rows=rows)


def _record_or_none(host: PluginHost, name: str) -> PluginRecord | None:
    return host.records.get(name)


async def _not_found(request: Request, name: str) -> HTMLResponse:
    return await error_page(request, 404, f"No plugin named {name!r} is installed.")


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
        detail=detail, manifest=(record.candidate.manifest.model_dump(mode="json")
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
    require_login(request)
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


async def _toggle(request: Request, name: str, *, enable: bool) -> Response:
    session, form = await checked_post(request)
    host = _host(request)
    if _record_or_none(host, name) is None:
        return await _not_found(request, name)
    record = await (host.enable(name) if enable else host.disable(name))
    state = record.state.value + (f": {record.reason}" if record.reason else "")
    wanted = PluginState.STARTED if enable else PluginState.DISABLED
    session.flash("success" if record.state is wanted else "error",
                  f"{name} is now {state}.")
    target = _local_target((form.get("next") or ["/plugins"])[0])
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
        await host.update_settings(name, data)
    except SettingsInvalid as exc:
        return await _detail(request, record, status=422, submitted=form, errors=exc.errors)
    except SettingsRejected as exc:
        return await _detail(request, record, status=409, submitted=form,
                             general=[str(exc)])
    session.flash("success", "Settings saved.")
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
