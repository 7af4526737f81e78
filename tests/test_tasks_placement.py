"""Placement of background tasks: singleton tasks run where the lease is held,
per-replica tasks everywhere; the Redis and PostgreSQL leases themselves."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from plexichat.cluster.leases import PostgresLeases, RedisLeases, task_leases
from plexichat.contributions import BackgroundTask
from plexichat.manifest import PluginManifest, TaskDeclaration
from plexichat.tasks import TaskSupervisor


class MemoryLeases:
    """Leases shared by the supervisors of one test, as if they were replicas."""

    def __init__(self, period: float = 0.3) -> None:
        self.period = period
        self.holders: dict[str, object] = {}
        self.refuse_renewal: set[object] = set()

    def lease(self, name: str) -> MemoryLease:
        return MemoryLease(self, name)

    async def close(self) -> None:
        pass


class MemoryLease:
    def __init__(self, leases: MemoryLeases, name: str) -> None:
        self.leases, self.name = leases, name

    async def acquire(self) -> bool:
        if self in self.leases.refuse_renewal:  # this replica cannot reach the leases
            return False
        return self.leases.holders.setdefault(self.name, self) is self

    async def renew(self) -> bool:
        if self in self.leases.refuse_renewal:  # as if it had expired and been taken
            self.leases.holders.pop(self.name, None)
            return False
        return self.leases.holders.get(self.name) is self

    async def release(self) -> None:
        if self.leases.holders.get(self.name) is self:
            del self.leases.holders[self.name]


def _counting(runs: list[str], replica: str, placement: str | None) -> BackgroundTask:
    async def step() -> None:
        runs.append(replica)

    return BackgroundTask("t", step, interval=0.02, placement=placement)


def test_singleton_runs_on_one_supervisor_and_moves_when_the_lease_is_lost():
    async def scenario():
        leases = MemoryLeases()
        runs: list[str] = []
        a, b = TaskSupervisor(leases=leases), TaskSupervisor(leases=leases)
        a.start("p", _counting(runs, "a", "singleton"), {})
        await asyncio.sleep(0.01)
        b.start("p", _counting(runs, "b", "singleton"), {})
        await asyncio.sleep(0.3)
        before = set(runs)
        states = (a.status("p")[0].state, b.status("p")[0].state)
        leases.refuse_renewal.add(leases.holders["task:p:t"])
        runs.clear()
        await asyncio.sleep(0.5)
        after_loss = list(runs)
        await a.stop_all()
        await b.stop_all()
        return before, states, after_loss, leases.holders

    before, states, after_loss, holders = asyncio.run(scenario())
    assert before == {"a"}
    assert states == ("running", "standby")
    assert "b" in after_loss
    assert after_loss[-1] == "b"
    assert holders == {}  # released on stop


def test_per_replica_task_runs_on_every_supervisor():
    async def scenario():
        leases = MemoryLeases()
        runs: list[str] = []
        sups = [TaskSupervisor(leases=leases) for _ in range(3)]
        for name, sup in zip("abc", sups, strict=True):
            sup.start("p", _counting(runs, name, "per_replica"), {})
        await asyncio.sleep(0.1)
        for sup in sups:
            await sup.stop_all()
        return set(runs), leases.holders

    ran, holders = asyncio.run(scenario())
    assert ran == {"a", "b", "c"}
    assert holders == {}


def test_singleton_without_leases_runs_as_in_one_process():
    async def scenario():
        runs: list[str] = []
        sup = TaskSupervisor()
        sup.start("p", _counting(runs, "a", None), {})
        await asyncio.sleep(0.05)
        status = sup.status("p")[0]
        await sup.close()
        return runs, status

    runs, status = asyncio.run(scenario())
    assert runs
    assert status.placement == "singleton"
    assert status.as_dict()["placement"] == "singleton"


def test_an_unknown_placement_is_refused_with_the_choices():
    async def scenario():
        TaskSupervisor().start("p", BackgroundTask("t", lambda: None, placement="everywhere"),
                               {})

    with pytest.raises(ValueError, match="singleton, per_replica"):
        asyncio.run(scenario())


def test_manifest_declares_a_task_with_its_placement():
    manifest = PluginManifest.model_validate({"name": "p", "type": "feature",
                                              "background_tasks": [
        "plain", {"name": "sweep", "placement": "singleton"}]})
    assert manifest.background_tasks == ["plain", TaskDeclaration(name="sweep",
                                                                  placement="singleton")]


def test_no_lease_provider_for_one_process_on_sqlite(tmp_path):
    import sqlalchemy as sa

    assert task_leases(None, sa.create_engine(f"sqlite:///{tmp_path}/x.db"), 10) is None


def _redis_url() -> str:
    url = os.environ.get("PLEXICHAT_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs PLEXICHAT_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    return url


def test_redis_lease_is_exclusive_token_checked_and_expires():
    from plexichat.cluster.connection import connect

    async def scenario():
        one = RedisLeases(connect(_redis_url()), 0.3)
        two = RedisLeases(connect(_redis_url()), 0.3)
        name = f"test:{time.time_ns()}"
        first, second = one.lease(name), two.lease(name)
        steps = [await first.acquire(), await second.acquire()]
        await second.release()  # not its lease: the holder keeps it
        steps += [await second.acquire(), await first.renew()]
        await asyncio.sleep(0.45)  # expired without renewal
        steps += [await first.renew(), await second.acquire()]
        await second.release()
        steps.append(await first.acquire())
        await first.release()
        await one.close()
        await two.close()
        return steps

    assert asyncio.run(scenario()) == [True, False, False, True, False, True, True]


def test_postgres_lease_is_exclusive_and_ends_with_its_connection():
    import sqlalchemy as sa

    url = os.environ.get("PLEXICHAT_TEST_DATABASE_URL")
    if not url:
        pytest.skip("needs PLEXICHAT_TEST_DATABASE_URL")
    one, two = sa.create_engine(url), sa.create_engine(url)

    async def scenario():
        name = f"test:{time.time_ns()}"
        first = PostgresLeases(one, 10).lease(name)
        second = PostgresLeases(two, 10).lease(name)
        steps = [await first.acquire(), await second.acquire(), await first.renew()]
        one.dispose()  # pooled connections closed; the one holding the lock too
        held = first._conn  # type: ignore[attr-defined]
        assert held is not None
        held.invalidate()  # the holder's session ends, as when its process dies
        steps += [await first.renew(), await second.acquire()]
        await second.release()
        await first.release()
        return steps

    try:
        assert asyncio.run(scenario()) == [True, False, True, False, True]
    finally:
        one.dispose()
        two.dispose()


def test_one_process_builds_no_leases_and_never_imports_redis(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from plexichat.config import HostSettings; "
            "from plexichat.host import PluginHost; "
            f"host = PluginHost(HostSettings(data_dir={str(tmp_path)!r}, redis_url=None, "
            "database_url=None)); "
            "print(host.tasks.leases is None, 'redis' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEXICHAT_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60, check=True).stdout.split()
    assert out == ["True", "False"]
