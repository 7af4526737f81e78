"""Plugin request middleware in a running host.

A middleware is ``fn(request, call_next)``, sync or async; the guide's sync form that
returns ``call_next(request)`` un-awaited works. ``api`` middleware sees only ``/api/``
requests, ``web`` middleware the rest. A middleware that raises or returns garbage is
skipped and counted against its plugin; the request still succeeds.
"""

from __future__ import annotations

import sys

import pytest
from support.api import TOKEN, detail, post, state_of
from support.dists import make_plugin
from support.host import assert_host_serves, make_healthy, running_host

SEEN = """
    from plexichat import hookimpl
    from plexichat.contributions import MiddlewareSpec

    SEEN = []
"""

GUIDE_SYNC = SEEN + """
    def log_request(request, call_next):
        SEEN.append(("api", request.url.path))
        return call_next(request)

    def log_page(request, call_next):
        SEEN.append(("web", request.url.path))
        return call_next(request)

    @hookimpl
    def register_middleware():
        return {"api": [log_request], "web": [log_page]}
"""

STAMPING = SEEN + """
    async def stamp(request, call_next):
        response = await call_next(request)
        response.headers["x-stamped"] = "yes"
        SEEN.append(request.url.path)
        return response

    @hookimpl
    def register_middleware():
        return [MiddlewareSpec("api", stamp, name="stamp")]
"""

RAISING_BEFORE = SEEN + """
    def explode(request, call_next):
        raise RuntimeError("middleware exploded")

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("api", explode)
"""

RAISING_AFTER = SEEN + """
    async def explode_late(request, call_next):
        response = await call_next(request)
        raise RuntimeError("middleware exploded late")

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("api", explode_late)
"""

GARBAGE = SEEN + """
    def garbage(request, call_next):
        return "not a response"

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("api", garbage)
"""

CLI_ONLY = SEEN + """
    def on_command(command, call_next):
        SEEN.append(command)
        return call_next(command)

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("cli", on_command)
"""

BAD_LAYER = SEEN + """
    def nowhere(request, call_next):
        SEEN.append("ran")
        return call_next(request)

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("database", nowhere)
"""

PLUGINS = {"guide": GUIDE_SYNC, "stamping": STAMPING, "raising": RAISING_BEFORE,
           "late": RAISING_AFTER, "garbage": GARBAGE, "clionly": CLI_ONLY,
           "badlayer": BAD_LAYER}


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def installed(site):
    make_healthy(site)
    for name, code in PLUGINS.items():
        make_plugin(site, name, code=code)


def host(data_dir, *plugins, **settings):
    return running_host(data_dir, *plugins, "healthy", admin_token=TOKEN, **settings)


def seen(name):
    return sys.modules[f"plx_{name}"].SEEN


def middleware_stats(client, name):
    return detail(client, name)["stats"].get("middleware", {"calls": 0, "failures": 0})


# --- running -----------------------------------------------------------------------------


def test_guide_style_sync_middleware_returning_call_next_works(installed, data_dir):
    with host(data_dir, "guide") as client:
        seen("guide").clear()
        response = client.get("/api/v1/healthy")
        assert response.status_code == 200
        assert response.json() == {"ok": "healthy"}
        assert ("api", "/api/v1/healthy") in seen("guide")


def test_async_middleware_can_change_the_response(installed, data_dir):
    with host(data_dir, "stamping") as client:
        assert client.get("/api/v1/healthy").headers["x-stamped"] == "yes"


def test_middleware_is_listed_in_the_plugin_contributions(installed, data_dir):
    with host(data_dir, "stamping", "guide") as client:
        assert detail(client, "stamping")["contributions"]["middleware"] == ["api:stamp"]
        assert sorted(detail(client, "guide")["contributions"]["middleware"]) == [
            "api:log_request", "web:log_page"]


def test_api_middleware_runs_only_on_api_paths(installed, data_dir):
    with host(data_dir, "guide") as client:
        seen("guide").clear()
        client.get("/api/v1/healthy")
        client.get("/somewhere/else")
        assert seen("guide") == [("api", "/api/v1/healthy"), ("web", "/somewhere/else")]


def test_api_middleware_does_not_run_on_pages(installed, data_dir):
    with host(data_dir, "stamping") as client:
        seen("stamping").clear()
        assert "x-stamped" not in client.get("/not-api").headers
        assert seen("stamping") == []


def test_cli_middleware_does_not_run_on_http_requests(installed, data_dir):
    with host(data_dir, "clionly") as client:
        client.get("/api/v1/healthy")
        client.get("/page")
        assert seen("clionly") == []
        assert detail(client, "clionly")["contributions"]["middleware"] == [
            "cli:on_command"]


def test_middleware_of_every_plugin_runs(installed, data_dir):
    with host(data_dir, "guide", "stamping") as client:
        seen("guide").clear()
        response = client.get("/api/v1/healthy")
        assert response.headers["x-stamped"] == "yes"
        assert seen("guide") == [("api", "/api/v1/healthy")]


def test_middleware_with_unknown_layer_is_refused_with_a_warning(installed, data_dir):
    with host(data_dir, "badlayer") as client:
        client.get("/api/v1/healthy")
        info = detail(client, "badlayer")
        assert seen("badlayer") == []
        assert any("'database'" in w for w in info["warnings"])
        assert info["state"] == "started"


# --- failing ---------------------------------------------------------------------------


def test_raising_middleware_is_skipped_and_the_request_succeeds(installed, data_dir):
    with host(data_dir, "raising") as client:
        response = client.get("/api/v1/healthy")
        assert response.status_code == 200
        assert response.json() == {"ok": "healthy"}


def test_raising_middleware_is_counted_against_its_plugin(installed, data_dir):
    with host(data_dir, "raising") as client:
        client.get("/api/v1/healthy")
        info = detail(client, "raising")
        assert info["stats"]["middleware"]["failures"] >= 1
        assert info["failures"][-1]["hook"] == "middleware"
        assert info["failures"][-1]["error"] == "RuntimeError: middleware exploded"
        assert 'raise RuntimeError("middleware exploded")' in info["failures"][-1]["traceback"]


def test_middleware_raising_after_call_next_keeps_the_response(installed, data_dir):
    with host(data_dir, "late") as client:
        response = client.get("/api/v1/healthy")
        assert response.status_code == 200
        assert response.json() == {"ok": "healthy"}
        assert detail(client, "late")["failures"][-1]["error"] == (
            "RuntimeError: middleware exploded late")


def test_middleware_raising_after_call_next_spares_the_other_plugins(installed, data_dir):
    with host(data_dir, "late", "stamping") as client:
        response = client.get("/api/v1/healthy")
        assert response.status_code == 200
        assert middleware_stats(client, "stamping")["failures"] == 0


def test_middleware_returning_garbage_is_skipped_and_counted(installed, data_dir):
    with host(data_dir, "garbage") as client:
        response = client.get("/api/v1/healthy")
        assert response.status_code == 200
        assert response.json() == {"ok": "healthy"}
        assert "not a Response" in detail(client, "garbage")["failures"][-1]["error"]


def test_raising_middleware_does_not_stop_other_plugins_middleware(installed, data_dir):
    with host(data_dir, "raising", "stamping") as client:
        response = client.get("/api/v1/healthy")
        assert response.status_code == 200
        assert response.headers["x-stamped"] == "yes"


def test_route_error_is_not_charged_to_a_middleware(installed, site, data_dir):
    make_plugin(site, "broken", code="""
        from fastapi import APIRouter
        from plexichat import hookimpl

        router = APIRouter()

        @router.get("/api/v1/broken")
        def broken():
            raise RuntimeError("route exploded")

        @hookimpl
        def register_routers():
            return router
    """)
    with host(data_dir, "guide", "broken") as client:
        response = client.get("/api/v1/broken")
        assert response.status_code == 500  # the route's plugin is charged, by name
        assert "plugin 'broken' failed" in response.json()["detail"]
        assert middleware_stats(client, "guide")["failures"] == 0
        assert state_of(client, "guide") == "started"
        [kept] = detail(client, "broken")["failures"]
        assert (kept["hook"], kept["error"]) == ("route:GET /api/v1/broken",
                                                 "RuntimeError: route exploded")


def test_middleware_failing_past_the_fault_budget_is_quarantined(installed, data_dir):
    with host(data_dir, "raising", fault_budget=3) as client:
        for _ in range(3):
            assert client.get("/api/v1/healthy").status_code == 200
        assert state_of(client, "raising") == "quarantined"
        assert "middleware exploded" in detail(client, "raising")["reason"]
        assert client.app.state.host.wiring.middleware == []
        assert_host_serves(client)


def test_disabled_plugin_middleware_stops_running(installed, data_dir):
    with host(data_dir, "stamping") as client:
        post(client, "/api/v1/plugins/stamping/disable")
        assert "x-stamped" not in client.get("/api/v1/healthy").headers


# --- deadline ----------------------------------------------------------------------------

HANGING = SEEN + """
    import asyncio

    async def hang(request, call_next):
        if request.url.path != "/api/v1/healthy":  # the readiness probe passes
            return await call_next(request)
        await asyncio.Event().wait()  # never answers, never calls call_next

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("api", hang, name="hang")
"""

SLOW_ROUTE = """
    import asyncio

    from fastapi import APIRouter
    from plexichat import hookimpl

    router = APIRouter()

    @router.get("/api/v1/slow")
    async def slow():
        await asyncio.sleep(0.6)
        return {"ok": "slow"}

    @hookimpl
    def register_routers():
        return router
"""


def test_middleware_that_never_answers_is_answered_504(installed, site, data_dir):
    make_plugin(site, "hanging", code=HANGING)
    with host(data_dir, "hanging", middleware_timeout=0.2) as client:
        response = client.get("/api/v1/healthy")
        assert response.status_code == 504
        assert "hanging" in response.json()["detail"]


def test_middleware_that_never_answers_is_counted_against_its_plugin(installed, site,
                                                                     data_dir):
    make_plugin(site, "hanging", code=HANGING)
    with host(data_dir, "hanging", middleware_timeout=0.2) as client:
        client.get("/api/v1/healthy")
        info = detail(client, "hanging")
        assert info["stats"]["middleware"]["failures"] == 1
        assert info["failures"][-1]["hook"] == "middleware"
        assert info["failures"][-1]["error"].startswith("HookTimeout: middleware neither "
                                                        "answered nor called call_next")


def test_middleware_that_never_answers_next_to_another_is_the_only_one_charged(
        installed, site, data_dir):
    make_plugin(site, "hanging", code=HANGING)
    with host(data_dir, "stamping", "hanging", middleware_timeout=0.2) as client:
        assert client.get("/api/v1/healthy").status_code == 504
        assert middleware_stats(client, "hanging")["failures"] == 1
        assert middleware_stats(client, "stamping")["failures"] == 0
        assert client.get("/api/v1/health/live").status_code == 200


def test_time_spent_inside_call_next_does_not_count_against_the_deadline(installed, site,
                                                                        data_dir):
    make_plugin(site, "slowroute", code=SLOW_ROUTE)
    with host(data_dir, "stamping", "slowroute", middleware_timeout=0.2) as client:
        response = client.get("/api/v1/slow")
        assert response.status_code == 200
        assert response.headers["x-stamped"] == "yes"
        assert middleware_stats(client, "stamping")["failures"] == 0


def test_raising_middleware_is_attributed_to_its_plugin_alone(installed, data_dir):
    with host(data_dir, "stamping", "raising") as client:
        before = middleware_stats(client, "raising")["failures"]  # readiness probes ran it
        assert client.get("/api/v1/healthy").headers["x-stamped"] == "yes"
        # the request above and the detail request of middleware_stats itself
        assert middleware_stats(client, "raising")["failures"] == before + 2
        assert middleware_stats(client, "stamping")["failures"] == 0
        assert detail(client, "raising")["failures"][-1]["error"] == (
            "RuntimeError: middleware exploded")


# --- what passes through call_next ---------------------------------------------------------

STREAMING_ROUTE = """
    import asyncio

    from fastapi import APIRouter, Request
    from fastapi.responses import StreamingResponse
    from plexichat import hookimpl

    router = APIRouter()

    async def chunks():
        for n in range(3):
            await asyncio.sleep(0.01)
            yield f"part {n};".encode()

    @router.get("/api/v1/stream")
    async def stream():
        return StreamingResponse(chunks(), media_type="text/plain")

    @router.post("/api/v1/echo")
    async def echo(request: Request):
        return {"got": (await request.body()).decode()}

    @hookimpl
    def register_routers():
        return router
"""

BODY_READER = SEEN + """
    async def read_body(request, call_next):
        SEEN.append(await request.body())
        return await call_next(request)

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("api", read_body)
"""


def test_streamed_body_passes_through_middleware_whole(installed, site, data_dir):
    make_plugin(site, "streaming", code=STREAMING_ROUTE)
    with host(data_dir, "stamping", "streaming") as client:
        response = client.get("/api/v1/stream")
        assert response.status_code == 200
        assert response.text == "part 0;part 1;part 2;"
        assert response.headers["x-stamped"] == "yes"


def test_body_read_by_a_middleware_still_reaches_the_route(installed, site, data_dir):
    make_plugin(site, "streaming", code=STREAMING_ROUTE)
    make_plugin(site, "reader", code=BODY_READER)
    with host(data_dir, "reader", "streaming") as client:
        response = client.post("/api/v1/echo", content=b"hello body")
        assert response.json() == {"got": "hello body"}
        assert seen("reader")[-1] == b"hello body"


def test_a_route_answering_with_an_http_exception_is_no_failure(installed, site, data_dir):
    # HTTPException and request validation are answers the app's handlers give, whether
    # the plugin's endpoint or its route raises them: never a 500, never the plugin's fault
    make_plugin(site, "refusing", code="""
        from fastapi import APIRouter, HTTPException
        from plexichat import hookimpl

        router = APIRouter()

        @router.get("/api/v1/refusing/{item}")
        def refusing(item: int):
            raise HTTPException(404, f"no item {item}")

        @hookimpl
        def register_routers():
            return router
    """)
    with host(data_dir, "refusing") as client:
        missing = client.get("/api/v1/refusing/7")
        assert (missing.status_code, missing.json()) == (404, {"detail": "no item 7"})
        assert client.get("/api/v1/refusing/seven").status_code == 422
        # a method the route does not serve: the route itself raises the 405
        assert client.request("TRACE", "/api/v1/refusing/7").status_code == 405
        info = detail(client, "refusing")
        assert info["failures"] == []
        assert info["state"] == "started"
