"""``/api/docs`` (Swagger UI) and ``/api/redoc`` (ReDoc) without any CDN.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they are blank on a host
without internet. These pages load the same programs from the host itself: the
JavaScript and CSS files come from the installed ``fastapi-offline`` distribution (a
runtime dependency), served under :data:`ASSETS_URL`. Nothing on either page asks for
anything outside the host: no fonts, no favicon and no validator badge from elsewhere.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "ASSETS_URL", "DOCS_URL", "REDOC_URL", "assets_dir", "install"]

DOCS_URL = "/api/docs"
REDOC_URL = "/api/redoc"
OPENAPI_URL = "/api/openapi.json"
OAUTH2_REDIRECT_URL = f"{DOCS_URL}/oauth2-redirect"
ASSETS_URL = "/api/docs-assets"
"""Where the Swagger UI and ReDoc files are served."""

SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon.png"
ASSETS = (SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON)
"""The files the two pages load, all from :func:`assets_dir`."""

CONTENT_SECURITY_POLICY = "default-src 'self' 'unsafe-inline' data: blob:"
"""Sent with both pages: the browser loads nothing from outside the host, even what the
programs themselves would fetch (ReDoc's menu shows a logo from cdn.redoc.ly, which it
hides when the image cannot load)."""

SWAGGER_UI_PARAMETERS = {
    # Swagger UI shows a badge from validator.swagger.io unless told not to.
    "validatorUrl": None,
}


class MissingDocsAssets(RuntimeError):
    """The installed fastapi-offline distribution lacks a file the pages need."""


def assets_dir() -> Path:
    """The directory holding :data:`ASSETS`: ``fastapi_offline/static`` of the installed
    ``fastapi-offline`` distribution.

    Raises :class:`MissingDocsAssets`, naming the missing files and how to repair the
    installation, when any of them is not there.
    """
    try:
        directory = Path(str(files("fastapi_offline") / "static"))
    except ModuleNotFoundError:
        raise MissingDocsAssets(
            "the fastapi-offline distribution (Swagger UI and ReDoc for /api/docs and "
            "/api/redoc) is not installed: pip install 'fastapi-offline>=1.7'") from None
    missing = [name for name in ASSETS if not (directory / name).is_file()]
    if missing:
        raise MissingDocsAssets(
            f"{directory} lacks {', '.join(missing)} (needed by /api/docs and /api/redoc): "
            "reinstall it with pip install --force-reinstall 'fastapi-offline>=1.7'")
    return directory


router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    """The path the app is mounted under (``--root-path`` behind a proxy), or ``""``."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get(DOCS_URL)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over the host's schema, every file from the host."""
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=root + OPENAPI_URL,
        title="PlexiChat - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_URL}/{SWAGGER_JS}",
        swagger_css_url=f"{root}{ASSETS_URL}/{SWAGGER_CSS}",
        swagger_favicon_url=f"{root}{ASSETS_URL}/{FAVICON}",
        oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    return _confined(page)


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_redirect() -> HTMLResponse:
    """The page Swagger UI's OAuth2 flow returns to."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_URL)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over the host's schema, every file from the host (no web fonts)."""
    root = _root(request)
    page = get_redoc_html(
        openapi_url=root + OPENAPI_URL,
        title="PlexiChat - ReDoc",
        redoc_js_url=f"{root}{ASSETS_URL}/{REDOC_JS}",
        redoc_favicon_url=f"{root}{ASSETS_URL}/{FAVICON}",
        with_google_fonts=False,
    )
    return _confined(page)


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


def install(app: FastAPI) -> None:
    """Serve the two pages and their files on ``app`` (built with ``docs_url=None`` and
    ``redoc_url=None``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="api-docs-assets")
    app.include_router(router)
