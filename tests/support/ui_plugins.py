"""Fixture plugins for the web UI, the ``/docs`` viewer and the browser tests.

``panel`` has a settings schema with every kind of field the generated form supports,
a UI page (``ui/dashboard``), a ``docs/`` folder with a distinctive phrase, a route, a
health check and a background task. ``tint`` is a ``theme`` plugin shipping
``theme.css``.
"""

from __future__ import annotations

from pathlib import Path

from .dists import make_plugin

DOCS_PHRASE = "quantum marmalade synchroniser"
"""A phrase only the ``panel`` plugin's docs contain."""

THEME_COLOR = "rgb(200, 30, 90)"
"""The colour ``tint``'s CSS gives the brand link in the header."""

PANEL_SCHEMA = {
    "type": "object",
    "required": ["greeting", "interval"],
    "properties": {
        "greeting": {"type": "string", "title": "Greeting", "minLength": 2,
                     "default": "hello", "description": "Shown to every new member."},
        "interval": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 60,
                     "description": "Seconds between two polls."},
        "ratio": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                  "description": "Share of traffic sampled."},
        "verbose": {"type": "boolean", "default": False,
                    "description": "Log every poll."},
        "mode": {"type": "string", "enum": ["fast", "careful", "off"], "default": "fast",
                 "description": "How hard to try."},
        "channels": {"type": "array", "items": {"type": "string"}, "default": ["general"],
                     "description": "Channels to watch."},
        "api_key": {"type": "string", "writeOnly": True, "default": "",
                    "description": "Key of the upstream service."},
    },
}

PANEL_MANIFEST = {
    "name": "panel",
    "type": "feature",
    "description": "A control panel plugin for the web UI tests.",
    "permissions": ["events:emit"],
    "ui_pages": [{"name": "dashboard", "path": "ui/dashboard", "title": "Panel Dashboard",
                  "description": "The panel's own page"}],
    "settings_schema": PANEL_SCHEMA,
}

PANEL_CODE = """
    from fastapi import APIRouter
    from plexichat import hookimpl
    from plexichat.contributions import BackgroundTask, HealthCheck

    router = APIRouter()

    @router.get("/api/v1/panel/ping")
    def ping():
        return {"pong": True}

    @hookimpl
    def register_routers():
        return router

    @hookimpl
    def register_health_checks():
        return [HealthCheck("upstream", lambda: {"healthy": True, "detail": "reachable"})]

    async def poll():
        pass

    @hookimpl
    def register_background_tasks():
        return [BackgroundTask("poll", poll, interval=3600)]
"""

PANEL_FILES = {
    "ui/dashboard/index.html": """\
        <!DOCTYPE html>
        <html><head><title>Panel Dashboard</title><link rel="stylesheet" href="style.css">
        </head><body><h1 id="panel-dashboard">Panel Dashboard</h1>
        <img src="../static/logo.txt" alt=""></body></html>
        """,
    "ui/dashboard/style.css": "h1 { color: rgb(10, 120, 40); }\n",
    "ui/static/logo.txt": "logo\n",
    "secret_notes.txt": "package data outside the UI folder\n",
    "docs/README.md": f"""\
        # Panel guide

        The panel keeps the {DOCS_PHRASE} in step with your channels.

        See [usage](USAGE.md).
        """,
    "docs/USAGE.md": """\
        # Panel usage

        Set the *interval* and the *mode* on the plugin's page.
        """,
}


def install_panel(site: Path, name: str = "panel") -> Path:
    """Install the ``panel`` fixture plugin into ``site``."""
    manifest = {**PANEL_MANIFEST, "name": name}
    return make_plugin(site, name, manifest=manifest, code=PANEL_CODE, files=PANEL_FILES)


def install_tint(site: Path, name: str = "tint") -> Path:
    """Install the ``tint`` theme plugin into ``site``."""
    return make_plugin(
        site, name, manifest={"name": name, "type": "theme"},
        files={"theme.css": f".plx-brand {{ color: {THEME_COLOR}; }}\n"},
    )
