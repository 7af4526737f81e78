"""Disabling and enabling a plugin in a running host, and the choice surviving restarts.

Disabling removes the plugin's routes, middleware, hook implementations and background
tasks at once; enabling brings them back; neither needs a restart.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest
from support.api import TOKEN, detail, eventually, post, state_of
from support.databases import BACKENDS, database_url
from support.dists import make_plugin
from support.host import assert_host_serves, make_healthy, running_host

TOGGLE = """
    import asyncio
    from fastapi import APIRouter
    from plexichat import hookimpl
    from plexichat.contributions import BackgroundTask, MiddlewareSpec

    TICKS = []
    router = APIRouter()

    @router.get("/api/v1/toggle")
    def toggle():
        return {"ok": True}

    async def stamp(request, call_next):
        response = await call_next(request)
        response.headers["x-toggle"] = "on"
        return response

    async def ticker():
        while True:
            TICKS.append(1)
            await asyncio.sleep(0.01)

    @hookimpl
    def register_routers():
        return router

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("api", stamp)

    @hookimpl
    def register_background_tasks():
        return BackgroundTask("ticker", ticker)
"""


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def toggle(site):
    make_healthy(site)
    make_plugin(site, "toggle", code=TOGGLE)


def host(data_dir, db_url=None, **settings):
    if db_url:
        settings["database_url"] = db_url
    return running_host(data_dir, "toggle", "healthy", admin_token=TOKEN, **settings)


def ticks():
    return len(sys.modules["plx_toggle"].TICKS)


def disable(client, name="toggle"):
    response = post(client, f"/api/v1/plugins/{name}/disable")
    assert response.status_code == 200, response.text
    return response.json()


def enable(client, name="toggle"):
    response = post(client, f"/api/v1/plugins/{name}/enable")
    assert response.status_code == 200, response.text
    return response.json()


def task_states(client):
    return {t["name"]: t["state"] for t in detail(client, "toggle")["tasks"]}


def test_disable_answers_the_disabled_state(toggle, data_dir):
    with host(data_dir) as client:
        summary = disable(client)
        assert summary["state"] == "disabled"
        assert summary["reason"] == "disabled by the operator"


def test_disabled_plugin_routes_answer_404(toggle, data_dir):
    with host(data_dir) as client:
        assert client.get("/api/v1/toggle").status_code == 200
        disable(client)
        assert client.get("/api/v1/toggle").status_code == 404
        assert_host_serves(client)


def test_disabled_plugin_routes_leave_the_openapi_schema(toggle, data_dir):
    with host(data_dir) as client:
        disable(client)
        assert "/api/v1/toggle" not in client.get("/api/openapi.json").json()["paths"]


def test_disabled_plugin_middleware_no_longer_runs(toggle, data_dir):
    with host(data_dir) as client:
        assert client.get("/api/v1/healthy").headers.get("x-toggle") == "on"
        disable(client)
        assert "x-toggle" not in client.get("/api/v1/healthy").headers


def test_disabled_plugin_hook_implementations_are_gone(toggle, data_dir):
    with host(data_dir) as client:
        assert detail(client, "toggle")["hooks"] == [
            "register_background_tasks", "register_middleware", "register_routers"]
        disable(client)
        assert detail(client, "toggle")["hooks"] == []


def test_disabled_plugin_is_not_called_by_hooks(toggle, data_dir):
    with host(data_dir) as client:
        disable(client)
        dispatcher = client.app.state.host.dispatcher
        results = client.portal.call(
            lambda: dispatcher.acall("register_routers", context=None))
        assert results.plugins == ["healthy"]


def test_disabled_plugin_background_task_is_cancelled(toggle, data_dir):
    with host(data_dir) as client:
        eventually(lambda: ticks() > 0, what="the task to tick")
        assert task_states(client) == {"ticker": "running"}
        disable(client)
        assert task_states(client) == {"ticker": "cancelled"}
        stopped_at = ticks()
        time.sleep(0.1)
        assert ticks() == stopped_at


def test_enable_after_disable_serves_routes_again(toggle, data_dir):
    with host(data_dir) as client:
        disable(client)
        assert enable(client)["state"] == "started"
        assert client.get("/api/v1/toggle").json() == {"ok": True}
        assert_host_serves(client)


def test_enable_after_disable_restores_middleware_and_hooks(toggle, data_dir):
    with host(data_dir) as client:
        disable(client)
        enable(client)
        assert client.get("/api/v1/healthy").headers.get("x-toggle") == "on"
        assert "register_routers" in detail(client, "toggle")["hooks"]


def test_enable_after_disable_runs_the_task_again(toggle, data_dir):
    with host(data_dir) as client:
        disable(client)
        enable(client)
        assert task_states(client) == {"ticker": "running"}
        before = ticks()
        eventually(lambda: ticks() > before, what="the task to tick again")


def test_enable_of_a_started_plugin_changes_nothing(toggle, data_dir):
    with host(data_dir) as client:
        assert enable(client)["state"] == "started"
        assert client.get("/api/v1/toggle").status_code == 200
        assert len(detail(client, "toggle")["routes"]) == 1


def test_disable_twice_is_harmless(toggle, data_dir):
    with host(data_dir) as client:
        disable(client)
        assert disable(client)["state"] == "disabled"
        assert_host_serves(client)


def test_disable_unknown_plugin_is_404(toggle, data_dir):
    with host(data_dir) as client:
        assert post(client, "/api/v1/plugins/nope/disable").status_code == 404
        assert post(client, "/api/v1/plugins/nope/enable").status_code == 404


def test_disabled_choice_survives_a_restart(toggle, data_dir, db_url):
    with host(data_dir, db_url) as client:
        disable(client)
    with host(data_dir, db_url) as client:
        assert state_of(client, "toggle") == "disabled"
        assert client.get("/api/v1/toggle").status_code == 404
        assert task_states(client) == {}
        assert_host_serves(client)


def test_enabled_choice_survives_a_restart(toggle, data_dir, db_url):
    with host(data_dir, db_url) as client:
        disable(client)
        enable(client)
    with host(data_dir, db_url) as client:
        assert state_of(client, "toggle") == "started"
        assert client.get("/api/v1/toggle").status_code == 200


def test_plugin_disabled_at_start_can_be_enabled_live(toggle, data_dir, db_url):
    with host(data_dir, db_url) as client:
        disable(client)
    with host(data_dir, db_url) as client:
        assert enable(client)["state"] == "started"
        assert client.get("/api/v1/toggle").status_code == 200
        assert client.get("/api/v1/healthy").headers.get("x-toggle") == "on"
        assert task_states(client) == {"ticker": "running"}


def test_disable_then_enable_keeps_other_plugins_serving(toggle, data_dir):
    with host(data_dir) as client:
        disable(client)
        assert_host_serves(client)
        enable(client)
        assert_host_serves(client)
        assert detail(client, "healthy")["routes"][0]["path"] == "/api/v1/healthy"


def test_enable_without_token_changes_nothing(toggle, data_dir):
    with host(data_dir) as client:
        disable(client)
        assert client.post("/api/v1/plugins/toggle/enable").status_code == 401
        assert client.get("/api/v1/toggle").status_code == 404
        assert state_of(client, "toggle") == "disabled"


FLAKY = """
    from fastapi import APIRouter
    from plexichat import hookimpl
    from plexichat.contributions import MiddlewareSpec

    FAIL = [True]
    router = APIRouter()

    @router.get("/api/v1/flaky")
    def flaky():
        return {"ok": True}

    def explode(request, call_next):
        if FAIL[0]:
            raise RuntimeError("flaky middleware")
        return call_next(request)

    @hookimpl
    def register_routers():
        return router

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("api", explode)
"""


def test_operator_can_enable_a_quarantined_plugin(site, data_dir):
    make_healthy(site)
    make_plugin(site, "flaky", code=FLAKY)
    with running_host(data_dir, "flaky", "healthy", admin_token=TOKEN,
                      fault_budget=2) as client:
        for _ in range(2):
            client.get("/api/v1/healthy")
        assert state_of(client, "flaky") == "quarantined"
        assert client.get("/api/v1/flaky").status_code == 404
        sys.modules["plx_flaky"].FAIL[0] = False
        assert enable(client, "flaky")["state"] == "started"
        assert client.get("/api/v1/flaky").json() == {"ok": True}
        assert detail(client, "flaky")["contributions"]["middleware"] == ["api:explode"]


def test_reenabled_quarantined_plugin_gets_a_fresh_fault_budget(site, data_dir):
    make_healthy(site)
    make_plugin(site, "flaky", code=FLAKY)
    with running_host(data_dir, "flaky", "healthy", admin_token=TOKEN,
                      fault_budget=2) as client:
        for _ in range(2):
            client.get("/api/v1/healthy")
        enable(client, "flaky")
        client.get("/api/v1/healthy")  # one failure: within the budget again
        # (read the state directly: every API request runs the failing middleware)
        assert client.app.state.host.records["flaky"].state.value == "started"


SLOW_START = """
    import asyncio, os
    from fastapi import APIRouter
    from plexichat import hookimpl

    GATE = os.path.join(os.path.dirname(__file__), "gate")
    router = APIRouter()

    @router.get("/api/v1/slowstart")
    def ok():
        return {"ok": True}

    @hookimpl
    async def startup():
        while not os.path.exists(GATE):
            await asyncio.sleep(0.01)

    @hookimpl
    def register_routers():
        return router
"""


def in_threads(*calls):
    """Run the calls at the same time; their results in order."""
    results = [None] * len(calls)

    def run(i, call):
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    return threads, results


def test_concurrent_enables_start_the_plugin_once(site, data_dir):
    pkg = make_plugin(site, "slowstart", code=SLOW_START)
    (pkg / "gate").touch()
    with running_host(data_dir, "slowstart", admin_token=TOKEN) as client:
        disable(client, "slowstart")
        (pkg / "gate").unlink()
        enable_call = lambda: post(client, "/api/v1/plugins/slowstart/enable")  # noqa: E731
        threads, results = in_threads(enable_call, enable_call)
        time.sleep(0.05)
        (pkg / "gate").touch()
        for t in threads:
            t.join(10)
        assert [r.json()["state"] for r in results] == ["started", "started"]
        info = detail(client, "slowstart")
        assert info["state"] == "started"
        assert len(info["routes"]) == 1
        assert info["hooks"] == ["register_routers", "startup"]


def test_enable_while_the_host_is_starting_waits_for_startup(site, data_dir):
    pkg = make_plugin(site, "slowstart", code=SLOW_START)
    with running_host(data_dir, "slowstart", admin_token=TOKEN, wait=False) as client:
        threads, results = in_threads(
            lambda: post(client, "/api/v1/plugins/slowstart/enable"))
        time.sleep(0.05)
        (pkg / "gate").touch()
        threads[0].join(10)
        assert results[0].json()["state"] == "started"
        info = detail(client, "slowstart")
        assert info["state"] == "started"
        assert info["reason"] == ""
        assert len(info["routes"]) == 1
