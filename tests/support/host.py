"""Running a real PlexiChat app in-process, and fixture plugins to run in it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from plexichat.config import HostSettings
from plexichat.web import create_app

from .dists import make_plugin


def healthy_code(path: str = "/api/v1/healthy", answer: str = "healthy") -> str:
    """Code of a plugin that serves ``GET path`` -> ``{"ok": answer}``."""
    return f"""
        from fastapi import APIRouter
        from plexichat import hookimpl

        router = APIRouter()

        @router.get({path!r})
        def ok():
            return {{"ok": {answer!r}}}

        @hookimpl
        def register_routers():
            return router
    """


def make_healthy(site: Path, name: str = "healthy", **kwargs: Any) -> Path:
    """Install the healthy fixture plugin (``GET /api/v1/healthy``)."""
    return make_plugin(site, name, code=healthy_code(), **kwargs)


def wait_ready(client: TestClient, timeout: float = 20.0) -> None:
    """Poll ``/api/v1/health/ready`` until the host has finished starting plugins."""
    deadline = time.monotonic() + timeout
    while client.get("/api/v1/health/ready").status_code != 200:
        assert time.monotonic() < deadline, "host never became ready"
        time.sleep(0.01)


@contextlib.contextmanager
def running_host(data_dir: Path, *plugins: str, wait: bool = True,
                 **settings: Any) -> Iterator[TestClient]:
    """A started host that loads only ``plugins``; yields a client of it."""
    host_settings = HostSettings(data_dir=data_dir, load_plugins=",".join(plugins),
                                 **settings)
    with TestClient(create_app(host_settings)) as client:
        if wait:
            wait_ready(client)
        yield client


def plugins_by_name(client: TestClient) -> dict[str, dict[str, Any]]:
    """``GET /api/v1/plugins`` as ``{name: summary}``; asserts the host answers."""
    response = client.get("/api/v1/plugins")
    assert response.status_code == 200, response.text
    return {p["name"]: p for p in response.json()}


def assert_host_serves(client: TestClient) -> None:
    """The host lists its plugins and the healthy fixture plugin still serves."""
    listed = plugins_by_name(client)
    assert listed["healthy"]["state"] == "started", listed["healthy"]
    assert client.get("/api/v1/healthy").json() == {"ok": "healthy"}
    assert client.get("/api/v1/health/live").json()["status"] == "ok"
