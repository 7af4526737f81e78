"""Plugins start side by side: one whose start hangs delays only its dependents.

Every test starts a real app with fixture plugins installed as real distributions,
and follows the plugins' states while the host is still starting them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.dists import make_plugin
from support.host import assert_host_serves, make_healthy, plugins_by_name, wait_ready

from plexichat.config import HostSettings
from plexichat.kernel.states import PluginStateChanged
from plexichat.web import create_app

HANGS = """
    import asyncio
    from plexichat import hookimpl

    @hookimpl
    async def startup(context):
        await asyncio.sleep(3600)
"""


def noting(log: Path) -> str:
    """Plugin code whose startup appends ``startup hook <plugin>`` to ``log``."""
    return f"""
        from plexichat import hookimpl

        @hookimpl
        def startup(context):
            with open({str(log)!r}, "a") as fh:
                fh.write(f"startup hook {{context.plugin_name}}\\n")
    """


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@contextlib.contextmanager
def starting_host(data_dir: Path, *plugins: str, log: Path | None = None,
                  **settings: Any) -> Iterator[TestClient]:
    """A host still starting ``plugins``; with ``log``, every state change is appended
    to it as ``<plugin> <new state>``, in the order the host made them."""
    app = create_app(HostSettings(data_dir=data_dir, load_plugins=",".join(plugins),
                                  **settings))
    if log is not None:
        def note(event: PluginStateChanged) -> None:
            with open(log, "a") as fh:
                fh.write(f"{event.plugin} {event.new.value}\n")

        app.state.host.bus.subscribe(PluginStateChanged, note)
    with TestClient(app) as client:
        yield client


def states_once(client: TestClient, done: Any, timeout: float = 20.0) -> dict[str, str]:
    """Poll ``{plugin: state}`` until ``done(states)`` holds; the states it held for."""
    deadline = time.monotonic() + timeout
    while True:
        states = {name: p["state"] for name, p in plugins_by_name(client).items()}
        if done(states):
            return states
        assert time.monotonic() < deadline, f"never reached: {states}"
        time.sleep(0.01)


INDEPENDENT = ("b_first", "c_second", "healthy")


@pytest.fixture
def one_hangs(site, tmp_path):
    """``a_hangs`` never finishes its startup; ``d_needs_it`` depends on it; the rest
    depend on nothing. ``a_hangs`` comes first in the dependency order."""
    make_plugin(site, "a_hangs", code=HANGS)
    make_plugin(site, "d_needs_it", manifest={"name": "d_needs_it",
                                              "dependencies": ["a_hangs"]},
                code=noting(tmp_path / "hooks.log"))
    make_plugin(site, "b_first", code=noting(tmp_path / "hooks.log"))
    make_plugin(site, "c_second", code=noting(tmp_path / "hooks.log"))
    make_healthy(site)
    return tmp_path / "hooks.log"


def test_a_hanging_startup_delays_only_its_dependents(one_hangs, data_dir):
    with starting_host(data_dir, "a_hangs", "d_needs_it", *INDEPENDENT,
                       startup_timeout=3) as client:
        starting = ("available", "loaded")  # still importing, or in its hanging startup
        states = states_once(client, lambda s: (s["a_hangs"] not in starting
                                                or all(s[n] == "started" for n in INDEPENDENT)))
        # seen while the hanging plugin still starts: everything independent has started
        assert states["a_hangs"] in starting
        assert {n: states[n] for n in INDEPENDENT} == dict.fromkeys(INDEPENDENT, "started")
        assert states["d_needs_it"] == "available"  # it waits for what it depends on
        assert client.get("/api/v1/health/ready").status_code == 503
        wait_ready(client)
        listed = plugins_by_name(client)
        assert listed["a_hangs"]["state"] == "failed"
        assert "did not finish within 3 s" in listed["a_hangs"]["reason"]
        assert listed["d_needs_it"]["state"] == "failed"
        assert listed["d_needs_it"]["reason"].startswith(
            "requires 'a_hangs', which is failed: startup did not finish within 3 s")
        assert_host_serves(client)
    assert "startup hook d_needs_it" not in one_hangs.read_text().splitlines()


def test_startup_event_goes_out_once_after_every_plugin(one_hangs, data_dir, site, tmp_path):
    heard = tmp_path / "heard"
    make_plugin(site, "listener", code=f"""
        from plexichat import hookimpl
        from plexichat.contributions import EventHandler

        def _heard(**payload):
            with open({str(heard)!r}, "a") as fh:
                fh.write("startup\\n")

        @hookimpl
        def register_event_handlers():
            return [EventHandler("startup", _heard)]
    """)
    with starting_host(data_dir, "a_hangs", "listener", "healthy",
                       startup_timeout=3) as client:
        states = states_once(client, lambda s: s["listener"] == "started")
        assert states["a_hangs"] in ("available", "loaded")  # still starting
        assert not heard.exists()  # not while a plugin is still starting
        wait_ready(client)
        assert heard.read_text().splitlines() == ["startup"]


@pytest.fixture
def diamond(site, tmp_path):
    """top needs left and right; left and right need base, whose startup is slow."""
    log = tmp_path / "events.log"
    make_plugin(site, "base", code=f"""
        import asyncio
        from plexichat import hookimpl

        @hookimpl
        async def startup(context):
            await asyncio.sleep(0.3)
            with open({str(log)!r}, "a") as fh:
                fh.write("startup hook base\\n")
    """)
    for name, deps in (("left", ["base"]), ("right", ["base"]), ("top", ["left", "right"])):
        make_plugin(site, name, manifest={"name": name, "dependencies": deps},
                    code=noting(log))
    make_healthy(site)
    return log


def test_a_dependent_starts_only_after_its_dependencies_started(diamond, data_dir):
    with starting_host(data_dir, "top", "right", "left", "base", "healthy",
                       log=diamond) as client:
        wait_ready(client)
        assert_host_serves(client)
    lines = diamond.read_text().splitlines()
    deps = {"left": ["base"], "right": ["base"], "top": ["left", "right"]}
    for name, needed in deps.items():
        hook = lines.index(f"startup hook {name}")
        loaded = lines.index(f"{name} loaded")  # imported only once its dependencies ran
        for dep in needed:
            assert lines.index(f"{dep} started") < loaded < hook, lines
    assert lines.count("top started") == 1


def test_start_timings_are_recorded_and_a_slow_step_is_named(site, data_dir):
    make_healthy(site)
    make_plugin(site, "sluggish", code="""
        import asyncio
        from plexichat import hookimpl

        @hookimpl
        async def startup(context):
            await asyncio.sleep(0.5)
    """)
    with starting_host(data_dir, "sluggish", "healthy", slow_start_warning=0.25) as client:
        wait_ready(client)
        info = client.get("/api/v1/plugins/sluggish").json()
        healthy = client.get("/api/v1/plugins/healthy").json()
    timings = info["timings"]
    assert timings["startup_seconds"] >= 0.5
    assert timings["total_seconds"] >= timings["startup_seconds"]
    for step in ("import", "settings", "contribute", "routes"):
        assert timings[f"{step}_seconds"] is not None, step
    slow = [w for w in info["warnings"] if w.startswith("slow start: ")]
    assert len(slow) == 1, info["warnings"]
    assert "most of it in the startup hook step" in slow[0]
    assert "PLEXICHAT_SLOW_START_WARNING" in slow[0]
    assert healthy["timings"]["routes_seconds"] is not None


def test_a_plugin_never_started_has_no_timings(site, data_dir):
    make_healthy(site)
    make_plugin(site, "off", manifest={"name": "off", "enabled": False})
    with starting_host(data_dir, "off", "healthy") as client:
        wait_ready(client)
        assert client.get("/api/v1/plugins/off").json()["timings"] is None


def test_cancelling_the_startup_cancels_every_start_still_running():
    import asyncio

    from plexichat.kernel.startup import start_concurrently

    began: list[str] = []
    finished: list[str] = []
    deps = {"a": [], "b": [], "c": ["a"]}

    async def start(name: str) -> None:
        began.append(name)
        await asyncio.sleep(0 if name == "b" else 3600)
        finished.append(name)

    async def scenario() -> None:
        starting = asyncio.create_task(start_concurrently(["a", "b", "c"], deps.__getitem__,
                                                          start))
        for _ in range(5):
            await asyncio.sleep(0)
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting
        assert all(t.done() for t in asyncio.all_tasks() if t is not asyncio.current_task())

    asyncio.run(scenario())
    assert began == ["a", "b"]  # c waited for a, which never finished
    assert finished == ["b"]


def filter_importing_slowly(slow: bool) -> str:
    """A ``message_will_post`` filter; with ``slow``, its import takes 0.5 s."""
    return f"""
        import time
        from plexichat import hookimpl

        if {slow!r}:
            time.sleep(0.5)

        @hookimpl
        def message_will_post(message):
            return None
    """


@pytest.mark.parametrize("slow", ["alpha", "beta"])
def test_hook_order_follows_dependency_order_not_who_started_first(site, data_dir, slow):
    """alpha and beta depend on nothing: whichever imports slower registers with pluggy
    last, and still their filters run in the same order (the later in dependency
    order first, as if registered one by one in that order)."""
    for name in ("alpha", "beta"):
        make_plugin(site, name, code=filter_importing_slowly(name == slow))
    make_healthy(site)
    with starting_host(data_dir, "alpha", "beta", "healthy") as client:
        wait_ready(client)
        host = client.app.state.host  # type: ignore[attr-defined]
        assert host.order.index("alpha") < host.order.index("beta")
        assert host.dispatcher.implementers("message_will_post") == ["beta", "alpha"]
