"""Rendering the web UI's pages: the Jinja2 templates with the layout's common context,
error pages, the contributions of started plugins the pages show (hook values, themes)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from .. import __version__
from ..host import PluginHost
from ..kernel.lifecycle import PluginRecord
from ..kernel.states import STATE_STYLE, PluginState
from .safe_paths import is_inside, resolve_inside
from .ui_session import current_session, sessions_of

if TYPE_CHECKING:
    import jinja2

__all__ = ["SECURITY_HEADERS", "error_page", "plugin_hook_values", "render", "templates",
           "theme_files", "theme_links"]

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
    session = await current_session(request)
    flashes = list(session.flashes) if session else []
    if session and flashes:  # shown once
        session.flashes.clear()
        await sessions_of(request).save(session)
    html = templates().get_template(template).render(
        version=__version__,
        title=title,
        path=request.url.path,
        session=session,
        csrf=session.csrf if session else "",
        flashes=flashes,
        themes=theme_links(_host(request)),
        safe_mode=_host(request).safe_mode,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An HTML error page."""
    return await render(request, "error.html", status=status, title=f"Error {status}",
                        code=status, message=message)


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
