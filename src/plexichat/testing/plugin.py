"""PlexiChat's pytest plugin: fixtures that run plugins in a real, isolated host.

Registered through the ``pytest11`` entry point as ``plexichat``, so every pytest run
in an environment where PlexiChat is installed sees these fixtures. Importing this
module imports nothing but pytest; each fixture imports what it needs when a test asks
for it, so projects that do not use them pay nothing. Turn it off with
``-p no:plexichat``.

Fixtures (all function-scoped, all factories):

``plexichat_app(plugins=None, settings=None, *, database="sqlite", data_dir=None,
admin_token=ADMIN_TOKEN)``
    A FastAPI app (lifespan not started) loading only ``plugins`` (``None``: every
    installed plugin), with its own data directory under ``tmp_path`` and its own
    database: SQLite in that directory, or with ``database="postgresql"`` a fresh
    schema on ``PLEXICHAT_TEST_DATABASE_URL`` (skipped when unset), or a URL.
    ``settings`` (a ``HostSettings`` or a dict of fields) overrides any of that.
    Pass ``data_dir=`` an earlier app's directory to test a restart.

``plexichat_client(app=None, *, admin=False, expect_started=True, timeout=30,
**plexichat_app_options)``
    A :class:`~plexichat.testing.PlexiChatClient` (a FastAPI ``TestClient``) that has
    entered the app's lifespan and waited for ``/api/v1/health/ready``. Raises
    :class:`~plexichat.testing.HostNotReady`, listing every plugin's state and reason,
    when the host is not ready in time or a requested plugin did not start (unless
    ``expect_started=False``). ``admin=True`` sends the admin token on every request.

``plugin_context(name, *, permissions=None, config=None, manifest=None,
services=None, database="sqlite", app=None)``
    A :class:`~plexichat.context.PluginContext` for unit tests of a plugin's functions,
    without a host. See :func:`plexichat.testing.make_plugin_context`.

``plexichat_entry_point(name, *, distribution=None, target=None)``
    The installed ``plexichat.plugins`` entry point ``name`` (an
    ``importlib.metadata.EntryPoint``), looked up as the host looks it up; fails the
    test, with the ``pyproject.toml`` snippet that adds it, when no installed
    distribution (or not ``distribution``) declares it. See
    :func:`plexichat.testing.installed_entry_point`.

``plexichat_plugin_log(name)``
    The list of messages logged on ``plexichat.plugins.<name>`` (INFO and above) while
    the test runs; it grows as the plugin logs.

``plexichat_make_plugin(name, *, code="", manifest=..., **options)``
    Writes a throwaway plugin distribution to a directory put on ``sys.path`` for this
    test; see :func:`plexichat.testing.make_plugin`. Returns the package directory.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["plexichat_app", "plexichat_client", "plexichat_entry_point", "plexichat_make_plugin",
           "plexichat_plugin_log", "plugin_context"]


@pytest.fixture
def plexichat_app(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Factory of PlexiChat apps with chosen plugins, isolated data and database."""
    count = itertools.count(1)
    with contextlib.ExitStack() as stack:

        def factory(
            plugins: Any = None,
            settings: Any = None,
            *,
            database: str = "sqlite",
            data_dir: Path | None = None,
            admin_token: str | None = None,
        ) -> Any:
            from .app import ADMIN_TOKEN, build_app, database_url

            n = next(count)
            if data_dir is None:
                data_dir = tmp_path / ("plexichat" if n == 1 else f"plexichat-{n}")
            data_dir = Path(data_dir)
            data_dir.mkdir(parents=True, exist_ok=True)
            url = stack.enter_context(database_url(database, data_dir))
            app = build_app(data_dir, plugins=plugins, settings=settings, database_url=url,
                            admin_token=admin_token or ADMIN_TOKEN)
            stack.callback(app.state.host.database.dispose)
            return app

        yield factory


@pytest.fixture
def plexichat_client(plexichat_app: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Factory of clients of started PlexiChat apps (lifespan run, host ready)."""
    with contextlib.ExitStack() as stack:

        def factory(
            app: Any = None,
            /,
            *,
            admin: bool = False,
            expect_started: bool = True,
            timeout: float = 30.0,
            **app_options: Any,
        ) -> Any:
            from .client import PlexiChatClient

            if app is None:
                app = plexichat_app(**app_options)
            elif app_options:
                raise TypeError("pass either an app or plexichat_app options "
                                f"({', '.join(sorted(app_options))}), not both")
            client = stack.enter_context(PlexiChatClient(app, admin=admin))
            client.wait_ready(timeout=timeout, expect_started=expect_started)
            return client

        yield factory


@pytest.fixture
def plugin_context(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Factory of PluginContexts for unit tests, without a host."""
    services_by_database: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:

        def factory(
            name: str,
            *,
            permissions: Any = None,
            config: Any = None,
            manifest: Any = None,
            services: Any = None,
            database: str = "sqlite",
            app: Any = None,
        ) -> Any:
            from .app import database_url
            from .context import context_services, make_plugin_context

            data_dir = tmp_path / "plexichat-context"
            data_dir.mkdir(parents=True, exist_ok=True)
            if services is None:
                services = services_by_database.get(database)
            if services is None:
                url = stack.enter_context(database_url(database, data_dir))
                services = services_by_database[database] = context_services(url)
                stack.callback(services.database.dispose)
            return make_plugin_context(name, data_dir=data_dir, services=services,
                                       permissions=permissions, config=config,
                                       manifest=manifest, app=app)

        yield factory


@pytest.fixture
def plexichat_entry_point() -> Callable[..., Any]:
    """Factory: the installed entry point of a plugin, or a failed test saying how to
    declare it."""

    def factory(name: str, *, distribution: str | None = None,
                target: str | None = None) -> Any:
        from .entry_points import EntryPointMissing, installed_entry_point

        try:
            return installed_entry_point(name, distribution=distribution, target=target)
        except EntryPointMissing as exc:
            message = str(exc)
        pytest.fail(message, pytrace=False)  # outside except: no chained traceback

    return factory


@pytest.fixture
def plexichat_plugin_log() -> Iterator[Callable[[str], list[str]]]:
    """Factory: the messages a plugin logs on its context's logger during this test."""
    import logging

    class _Collect(logging.Handler):
        def __init__(self, messages: list[str]) -> None:
            super().__init__(logging.INFO)
            self.messages = messages

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    undo: list[tuple[logging.Logger, logging.Handler, int]] = []

    def factory(name: str) -> list[str]:
        logger = logging.getLogger(f"plexichat.plugins.{name}")
        handler = _Collect([])
        undo.append((logger, handler, logger.level))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        return handler.messages

    yield factory
    for logger, handler, level in reversed(undo):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def plexichat_make_plugin(tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """Factory of throwaway plugin distributions, importable for this test only."""
    site = tmp_path / "plexichat-site"
    site.mkdir(exist_ok=True)
    monkeypatch.syspath_prepend(str(site))
    # Plugins written during the test must be seen by the next discovery at once.
    monkeypatch.setenv("PLEXICHAT_DISCOVERY_INDEX", "0")
    packages: set[str] = set()

    def factory(name: str, **options: Any) -> Path:
        import importlib

        from .dists import make_plugin

        package_dir = make_plugin(site, name, **options)
        packages.add(package_dir.name)
        importlib.invalidate_caches()
        return package_dir

    factory.site = site  # type: ignore[attr-defined]
    yield factory
    for module in [m for m in sys.modules if m.partition(".")[0] in packages]:
        del sys.modules[module]
