"""Real replicas for cluster tests: several ``plexichat serve`` processes on 127.0.0.1
sharing one fresh PostgreSQL database and one Redis database.

PostgreSQL comes from ``PLEXICHAT_TEST_DATABASE_URL`` and Redis from
``PLEXICHAT_TEST_REDIS_URL`` (``.ci/run`` sets both; without them these tests skip, and a
skip fails under CI, see conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from support.served import Served, free_port, serve


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


class RedisServer:
    """A ``redis-server`` of a test's own on a free loopback port, without persistence:
    it can be killed and started again on the same port (an empty Redis then)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("this test needs redis-server on PATH")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    assert self.proc.poll() is None, "redis-server exited"
                    assert time.monotonic() < deadline, "redis-server not up in 10 s"
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL it (everything it held is lost) and wait until it is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@contextlib.contextmanager
def own_redis(workdir: Path) -> Iterator[RedisServer]:
    """A started :class:`RedisServer`, killed at the end."""
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@contextlib.contextmanager
def replicas(count: int, site: Path, workdir: Path, *args: str,
             env: Mapping[str, str] | None = None,
             each_env: Sequence[Mapping[str, str]] | None = None,
             sites: Sequence[Path] | None = None,
             redis_url: str | None = None) -> Iterator[list[Served]]:
    """``count`` replicas serving the plugins written into ``site``, each with its own
    data directory under ``workdir``, on one fresh database and one Redis; ready.

    ``each_env[i]`` adds to replica ``i``'s environment (after ``env``), ``sites[i]``
    replaces ``site`` for replica ``i`` (replicas with different plugins installed), and
    ``redis_url`` replaces the test Redis (e.g. an :func:`own_redis`)."""
    with fresh_postgres() as database, \
            (contextlib.nullcontext(redis_url) if redis_url else fresh_redis()) as redis_url, \
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
            replica.wait_ready(within=60)  # several start at once on a loaded machine
        yield running
