"""WebSocket fan-out across replicas: a message posted through replica 0 delivered to N
clients connected to replicas 1 and 2, next to one replica alone, in the same run.

Three ``plexichat serve`` replicas share a fresh PostgreSQL database and one Redis
(``PLEXICHAT_REDIS_URL``); the chat event goes from replica 0 through the Redis stream
to the other two, which deliver it to their clients (spread evenly over them). The
baseline is one ``plexichat serve`` on another fresh database of the same PostgreSQL,
without Redis, its clients on itself. The clients and the measurement are those of
bench/bench_fanout.py: per delivery the latency from just before the POST to the
client's receipt; per message, messages/s is one over the time from the POST to the
last receipt, deliveries/s N times that. p50/p99 latency and the median rates are
printed for each N (default 100 and 1,000). Nothing is asserted on time.

PostgreSQL and Redis come from the test suite's variables, with its defaults:
``PLEXICHAT_TEST_DATABASE_URL`` (postgresql+psycopg://postgres@127.0.0.1:5432/test; a
database is created per server and dropped after) and ``PLEXICHAT_TEST_REDIS_URL``
(redis://127.0.0.1:6379/15; that database is flushed before and after).

    python bench/bench_fanout_cluster.py [--clients 100 1000] [--messages 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402
from _served import Server, plexichat  # noqa: E402
from bench_fanout import percentile, raise_fd_limit, run  # noqa: E402

DATABASE_URL = os.environ.get("PLEXICHAT_TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PLEXICHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REPLICAS = 3


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new PostgreSQL database next to ``DATABASE_URL``'s; dropped after."""
    import sqlalchemy as sa

    name = f"plx_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(DATABASE_URL).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def flushed_redis() -> Iterator[str]:
    """``REDIS_URL``, its database flushed before and after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@contextlib.contextmanager
def cluster(workdir: Path) -> Iterator[list[Server]]:
    """``REPLICAS`` replicas on one fresh database and Redis, every one ready."""
    with fresh_database() as database, flushed_redis() as redis_url, \
            contextlib.ExitStack() as stack:
        env = {"PLEXICHAT_DATABASE_URL": database, "PLEXICHAT_REDIS_URL": redis_url}
        yield [stack.enter_context(plexichat(workdir / f"replica-{i}", plugins=[], env=env))
               for i in range(REPLICAS)]


@contextlib.contextmanager
def single(workdir: Path) -> Iterator[Server]:
    """One server on a fresh database, without Redis."""
    with fresh_database() as database, plexichat(
            workdir / "single", plugins=[], env={"PLEXICHAT_DATABASE_URL": database}) as server:
        yield server


def _services_or_exit() -> None:
    """Stop with the fix named when PostgreSQL or Redis cannot be reached."""
    import redis
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(DATABASE_URL)
        with engine.connect():
            pass
        engine.dispose()
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).ping()
    except Exception as exc:
        sys.exit(f"bench_fanout_cluster.py needs PostgreSQL and Redis ({exc}): set "
                 "PLEXICHAT_TEST_DATABASE_URL and PLEXICHAT_TEST_REDIS_URL")


def _figures(mode: str, clients: int, latencies: list[float],
             rates: list[float]) -> dict[str, float]:
    p50, p99 = (percentile(latencies, q) * 1e3 for q in (0.5, 0.99))
    deliveries = statistics.median(rates)
    print(f"  {mode:13s} {clients:5d} clients: p50 {p50:8.2f} ms, p99 {p99:8.2f} ms, "
          f"{deliveries / clients:7.1f} messages/s, {deliveries:8.0f} deliveries/s")
    return {f"{mode}_clients_{clients}_p50_ms": round(p50, 2),
            f"{mode}_clients_{clients}_p99_ms": round(p99, 2),
            f"{mode}_clients_{clients}_messages_per_s": round(deliveries / clients, 1),
            f"{mode}_clients_{clients}_deliveries_per_s": round(deliveries)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000],
                        help="connected clients, one run each (100 1000)")
    parser.add_argument("--messages", type=int, default=5, help="messages per run (5)")
    opts = parser.parse_args(argv)
    _services_or_exit()
    raise_fd_limit(max(opts.clients))

    figures: dict[str, float] = {}
    print(f"WebSocket fan-out across {REPLICAS} replicas (posted through replica 0, "
          f"clients on the others) and on one replica; {opts.messages} messages per run")
    with tempfile.TemporaryDirectory() as tmp:
        with cluster(Path(tmp)) as running:
            others = [r.url for r in running[1:]]
            for clients in opts.clients:
                latencies, rates = asyncio.run(run(running[0].url, clients, opts.messages,
                                                   client_urls=others))
                figures.update(_figures("cross_replica", clients, latencies, rates))
        with single(Path(tmp)) as server:
            for clients in opts.clients:
                latencies, rates = asyncio.run(run(server.url, clients, opts.messages))
                figures.update(_figures("one_replica", clients, latencies, rates))
    record("fanout_cluster", figures,
           "none set: cross-replica p50/p99 and rates next to one replica's, for reading",
           None)


if __name__ == "__main__":
    main()
