"""Broken plugin distributions, one per way a plugin can go wrong.

:func:`install_faulty` writes every one of them (and a healthy fixture plugin) into one
site directory, as real distributions with ``*.dist-info`` and entry points, for the
fault matrix (tests/test_fault_matrix.py) to serve in real hosts. Each plugin is named
after the kind of fault it has; :data:`FAULTY` maps that name to how it is written.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .dists import make_plugin
from .host import make_healthy

_HOOKS = "from plexichat import hookimpl\n"


def _hook(body: str) -> str:
    """Plugin code: ``body`` with ``hookimpl`` imported."""
    return _HOOKS + textwrap.dedent(body)


def _plain(site: Path, name: str, **kwargs: Any) -> None:
    make_plugin(site, name, **kwargs)


def _named(manifest: dict[str, Any]) -> Callable[[Path, str], None]:
    """A plugin whose ``plugin.json`` is ``manifest`` plus its own name."""
    def write(site: Path, name: str) -> None:
        make_plugin(site, name, manifest={"name": name, **manifest})
    return write


def _code(code: str, **manifest: Any) -> Callable[[Path, str], None]:
    """A plugin with ``code`` as its package (and ``manifest`` fields added)."""
    def write(site: Path, name: str) -> None:
        make_plugin(site, name, code=code, manifest={"name": name, **manifest})
    return write


def _duplicate(site: Path, name: str) -> None:
    # two distributions whose entry points both claim the name
    make_plugin(site, name, distribution="plx-dup-first", package="plx_dup_first")
    make_plugin(site, name, distribution="plx-dup-second", package="plx_dup_second")


def _cycle(site: Path, name: str) -> None:
    make_plugin(site, name, manifest={"name": name, "dependencies": [f"{name}_partner"]})
    make_plugin(site, f"{name}_partner",
                manifest={"name": f"{name}_partner", "dependencies": [name]})


def _missing_target(site: Path, name: str) -> None:
    make_plugin(site, name, entry_point=f"plx_{name}.main:plugin",
                files={"main.py": "other = object()\n"})


def _name_mismatch(site: Path, name: str) -> None:
    make_plugin(site, name, manifest={"name": "another_name"})


def _leaks(site: Path, name: str) -> None:
    make_plugin(site, name, code=_hook("""
        import asyncio
        import threading
        import time

        def _poll_forever():
            while True:
                time.sleep(0.05)

        async def _tick_forever():
            while True:
                await asyncio.sleep(0.05)

        @hookimpl
        async def startup(context):
            threading.Thread(target=_poll_forever, name="leaky-poller").start()
            asyncio.get_running_loop().create_task(_tick_forever())
    """))


FAULTY: dict[str, Callable[[Path, str], None]] = {
    "import_error": _code("import plx_this_module_is_not_installed\n"),
    "syntax_error": _code("def broken(:\n    pass\n"),
    "missing_target": _missing_target,
    "invalid_manifest": lambda site, name: make_plugin(
        site, name, manifest='{"name": "invalid_manifest", "type": }'),
    "name_mismatch": _name_mismatch,
    "duplicate": _duplicate,
    "missing_dep": _named({"dependencies": ["plx_not_installed_anywhere>=1.0"]}),
    "cycle": _cycle,
    "too_new": _named({"min_plexichat_version": "99.0"}),
    "future_api": _named({"api_version": "99"}),
    "raising_startup": _code(_hook("""
        def open_the_connection():
            raise ConnectionError("database at db.invalid refused")

        @hookimpl
        async def startup(context):
            open_the_connection()
    """)),
    "hanging_startup": _code(_hook("""
        import threading

        @hookimpl
        def startup(context):
            threading.Event().wait()
    """)),
    "exiting_startup": _code(_hook("""
        import sys

        @hookimpl
        def startup(context):
            sys.exit("no licence key")
    """)),
    "raising_sync_hook": _code(_hook("""
        @hookimpl
        def message_will_post(message, context):
            raise KeyError("spam list")
    """)),
    "raising_async_hook": _code(_hook("""
        @hookimpl
        async def message_posted(message, context):
            raise LookupError("no such archive")
    """)),
    "hanging_hook": _code(_hook("""
        import asyncio

        @hookimpl
        async def message_will_post(message, context):
            await asyncio.sleep(3600)
    """)),
    "wrong_type_hook": _code(_hook("""
        @hookimpl
        def message_will_post(message, context):
            return 42
    """)),
    "crashing_task": _code(_hook("""
        from plexichat.contributions import BackgroundTask

        async def sync_inbox():
            raise OSError("inbox unreachable")

        @hookimpl
        def register_background_tasks():
            return [BackgroundTask("sync_inbox", sync_inbox)]
    """)),
    "raising_middleware": _code(_hook("""
        from plexichat.contributions import MiddlewareSpec

        def add_header(request, call_next):
            raise RuntimeError("header table corrupt")

        @hookimpl
        def register_middleware():
            return [MiddlewareSpec("api", add_header)]
    """)),
    "hanging_middleware": _code(_hook("""
        import asyncio
        from plexichat.contributions import MiddlewareSpec

        async def audit(request, call_next):
            if "x-audit" in request.headers:  # only the requests that ask to be audited
                await asyncio.sleep(3600)
            return await call_next(request)

        @hookimpl
        def register_middleware():
            return [MiddlewareSpec("api", audit)]
    """)),
    "raising_route": _code(_hook("""
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/api/v1/raising-route")
        def report():
            raise ZeroDivisionError("no samples yet")

        @hookimpl
        def register_routers():
            return router
    """)),
    "route_collision": _code(_hook("""
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/api/v1/healthy")
        def impostor():
            return {"ok": "impostor"}

        @router.get("/api/v1/plugins")
        def plugins():
            return []

        @hookimpl
        def register_routers():
            return router
    """), dependencies=["healthy"]),  # starts after the plugin whose route it copies
    # (between plugins with no dependency, the first to start serves a contested path)
    "raising_shutdown": _code(_hook("""
        def flush_the_queue():
            raise BrokenPipeError("queue gone")

        @hookimpl
        def shutdown(context):
            flush_the_queue()
    """)),
    "hanging_shutdown": _code(_hook("""
        import asyncio

        @hookimpl
        async def shutdown(context):
            await asyncio.sleep(3600)
    """)),
    "no_permission": _code(_hook("""
        @hookimpl
        def startup(context):
            context.chat
    """)),
    "bad_schema": _code(_hook("""
        @hookimpl
        def config_schema():
            return {"type": "object", "properties": {"level": {"type": "loudness"}}}
    """)),
    "refuses_settings": _code(_hook("""
        @hookimpl
        def config_schema():
            return {"type": "object", "properties": {"level": {"type": "integer",
                                                               "default": 1}}}

        @hookimpl
        def config_changed(old, new, context):
            if new["level"] > 3:
                raise ValueError(f"level {new['level']} is above 3")
    """)),
    "leaks_at_disable": _leaks,
    "memory_hog": _code(_hook("""
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/api/v1/memory-hog")
        def hoard():
            kept = []
            while True:
                kept.append(bytearray(16 * 1024 * 1024))

        @hookimpl
        def register_routers():
            return router
    """)),
}
"""How each broken plugin is written, by its plugin name (the kind of its fault)."""


def install_faulty(site: Path, names: list[str] | tuple[str, ...]) -> None:
    """Write the healthy fixture plugin and the broken plugins ``names`` into ``site``."""
    make_healthy(site)
    for name in names:
        FAULTY[name](site, name)
