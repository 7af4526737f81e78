"""Skipping an included router by the literal prefix of its routes gives the router's
own answer for every path (``plexichat.web.routes.skip_by_prefix``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient
from starlette.routing import Host, Match

from plexichat.web.routes import skip_by_prefix

PATHS = ["/api/v1/health/live", "/static", "/static/", "/static/a.css", "/about",
         "/about/", "/staticx", "/api/v1/health", "/api/v1/health/", "/api/v1/items/7",
         "/api/v1/items", "/api/v1/itemsx/7", "/api/v2/items/7", "/", "/pages/a/b", "/x",
         "/api/v1/items/7/", ""]


def routers() -> list[APIRouter]:
    health = APIRouter(prefix="/api/v1/health")
    health.get("/live")(lambda: {"ok": "live"})
    items = APIRouter()
    items.get("/items/{item}")(lambda item: {"item": item})
    items.post("/items")(lambda: {"posted": True})
    pages = APIRouter()
    pages.get("/pages/{rest:path}")(lambda rest: {"rest": rest})
    pages.get("/")(lambda: {"page": "home"})
    pages.get("/about")(lambda: {"page": "about"})
    pages.mount("/static", StaticFiles(directory=Path(__file__).parent))
    return [health, items, pages]


def app_with(skipping: bool) -> FastAPI:
    app = FastAPI()
    health, items, pages = routers()
    app.include_router(health)
    app.include_router(items, prefix="/api/v1")
    app.include_router(pages)
    if skipping:
        skip_by_prefix(app.router.routes)
    return app


def answers(app: FastAPI, path: str, root_path: str = "") -> list[Match]:
    scope = {"type": "http", "method": "GET", "path": root_path + path,
             "root_path": root_path, "headers": [], "query_string": b""}
    return [entry.matches(dict(scope))[0] for entry in app.router.routes]


@pytest.mark.parametrize("root_path", ["", "/base"])
@pytest.mark.parametrize("path", PATHS)
def test_skipping_routers_gives_the_same_match_as_asking_them(path, root_path):
    assert answers(app_with(True), path, root_path) == answers(app_with(False), path,
                                                                root_path)


def test_skipped_router_still_serves_its_routes():
    client = TestClient(app_with(True))
    assert client.get("/api/v1/health/live").json() == {"ok": "live"}
    assert client.get("/api/v1/items/3").json() == {"item": "3"}
    assert client.post("/api/v1/items").json() == {"posted": True}
    assert client.get("/api/v1/items").status_code == 405
    assert client.get("/pages/a/b").json() == {"rest": "a/b"}
    assert client.get("/").json() == {"page": "home"}
    assert client.get("/about/").json() == {"page": "about"}  # redirected
    assert client.get(f"/static/{Path(__file__).name}").status_code == 200
    assert client.get("/nowhere").status_code == 404


def test_router_with_a_route_not_matched_by_path_is_not_skipped():
    app = FastAPI()
    router = APIRouter()
    router.routes.append(Host("example.org", app=FastAPI()))
    app.include_router(router)
    skip_by_prefix(app.router.routes)
    assert "matches" not in vars(app.router.routes[-1])


def test_live_router_serves_a_route_added_after_its_inclusion():
    app = FastAPI()
    router = APIRouter()
    router.get("/api/v1/first")(lambda: {"n": 1})
    app.include_router(router)
    skip_by_prefix(app.router.routes, live=True)
    client = TestClient(app)
    assert client.get("/api/v1/second").status_code == 404
    router.get("/api/v1/second")(lambda: {"n": 2})
    assert client.get("/api/v1/second").json() == {"n": 2}
    assert client.get("/api/v1/first").json() == {"n": 1}


@pytest.mark.parametrize("path", PATHS)
def test_live_skipping_gives_the_same_match_as_asking_the_routers(path):
    live = app_with(False)
    skip_by_prefix(live.router.routes, live=True)
    assert answers(live, path) == answers(app_with(False), path)
