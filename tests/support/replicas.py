"""Real replicas for cluster tests: several ``plexichat serve`` processes on 127.0.0.1
sharing one fresh PostgreSQL database and one Redis database.

PostgreSQL comes from ``PLEXICHAT_TEST_DATABASE_URL`` and Redis from
``PLEXICHAT_TEST_REDIS_URL`` (``.ci/run`` sets both; without them these tests skip, and a
skip fails under CI, see conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from support.served import Served, serve


def _need(variable: str, example: str) -> str:
    value = os.environ.get(variable)
    if not value:
        pytest.skip(f"cluster tests need {variable} (e.g. {example})")
    return value


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database; dropped afterwards."""
    import sqlalchemy as sa

    base = _need("PLEXICHAT_TEST_DATABASE_URL",
                 "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"plx_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(sa.make_url(base).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def fresh_redis() -> Iterator[str]:
    """The URL of an empty Redis database (flushed before and after)."""
    import redis

    url = _need("PLEXICHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@contextlib.contextmanager
def replicas(count: int, site: Path, workdir: Path, *args: str,
             env: Mapping[str, str] | None = None,
             each_env: Sequence[Mapping[str, str]] | None = None,
             sites: Sequence[Path] | None = None) -> Iterator[list[Served]]:
    """``count`` replicas serving the plugins written into ``site``, each with its own
    data directory under ``workdir``, on one fresh database and one Redis; ready.

    ``each_env[i]`` adds to replica ``i``'s environment (after ``env``), and ``sites[i]``
    replaces ``site`` for replica ``i`` (replicas with different plugins installed)."""
    with fresh_postgres() as database, fresh_redis() as redis_url, \
            contextlib.ExitStack() as stack:
        shared = {"PLEXICHAT_DATABASE_URL": database, "PLEXICHAT_REDIS_URL": redis_url,
                  "PLEXICHAT_ADMIN_TOKEN": "cluster-test-admin-token",
                  # replicas share the key sealing the database's secrets
                  "PLEXICHAT_SECRET_KEY": Fernet.generate_key().decode(), **(env or {})}
        running = []
        for i in range(count):
            home = workdir / f"replica-{i}"
            home.mkdir(parents=True, exist_ok=True)
            own = {**shared, **(each_env[i] if each_env else {})}
            where = sites[i] if sites else site
            running.append(stack.enter_context(serve(where, home, *args, env=own)))
        for replica in running:
            replica.wait_ready()
        yield running
