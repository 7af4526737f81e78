"""Plugin health checks and self-tests in a running host.

Readiness checks roll up into ``/api/v1/health/ready``; every check shows in
``GET /api/v1/plugins/{name}/health``; a raising or hanging check is unhealthy; a
self-test's result is returned, and a hanging one is cut off at the health timeout.
"""

from __future__ import annotations

import json
import sys
import time

import pytest
from support.api import TOKEN, detail, eventually, post
from support.dists import make_plugin
from support.host import assert_host_serves, make_healthy, running_host

PROBED = """
    import asyncio, os, threading
    from plexichat import hookimpl
    from plexichat.contributions import HealthCheck

    FLAGS = os.path.join(os.path.dirname(__file__), "flags.json")
    STATE = {"ready": True, "alive": True, "raise": False, "hang": False}
    if os.path.exists(FLAGS):
        import json
        with open(FLAGS) as fh:
            STATE.update(json.load(fh))
    RELEASE = threading.Event()

    def ready():
        return {"healthy": STATE["ready"], "detail": "queue drained" if STATE["ready"]
                else "queue stuck"}

    def alive():
        return STATE["alive"]

    def fragile():
        if STATE["raise"]:
            raise RuntimeError("probe exploded")
        return True

    async def slow():
        if STATE["hang"]:
            await asyncio.sleep(5)
        return True

    def blocking():
        if STATE["hang"]:
            RELEASE.wait(5)
        return True

    @hookimpl
    def register_health_checks():
        return [HealthCheck("queue", ready), HealthCheck("heartbeat", alive, "liveness"),
                HealthCheck("fragile", fragile, "liveness"),
                HealthCheck("slow", slow, "liveness"),
                HealthCheck("blocking", blocking, "liveness")]
"""


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def probed(site):
    make_healthy(site)
    make_plugin(site, "probed", code=PROBED)


def state():
    return sys.modules["plx_probed"].STATE


def flags(site, **values):
    """Set the probed plugin's check outcomes before it is imported."""
    (site / "plx_probed" / "flags.json").write_text(json.dumps(values))


def host(data_dir, *plugins, wait=True, **settings):
    settings = {"admin_token": TOKEN, "health_timeout": 0.2, **settings}
    return running_host(data_dir, *(plugins or ("probed", "healthy")), wait=wait, **settings)


def started(client):
    """Wait until every plugin has started or failed (not for readiness)."""
    eventually(lambda: client.app.state.host.ready, what="plugins to start")


def health(client, name="probed"):
    response = client.get(f"/api/v1/plugins/{name}/health")
    assert response.status_code == 200, response.text
    return response.json()


# --- readiness -------------------------------------------------------------------------


def test_passing_readiness_checks_make_the_host_ready(probed, data_dir):
    with host(data_dir) as client:
        response = client.get("/api/v1/health/ready")
        ready = response.json()
        assert (ready["status"], ready["detail"], ready["safe_mode"]) == ("ok", "", False)


def test_failing_readiness_check_makes_ready_503_naming_the_plugin(probed, site, data_dir):
    flags(site, ready=False)
    with host(data_dir, wait=False) as client:
        started(client)
        response = client.get("/api/v1/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unhealthy"
        assert "probed: queue: queue stuck" in body["detail"]
        assert_host_serves(client)


def test_ready_recovers_when_the_check_passes_again(probed, site, data_dir):
    flags(site, ready=False)
    with host(data_dir, wait=False) as client:
        started(client)
        assert client.get("/api/v1/health/ready").status_code == 503
        state()["ready"] = True
        assert client.get("/api/v1/health/ready").status_code == 200


def test_failing_liveness_check_does_not_affect_ready(probed, site, data_dir):
    flags(site, alive=False)
    with host(data_dir) as client:
        assert client.get("/api/v1/health/ready").status_code == 200
        assert health(client)["checks"]["heartbeat"]["healthy"] is False


def test_disabled_plugin_checks_leave_ready(probed, site, data_dir):
    flags(site, ready=False)
    with host(data_dir, wait=False) as client:
        started(client)
        post(client, "/api/v1/plugins/probed/disable")
        assert client.get("/api/v1/health/ready").status_code == 200


# --- the plugin's health ---------------------------------------------------------------


def test_plugin_health_shows_each_check(probed, data_dir):
    with host(data_dir) as client:
        report = health(client)
    assert report["plugin"] == "probed"
    assert report["healthy"] is True
    assert report["checks"]["queue"] == {"healthy": True, "detail": "queue drained",
                                         "kind": "readiness"}
    assert report["checks"]["heartbeat"] == {"healthy": True, "kind": "liveness"}
    assert set(report["checks"]) == {"queue", "heartbeat", "fragile", "slow", "blocking"}


def test_one_failing_check_makes_the_plugin_unhealthy(probed, data_dir):
    with host(data_dir) as client:
        state()["alive"] = False
        report = health(client)
    assert report["healthy"] is False
    assert report["checks"]["heartbeat"]["healthy"] is False
    assert report["checks"]["queue"]["healthy"] is True


def test_raising_check_counts_as_unhealthy(probed, data_dir):
    with host(data_dir) as client:
        state()["raise"] = True
        report = health(client)
        assert report["healthy"] is False
        assert report["checks"]["fragile"] == {
            "healthy": False, "detail": "RuntimeError: probe exploded", "kind": "liveness"}
        info = detail(client, "probed")
        assert info["failures"][-1]["hook"] == "health:fragile"
        assert 'raise RuntimeError("probe exploded")' in info["failures"][-1]["traceback"]
        assert info["stats"]["health:fragile"]["failures"] == 1


def test_hanging_async_check_is_unhealthy_after_the_timeout(probed, data_dir):
    with host(data_dir) as client:
        state()["hang"] = True
        begun = time.monotonic()
        report = health(client)
        took = time.monotonic() - begun
        sys.modules["plx_probed"].RELEASE.set()
    assert report["checks"]["slow"]["healthy"] is False
    assert "0.2 s" in report["checks"]["slow"]["detail"]
    assert took < 2


def test_hanging_sync_check_is_unhealthy_after_the_timeout(probed, data_dir):
    with host(data_dir) as client:
        state()["hang"] = True
        begun = time.monotonic()
        report = health(client)
        took = time.monotonic() - begun
        sys.modules["plx_probed"].RELEASE.set()
    assert report["checks"]["blocking"]["healthy"] is False
    assert "0.2 s" in report["checks"]["blocking"]["detail"]
    assert took < 2


def test_health_of_a_disabled_plugin_says_why(probed, data_dir):
    with host(data_dir) as client:
        post(client, "/api/v1/plugins/probed/disable")
        report = health(client)
    assert report["healthy"] is False
    assert report["checks"]["state"]["detail"] == "disabled: disabled by the operator"


def test_plugin_without_checks_is_healthy(probed, data_dir):
    with host(data_dir) as client:
        assert health(client, "healthy") == {"plugin": "healthy", "healthy": True,
                                             "checks": {}}


def test_health_of_unknown_plugin_is_404(probed, data_dir):
    with host(data_dir) as client:
        assert client.get("/api/v1/plugins/nope/health").status_code == 404


# --- self-test -------------------------------------------------------------------------

SELF_TESTS = {
    "passes": """
        from plexichat import hookimpl

        @hookimpl
        def self_test(context):
            return {"passed": True, "tests": ["kv round trip", "config"],
                    "message": f"all good in {context.plugin_name}"}
    """,
    "typed": """
        from plexichat import hookimpl
        from plexichat.contributions import SelfTestResult

        @hookimpl
        async def self_test():
            return SelfTestResult(False, ["db"], "db unreachable")
    """,
    "raises": """
        from plexichat import hookimpl

        @hookimpl
        def self_test():
            raise AssertionError("widget count is 0")
    """,
    "hangs": """
        import asyncio
        from plexichat import hookimpl

        @hookimpl
        async def self_test():
            await asyncio.sleep(5)
    """,
    "blocks": """
        import threading
        from plexichat import hookimpl

        RELEASE = threading.Event()

        @hookimpl
        def self_test():
            RELEASE.wait(5)
            return True
    """,
}


def self_test(client, name):
    response = post(client, f"/api/v1/plugins/{name}/self-test")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def testers(site):
    make_healthy(site)
    for name, code in SELF_TESTS.items():
        make_plugin(site, name, code=code)


def test_self_test_result_is_returned(testers, data_dir):
    with host(data_dir, "passes") as client:
        assert self_test(client, "passes") == {
            "plugin": "passes", "passed": True, "tests": ["kv round trip", "config"],
            "message": "all good in passes"}


def test_typed_self_test_result_is_returned(testers, data_dir):
    with host(data_dir, "typed") as client:
        assert self_test(client, "typed") == {
            "plugin": "typed", "passed": False, "tests": ["db"], "message": "db unreachable"}


def test_raising_self_test_fails_naming_the_error(testers, data_dir):
    with host(data_dir, "raises", "healthy") as client:
        result = self_test(client, "raises")
        assert result["passed"] is False
        assert "AssertionError: widget count is 0" in result["message"]
        assert_host_serves(client)


@pytest.mark.parametrize("name", ["hangs", "blocks"])
def test_hanging_self_test_is_bounded_by_the_health_timeout(testers, data_dir, name):
    with host(data_dir, name, "healthy") as client:
        begun = time.monotonic()
        result = self_test(client, name)
        took = time.monotonic() - begun
        if name == "blocks":
            sys.modules["plx_blocks"].RELEASE.set()
        assert result["passed"] is False
        assert "did not finish within 0.2 s" in result["message"]
        assert took < 2
        assert_host_serves(client)


def test_plugin_without_self_test_passes(testers, data_dir):
    with host(data_dir, "healthy") as client:
        result = self_test(client, "healthy")
    assert result["passed"] is True
    assert result["message"] == "the plugin defines no self-test"


def test_self_test_of_a_disabled_plugin_fails_naming_the_state(testers, data_dir):
    with host(data_dir, "passes") as client:
        post(client, "/api/v1/plugins/passes/disable")
        result = self_test(client, "passes")
    assert result["passed"] is False
    assert result["message"].startswith("plugin is disabled")
