"""The lifecycle of plugins in a running host, and how one plugin's failure stays its own.

Every test starts a real app (``create_app``) with fixture plugins installed as real
distributions, and checks that the host still lists its plugins and that a healthy
plugin still serves next to the broken one.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest
from support.dists import make_plugin
from support.host import (
    assert_host_serves,
    healthy_code,
    make_healthy,
    plugins_by_name,
    running_host,
    wait_ready,
)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def detail(client, name):
    response = client.get(f"/api/v1/plugins/{name}")
    assert response.status_code == 200, response.text
    return response.json()


def host_of(client):
    return client.app.state.host


def recorder(log):
    """Plugin code that appends ``<event> <plugin>`` lines to ``log``."""
    return f"""
        from plexichat import hookimpl

        def _note(event, context):
            with open({str(log)!r}, "a") as fh:
                fh.write(f"{{event}} {{context.plugin_name}}\\n")

        @hookimpl
        def startup(context):
            _note("start", context)

        @hookimpl
        def shutdown(context):
            _note("stop", context)
    """


# --- a healthy host --------------------------------------------------------------------


def test_healthy_plugin_is_started_and_serves(site, data_dir):
    make_healthy(site)
    with running_host(data_dir, "healthy") as client:
        assert_host_serves(client)


def test_started_plugin_reports_hooks_routes_and_distribution(site, data_dir):
    make_healthy(site, version="2.1.0")
    with running_host(data_dir, "healthy") as client:
        info = detail(client, "healthy")
    assert info["distribution"] == "plx-healthy"
    assert info["distribution_version"] == "2.1.0"
    assert info["hooks"] == ["register_routers"]
    assert info["routes"] == [{"methods": ["GET"], "path": "/api/v1/healthy", "name": "ok"}]
    assert info["stats"]["register_routers"]["calls"] == 1


def test_plugin_routes_appear_in_the_openapi_schema(site, data_dir):
    make_healthy(site)
    with running_host(data_dir, "healthy") as client:
        assert "/api/v1/healthy" in client.get("/api/openapi.json").json()["paths"]


def test_unknown_plugin_detail_is_404(site, data_dir):
    make_healthy(site)
    with running_host(data_dir, "healthy") as client:
        response = client.get("/api/v1/plugins/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_class_entry_point_is_instantiated(site, data_dir, tmp_path):
    make_healthy(site)
    make_plugin(site, "classy", entry_point="plx_classy:Plugin", code="""
        from plexichat import hookimpl

        class Plugin:
            def __init__(self):
                self.greeting = "instance"

            @hookimpl
            def startup(self, context):
                context.logger.info(self.greeting)
    """)
    with running_host(data_dir, "healthy", "classy") as client:
        assert plugins_by_name(client)["classy"]["state"] == "started"
        assert detail(client, "classy")["hooks"] == ["startup"]
        assert_host_serves(client)


def test_startup_gets_its_own_context(site, data_dir, tmp_path):
    seen = tmp_path / "seen"
    make_healthy(site)
    make_plugin(site, "ctx", code=f"""
        from plexichat import hookimpl

        @hookimpl
        async def startup(context):
            with open({str(seen)!r}, "w") as fh:
                fh.write(f"{{context.plugin_name}}|{{context.data_dir}}")
    """)
    with running_host(data_dir, "healthy", "ctx") as client:
        assert_host_serves(client)
    name, plugin_dir = seen.read_text().split("|")
    assert name == "ctx"
    assert plugin_dir == str(data_dir / "plugins" / "ctx")


def test_ready_is_503_until_startup_has_finished(site, data_dir, tmp_path):
    gate = tmp_path / "gate"
    make_healthy(site)
    make_plugin(site, "slow", code=f"""
        import asyncio, os
        from plexichat import hookimpl

        @hookimpl
        async def startup():
            while not os.path.exists({str(gate)!r}):
                await asyncio.sleep(0.01)
    """)
    with running_host(data_dir, "slow", "healthy", wait=False) as client:
        assert client.get("/api/v1/health/ready").status_code == 503
        assert client.get("/api/v1/health/live").status_code == 200
        assert plugins_by_name(client)["slow"]["state"] != "started"
        gate.touch()
        wait_ready(client)
        assert plugins_by_name(client)["slow"]["state"] == "started"
        assert_host_serves(client)


# --- failures while loading and starting -----------------------------------------------


def test_import_error_marks_plugin_failed_with_exception(site, data_dir):
    make_healthy(site)
    make_plugin(site, "broken", code="import plx_nowhere_to_be_found\n")
    with running_host(data_dir, "healthy", "broken") as client:
        broken = plugins_by_name(client)["broken"]
        assert broken["state"] == "failed"
        assert broken["reason"] == (
            "import failed: ModuleNotFoundError: No module named 'plx_nowhere_to_be_found'"
        )
        assert_host_serves(client)


def test_missing_entry_point_attribute_marks_plugin_failed(site, data_dir):
    make_healthy(site)
    make_plugin(site, "noattr", entry_point="plx_noattr:Plugin")
    with running_host(data_dir, "healthy", "noattr") as client:
        noattr = plugins_by_name(client)["noattr"]
        assert noattr["state"] == "failed"
        assert noattr["reason"].startswith("import failed: AttributeError: ")
        assert_host_serves(client)


def test_raising_startup_marks_plugin_failed_and_serves_nothing(site, data_dir):
    make_healthy(site)
    make_plugin(site, "raiser", code=healthy_code("/api/v1/raiser") + """
        @hookimpl
        def startup(context):
            raise RuntimeError("database unreachable")
    """)
    with running_host(data_dir, "healthy", "raiser") as client:
        raiser = plugins_by_name(client)["raiser"]
        assert raiser["state"] == "failed"
        assert raiser["reason"] == "startup raised RuntimeError: database unreachable"
        assert client.get("/api/v1/raiser").status_code == 404
        assert detail(client, "raiser")["hooks"] == []
        assert_host_serves(client)


def test_hanging_async_startup_fails_naming_the_timeout(site, data_dir):
    make_healthy(site)
    make_plugin(site, "hangs", code="""
        import asyncio
        from plexichat import hookimpl

        @hookimpl
        async def startup(context):
            await asyncio.sleep(3600)
    """)
    with running_host(data_dir, "hangs", "healthy", startup_timeout=0.3) as client:
        hangs = plugins_by_name(client)["hangs"]
        assert hangs["state"] == "failed"
        assert "did not finish within 0.3 s" in hangs["reason"]
        assert "PLEXICHAT_STARTUP_TIMEOUT" in hangs["reason"]
        assert_host_serves(client)


def test_hanging_sync_startup_fails_naming_the_timeout(site, data_dir):
    make_healthy(site)
    make_plugin(site, "blocks", code="""
        import threading, time
        from plexichat import hookimpl

        release = threading.Event()  # set by the test, so the thread ends with it

        @hookimpl
        def startup(context):
            while not release.is_set():
                time.sleep(0.01)  # blocking sleeps, far past the startup timeout
    """)
    try:
        with running_host(data_dir, "blocks", "healthy", startup_timeout=0.3) as client:
            blocks = plugins_by_name(client)["blocks"]
            assert blocks["state"] == "failed"
            assert "did not finish within 0.3 s" in blocks["reason"]
            assert_host_serves(client)
            sys.modules["plx_blocks"].release.set()
    finally:
        if "plx_blocks" in sys.modules:
            sys.modules["plx_blocks"].release.set()


def test_unknown_hook_name_marks_plugin_failed(site, data_dir, tmp_path):
    marker = tmp_path / "started"
    make_healthy(site)
    make_plugin(site, "typo", code=f"""
        from plexichat import hookimpl

        @hookimpl
        def startpu(context):
            pass

        @hookimpl
        def startup(context):
            open({str(marker)!r}, "w").close()
    """)
    with running_host(data_dir, "healthy", "typo") as client:
        typo = plugins_by_name(client)["typo"]
        assert typo["state"] == "failed"
        assert "'startpu'" in typo["reason"] and "not a PlexiChat hook" in typo["reason"]
        assert not marker.exists()
        assert_host_serves(client)


def test_wrong_hook_argument_names_the_hooks_real_signature(site, data_dir):
    make_healthy(site)
    make_plugin(site, "misnamed", code="""
        from plexichat import hookimpl

        @hookimpl
        def message_will_post(msg, context):
            return msg
    """)
    with running_host(data_dir, "healthy", "misnamed") as client:
        misnamed = plugins_by_name(client)["misnamed"]
        assert (misnamed["state"], misnamed["reason"]) == ("failed", (
            "hook message_will_post(msg, context) takes no argument 'msg'; expected: "
            "def message_will_post(message: MessageDraft, context: PluginContext) -> "
            "MessageDraft | Reject | None "
            "(an implementation takes any of these arguments, by name)"))
        assert_host_serves(client)


def test_hook_wrapper_marks_plugin_failed(site, data_dir):
    make_healthy(site)
    make_plugin(site, "wrapper", code="""
        from plexichat import hookimpl

        @hookimpl(wrapper=True)
        def register_routers():
            return (yield)
    """)
    with running_host(data_dir, "healthy", "wrapper") as client:
        wrapper = plugins_by_name(client)["wrapper"]
        assert wrapper["state"] == "failed"
        assert "wrapper" in wrapper["reason"]
        assert_host_serves(client)


def test_dependents_of_a_failed_plugin_are_not_started(site, data_dir, tmp_path):
    marker = tmp_path / "dependent-started"
    make_healthy(site)
    make_plugin(site, "base", code="""
        from plexichat import hookimpl

        @hookimpl
        def startup(context):
            raise RuntimeError("no disk")
    """)
    make_plugin(site, "dependent", manifest={"name": "dependent", "dependencies": ["base"]},
                code=f"""
        from plexichat import hookimpl

        @hookimpl
        def startup(context):
            open({str(marker)!r}, "w").close()
    """)
    with running_host(data_dir, "healthy", "base", "dependent") as client:
        dependent = plugins_by_name(client)["dependent"]
        assert dependent["state"] == "failed"
        assert dependent["reason"] == (
            "requires 'base', which is failed: startup raised RuntimeError: no disk"
        )
        assert not marker.exists()
        assert_host_serves(client)


def test_rejected_and_disabled_plugins_are_listed_with_reasons(site, data_dir):
    make_healthy(site)
    make_plugin(site, "invalid", manifest={"name": "invalid", "type": "gadget"})
    make_plugin(site, "orphan", manifest={"name": "orphan", "dependencies": ["ghost"]})
    make_plugin(site, "future", manifest={"name": "future", "min_plexichat_version": "99"})
    make_plugin(site, "unlisted")
    with running_host(data_dir, "healthy", "invalid", "orphan", "future") as client:
        listed = plugins_by_name(client)
        assert listed["invalid"]["state"] == "rejected"
        assert "plx_invalid/plugin.json: type:" in listed["invalid"]["reason"]
        assert listed["orphan"]["state"] == "rejected"
        assert listed["orphan"]["reason"] == "requires 'ghost', which is not installed"
        assert listed["future"]["state"] == "rejected"
        assert "needs PlexiChat >= 99" in listed["future"]["reason"]
        assert listed["unlisted"]["state"] == "disabled"
        assert_host_serves(client)


def test_duplicate_plugin_name_loads_neither(site, data_dir, tmp_path):
    marker = tmp_path / "imported"
    code = f"open({str(marker)!r}, 'w').close()\n"
    make_healthy(site)
    make_plugin(site, "dup", package="plx_dup_one", distribution="plx-dup-one", code=code)
    make_plugin(site, "dup", package="plx_dup_two", distribution="plx-dup-two", code=code)
    with running_host(data_dir, "healthy", "dup") as client:
        dup = plugins_by_name(client)["dup"]
        assert dup["state"] == "rejected"
        assert "plx-dup-one" in dup["reason"] and "plx-dup-two" in dup["reason"]
        assert not marker.exists()
        assert_host_serves(client)


# --- hooks that raise ------------------------------------------------------------------


@pytest.fixture
def raising_hooks(site):
    make_healthy(site)
    make_plugin(site, "sync_bad", code="""
        from plexichat import hookimpl

        @hookimpl
        def register_routers():
            raise ValueError("sync bad")
    """)
    make_plugin(site, "async_bad", code="""
        from plexichat import hookimpl

        @hookimpl
        async def register_routers(context):
            raise KeyError("async bad")
    """)


def test_raising_sync_hook_is_reported_on_its_plugin(raising_hooks, data_dir):
    with running_host(data_dir, "healthy", "sync_bad", "async_bad") as client:
        info = detail(client, "sync_bad")
        assert "register_routers raised ValueError: sync bad" in info["warnings"]
        assert info["stats"]["register_routers"]["failures"] == 1
        assert_host_serves(client)


def test_raising_async_hook_is_reported_on_its_plugin(raising_hooks, data_dir):
    with running_host(data_dir, "healthy", "sync_bad", "async_bad") as client:
        info = detail(client, "async_bad")
        assert "register_routers raised KeyError: 'async bad'" in info["warnings"]
        assert info["stats"]["register_routers"]["failures"] == 1
        assert_host_serves(client)


def test_raising_hooks_do_not_stop_the_other_implementations(raising_hooks, data_dir):
    with running_host(data_dir, "healthy", "sync_bad", "async_bad") as client:
        host = host_of(client)
        before = len(host.dispatcher.failures)
        results = client.portal.call(
            functools.partial(host.dispatcher.acall, "register_routers", context=None)
        )
        assert results.plugins == ["healthy"]
        failed = [(f.plugin, f.error) for f in list(host.dispatcher.failures)[before:]]
        assert sorted(failed) == [("async_bad", "KeyError: 'async bad'"),
                                  ("sync_bad", "ValueError: sync bad")]
        assert_host_serves(client)


# --- routes ----------------------------------------------------------------------------


@pytest.fixture
def clashing(site):
    make_healthy(site)
    make_plugin(site, "clash", manifest={"name": "clash", "dependencies": ["healthy"]},
                code="""
        from fastapi import APIRouter
        from plexichat import hookimpl

        router = APIRouter()

        @router.get("/api/v1/health/live")
        def live():
            return {"status": "hijacked"}

        @router.get("/api/v1/healthy")
        def healthy():
            return {"ok": "hijacked"}

        @router.post("/api/v1/healthy")
        def post_healthy():
            return {"ok": "posted"}

        @router.get("/api/v1/clash")
        def own():
            return {"ok": "clash"}

        @hookimpl
        def register_routers():
            return router
    """)


def test_route_colliding_with_the_core_is_refused(clashing, data_dir):
    with running_host(data_dir, "healthy", "clash") as client:
        live = client.get("/api/v1/health/live").json()
        assert (live["status"], live["detail"], live["safe_mode"]) == ("ok", "", False)
        warnings = detail(client, "clash")["warnings"]
        assert "route GET /api/v1/health/live refused: already served by the core" in warnings
        assert_host_serves(client)


def test_route_colliding_with_another_plugin_is_refused(clashing, data_dir):
    with running_host(data_dir, "healthy", "clash") as client:
        warnings = detail(client, "clash")["warnings"]
        assert ("route GET /api/v1/healthy refused: already served by plugin 'healthy'"
                in warnings)
        assert detail(client, "healthy")["warnings"] == []
        assert_host_serves(client)


def test_plugin_with_refused_routes_serves_its_other_routes(clashing, data_dir):
    with running_host(data_dir, "healthy", "clash") as client:
        assert plugins_by_name(client)["clash"]["state"] == "started"
        assert client.get("/api/v1/clash").json() == {"ok": "clash"}
        assert client.post("/api/v1/healthy").json() == {"ok": "posted"}
        paths = {(tuple(r["methods"]), r["path"]) for r in detail(client, "clash")["routes"]}
        assert paths == {(("GET",), "/api/v1/clash"), (("POST",), "/api/v1/healthy")}
        assert_host_serves(client)


def test_register_routers_returning_garbage_is_a_warning(site, data_dir):
    make_healthy(site)
    make_plugin(site, "garbage", code="""
        from plexichat import hookimpl

        @hookimpl
        def register_routers():
            return 42
    """)
    with running_host(data_dir, "healthy", "garbage") as client:
        [warning] = detail(client, "garbage")["warnings"]
        assert "returned int" in warning
        assert_host_serves(client)


# --- quarantine ------------------------------------------------------------------------


def test_quarantine_after_fault_budget_removes_routes(site, data_dir):
    make_healthy(site)
    make_plugin(site, "flaky", code=healthy_code("/api/v1/flaky", "flaky") + """
        calls = 0

        @hookimpl
        def register_routers():
            global calls
            calls += 1
            if calls > 1:
                raise RuntimeError("flaky again")
            return router
    """)
    with running_host(data_dir, "healthy", "flaky", fault_budget=2) as client:
        assert client.get("/api/v1/flaky").json() == {"ok": "flaky"}
        host = host_of(client)
        for _ in range(2):
            client.portal.call(
                functools.partial(host.dispatcher.acall, "register_routers", context=None)
            )
        flaky = plugins_by_name(client)["flaky"]
        assert flaky["state"] == "quarantined"
        assert "fault budget spent: 2 consecutive failures" in flaky["reason"]
        assert "RuntimeError: flaky again" in flaky["reason"]
        assert client.get("/api/v1/flaky").status_code == 404
        assert "/api/v1/flaky" not in client.get("/api/openapi.json").json()["paths"]
        assert detail(client, "flaky")["routes"] == []
        assert_host_serves(client)


def test_quarantined_plugin_is_not_called_again(site, data_dir):
    make_healthy(site)
    make_plugin(site, "flaky", code="""
        from plexichat import hookimpl

        @hookimpl
        def register_routers():
            raise RuntimeError("always")
    """)
    with running_host(data_dir, "healthy", "flaky", fault_budget=2) as client:
        host = host_of(client)
        call = functools.partial(host.dispatcher.acall, "register_routers", context=None)
        client.portal.call(call)  # the second failure (startup made the first)
        assert plugins_by_name(client)["flaky"]["state"] == "quarantined"
        before = len(host.dispatcher.failures)
        assert client.portal.call(call).plugins == ["healthy"]
        assert len(host.dispatcher.failures) == before
        assert_host_serves(client)


# --- shutdown --------------------------------------------------------------------------


@pytest.fixture
def chain(site, tmp_path):
    """base <- middle <- top, each logging its start and stop."""
    log = tmp_path / "events.log"
    make_healthy(site)
    make_plugin(site, "top", manifest={"name": "top", "dependencies": ["middle"]},
                code=recorder(log))
    make_plugin(site, "middle", manifest={"name": "middle", "dependencies": ["base"]},
                code=recorder(log))
    make_plugin(site, "base", code=recorder(log))
    return log


def test_startup_runs_in_dependency_order(chain, data_dir):
    with running_host(data_dir, "healthy", "top", "middle", "base") as client:
        assert_host_serves(client)
        started = chain.read_text().splitlines()
    assert started == ["start base", "start middle", "start top"]


def test_shutdown_runs_in_reverse_order(chain, data_dir):
    with running_host(data_dir, "healthy", "top", "middle", "base") as client:
        assert_host_serves(client)
        host = host_of(client)
    stopped = [line for line in chain.read_text().splitlines() if line.startswith("stop")]
    assert stopped == ["stop top", "stop middle", "stop base"]
    assert {host.records[n].state.value for n in ("top", "middle", "base")} == {"stopped"}


def test_failing_shutdown_does_not_stop_the_others(chain, site, data_dir):
    make_plugin(site, "grumpy", manifest={"name": "grumpy", "dependencies": ["base"]}, code="""
        import asyncio
        from plexichat import hookimpl

        @hookimpl
        def shutdown():
            raise RuntimeError("will not stop")
    """)
    make_plugin(site, "stuck", manifest={"name": "stuck", "dependencies": ["base"]}, code="""
        import asyncio
        from plexichat import hookimpl

        @hookimpl
        async def shutdown():
            await asyncio.sleep(3600)
    """)
    names = ("healthy", "top", "middle", "base", "grumpy", "stuck")
    with running_host(data_dir, *names, shutdown_timeout=0.2) as client:
        assert_host_serves(client)
        host = host_of(client)
    stopped = [line for line in chain.read_text().splitlines() if line.startswith("stop")]
    assert stopped == ["stop top", "stop middle", "stop base"]
    assert host.records["grumpy"].state.value == "stopped"
    assert host.records["stuck"].state.value == "stopped"
    failed = {(f.plugin, f.error.split(":")[0]) for f in host.dispatcher.failures}
    assert {("grumpy", "RuntimeError"), ("stuck", "HookTimeout")} <= failed


# --- what a plugin returns cannot stop the others --------------------------------------


def test_router_the_app_cannot_include_is_refused_and_later_plugins_start(site, data_dir):
    make_healthy(site)  # "healthy" starts after "badprefix": names break the tie
    make_plugin(site, "badprefix", code=healthy_code("/x", "bad") + """
        from fastapi import APIRouter as _Router

        _other = _Router()

        @_other.get("/api/v1/badprefix")
        def fine():
            return {"ok": "fine"}

        @hookimpl
        def register_routers():
            return [{"no-leading-slash": router}, _other]
    """)
    with running_host(data_dir, "badprefix", "healthy") as client:
        info = detail(client, "badprefix")
        assert info["state"] == "started"
        assert any("no-leading-slash" in w for w in info["warnings"]), info["warnings"]
        assert client.get("/api/v1/badprefix").json() == {"ok": "fine"}
        assert_host_serves(client)


def test_plugin_quarantined_while_starting_stays_quarantined(site, data_dir):
    make_healthy(site)
    make_plugin(site, "fragile", code="""
        from plexichat import hookimpl

        @hookimpl
        def register_routers():
            raise RuntimeError("broken at once")
    """)
    with running_host(data_dir, "fragile", "healthy", fault_budget=1) as client:
        fragile = plugins_by_name(client)["fragile"]
        assert fragile["state"] == "quarantined"
        assert "RuntimeError: broken at once" in fragile["reason"]
        assert detail(client, "fragile")["hooks"] == []
        assert_host_serves(client)


def test_unexpected_error_while_adding_routes_fails_only_that_plugin(site, data_dir):
    make_healthy(site)  # starts after "broken_router"
    make_plugin(site, "broken_router", code="""
        from fastapi import APIRouter
        from plexichat import hookimpl

        class Junk:  # not a route at all
            path = "/junk"
            methods = 42

        router = APIRouter()
        router.routes.append(Junk())

        @hookimpl
        def register_routers():
            return router
    """)
    with running_host(data_dir, "broken_router", "healthy") as client:
        broken = plugins_by_name(client)["broken_router"]
        assert broken["state"] == "failed"
        assert broken["reason"].startswith("starting failed: TypeError: ")
        assert detail(client, "broken_router")["hooks"] == []
        assert_host_serves(client)


# --- a plugin cannot end the host ------------------------------------------------------


def test_plugin_calling_sys_exit_at_import_fails_only_that_plugin(site, data_dir):
    make_healthy(site)
    make_plugin(site, "quitter", code="import sys\nsys.exit('configuration missing')\n")
    with running_host(data_dir, "quitter", "healthy") as client:
        quitter = plugins_by_name(client)["quitter"]
        assert quitter["state"] == "failed"
        assert quitter["reason"] == "import failed: SystemExit: configuration missing"
        assert_host_serves(client)


STOPS_DESPITE_HUNG_IMPORT = """
import sys
from support.host import running_host, plugins_by_name

with running_host(sys.argv[1], "hung", startup_timeout=0.3) as client:
    print(plugins_by_name(client)["hung"]["reason"], flush=True)
print("host stopped", flush=True)
"""


def test_host_stops_although_a_plugin_import_never_returns(site, data_dir, tmp_path):
    make_plugin(site, "hung", code="import threading\nthreading.Event().wait()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run(
        [sys.executable, "-c", STOPS_DESPITE_HUNG_IMPORT, str(data_dir)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["import did not finish within 0.3 s", "host stopped"]
