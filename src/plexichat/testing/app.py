"""Real PlexiChat apps for tests: isolated data, database and admin token."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..kernel.states import PluginState

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..config import HostSettings

__all__ = [
    "ADMIN_TOKEN",
    "BACKENDS",
    "HostNotReady",
    "TEST_DATABASE_ENV",
    "build_app",
    "build_settings",
    "database_url",
    "plugin_states",
    "wait_ready",
]

ADMIN_TOKEN = "plexichat-test-admin-token"
"""The admin token of apps built by :func:`build_app` unless told otherwise."""

BACKENDS = ("sqlite", "postgresql")
"""The database backends :func:`database_url` knows; parametrize over them."""

TEST_DATABASE_ENV = "PLEXICHAT_TEST_DATABASE_URL"
"""The environment variable naming a PostgreSQL server for ``database="postgresql"``."""

FAILED_STATES = frozenset(s.value for s in (PluginState.FAILED, PluginState.QUARANTINED,
                                             PluginState.REJECTED))
"""Values of the states a plugin that did not start ends in."""


class HostNotReady(AssertionError):
    """The host did not become ready in time, or a plugin the test asked for did not
    start. The message lists every plugin with its state and reason."""


@contextlib.contextmanager
def database_url(database: str, data_dir: Path) -> Iterator[str]:
    """Yield the URL of an empty database for one test.

    ``database`` is ``"sqlite"`` (a file in ``data_dir``), ``"postgresql"`` (a schema of
    its own, dropped afterwards, on the server ``PLEXICHAT_TEST_DATABASE_URL`` names;
    the test is skipped when it is unset), or a SQLAlchemy URL used as it is.
    """
    if database == "sqlite":
        yield f"sqlite:///{(Path(data_dir) / 'plexichat.db').resolve()}"
        return
    if database != "postgresql":
        if "://" not in database:
            raise ValueError(f"database must be 'sqlite', 'postgresql' or a URL, "
                             f"not {database!r}")
        yield database
        return
    base = os.environ.get(TEST_DATABASE_ENV)
    if not base:
        import pytest

        pytest.skip(f"PostgreSQL tests need {TEST_DATABASE_ENV} "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    import sqlalchemy as sa

    schema = f"plx_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with contextlib.suppress(Exception), admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _plugin_list(plugins: str | Iterable[str] | None) -> str | None:
    if plugins is None:
        return None
    if isinstance(plugins, str):
        return plugins
    return ",".join(plugins)


def build_settings(
    data_dir: Path,
    *,
    plugins: str | Iterable[str] | None = None,
    settings: HostSettings | Mapping[str, Any] | None = None,
    database_url: str | None = None,
    admin_token: str | None = ADMIN_TOKEN,
) -> HostSettings:
    """Host settings for a test: ``data_dir``, the database, only ``plugins`` loaded
    (``None``: every installed plugin), nothing disabled by the environment, and a known
    admin token. ``settings`` (a :class:`~plexichat.config.HostSettings` or a mapping of
    field values) wins over all of these for the fields it sets."""
    from ..config import HostSettings

    values: dict[str, Any] = {
        "data_dir": Path(data_dir),
        "database_url": database_url,
        "load_plugins": _plugin_list(plugins),
        "disable_plugins": "",
        "admin_token": admin_token,
    }
    if isinstance(settings, HostSettings):
        values.update({k: getattr(settings, k) for k in settings.model_fields_set})
    elif settings is not None:
        values.update(settings)
    return HostSettings(**values)


def build_app(data_dir: Path, **kwargs: Any) -> FastAPI:
    """A PlexiChat app from :func:`build_settings` (lifespan not started yet)."""
    from ..web import create_app

    return create_app(build_settings(data_dir, **kwargs))


def requested_plugins(app: Any) -> list[str] | None:
    """The plugins an app was told to load, or None when it loads every installed one."""
    load = app.state.settings.load_plugins
    if load is None:
        return None
    return [name.strip() for name in load.split(",") if name.strip()]


def plugin_states(app: Any) -> str:
    """Every plugin of a running app as ``name: state (reason)`` lines."""
    records = getattr(app.state.host, "records", {})
    if not records:
        return "  (no plugin found: is the plugin installed in this environment?)"
    lines = []
    for name in sorted(records):
        record = records[name]
        state = getattr(record.state, "value", record.state)
        reason = f" — {record.reason}" if record.reason else ""
        lines.append(f"  {name}: {state}{reason}")
    return "\n".join(lines)


def last_tracebacks(app: Any, plugins: list[str]) -> str:
    """The traceback of each plugin's last failure, as lines to add to a message."""
    failures = getattr(app.state.host.dispatcher, "failures", None)
    parts = []
    for name in sorted(plugins):
        kept = failures.of(name) if failures is not None else []
        if kept:
            last = kept[-1]
            parts.append(f"\n{name}: last failure, in {last.hook}:\n{last.traceback.rstrip()}")
    return "".join(parts)


def wait_ready(client: Any, *, timeout: float = 30.0, expect_started: bool = True) -> None:
    """Poll ``/api/v1/health/ready`` until it answers 200; then, with
    ``expect_started``, check that every plugin the app was asked to load has
    ``started`` (or, when it loads every installed plugin, that none failed).

    Raises :class:`HostNotReady` listing every plugin's state and reason.
    """
    app = client.app
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/api/v1/health/ready")
        if response.status_code == 200:
            break
        if time.monotonic() >= deadline:
            try:
                detail = response.json().get("detail") or response.json().get("status")
            except ValueError:
                detail = response.text
            raise HostNotReady(
                f"PlexiChat was not ready after {timeout:g}s "
                f"(HTTP {response.status_code}: {detail}); plugins:\n{plugin_states(app)}")
        time.sleep(0.01)
    if not expect_started:
        return
    records = app.state.host.records
    wanted = requested_plugins(app)
    if wanted is None:
        bad = [n for n, r in records.items()
               if r.state in (PluginState.FAILED, PluginState.QUARANTINED)]
    else:
        bad = [n for n in wanted
               if n not in records or records[n].state is not PluginState.STARTED]
    if bad:
        missing = [n for n in bad if n not in records]
        hint = _not_installed_hint(missing) if missing else ""
        raise HostNotReady(
            f"plugin(s) {', '.join(sorted(bad))} did not start; plugins:\n"
            f"{plugin_states(app)}{hint}\n"
            "(pass expect_started=False to test a plugin that should fail)"
            f"{last_tracebacks(app, bad)}")


def _not_installed_hint(missing: list[str]) -> str:
    from ..kernel.discovery import ENTRY_POINT_GROUP
    from .entry_points import INSTALL_COMMAND, entry_point_snippet

    snippets = "\n".join(entry_point_snippet(n, "<your package>") for n in missing)
    return (f"\nnot installed: {', '.join(missing)}: no installed distribution declares "
            f"it in the {ENTRY_POINT_GROUP!r} entry-point group. The plugin's pyproject.toml "
            f"needs\n{snippets}\nand the project installed ({INSTALL_COMMAND}); or make a "
            "throwaway plugin with the plexichat_make_plugin fixture")
