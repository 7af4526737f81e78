"""Supervised background tasks: restart with backoff, crash reporting, bounded stop."""

from __future__ import annotations

import asyncio

from plexichat.contributions import BackgroundTask
from plexichat.tasks import TaskSupervisor


def run(coro):
    return asyncio.run(coro)


def test_crashing_task_is_restarted_and_reported():
    crashes = []

    async def scenario():
        sup = TaskSupervisor(on_crash=lambda p, w, e: crashes.append((p, w, str(e))),
                             backoff_base=0.01, backoff_cap=0.02)
        runs = []

        async def flaky():
            runs.append(1)
            if len(runs) < 3:
                raise RuntimeError(f"boom {len(runs)}")
            await asyncio.sleep(10)

        sup.start("p", BackgroundTask("flaky", flaky), {})
        await asyncio.sleep(0.2)
        status = sup.status("p")[0]
        await sup.stop_plugin("p")
        return runs, status

    runs, status = run(scenario())
    assert len(runs) == 3
    assert status.restarts == 2
    assert crashes == [("p", "task:flaky", "boom 1"), ("p", "task:flaky", "boom 2")]


def test_backoff_grows_and_is_capped():
    async def scenario():
        sup = TaskSupervisor(backoff_base=0.05, backoff_cap=0.1)
        times = []

        async def always_fails():
            times.append(asyncio.get_running_loop().time())
            raise ValueError("x")

        sup.start("p", BackgroundTask("f", always_fails), {})
        await asyncio.sleep(0.45)
        await sup.stop_plugin("p")
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    gaps = run(scenario())
    assert gaps[0] >= 0.045
    assert gaps[1] >= 0.095
    assert all(g < 0.5 for g in gaps)


def test_stop_cancels_all_tasks_of_one_plugin_only():
    async def scenario():
        sup = TaskSupervisor()

        async def forever():
            await asyncio.sleep(100)

        sup.start("a", BackgroundTask("one", forever), {})
        sup.start("a", BackgroundTask("two", forever), {})
        sup.start("b", BackgroundTask("three", forever), {})
        await asyncio.sleep(0)
        await sup.stop_plugin("a")
        states = ([s.state for s in sup.status("a")], [s.state for s in sup.status("b")])
        await sup.stop_all()
        return states

    a_states, b_states = run(scenario())
    assert a_states == ["cancelled", "cancelled"]
    assert b_states == ["running"]


def test_interval_task_is_called_repeatedly_with_context():
    async def scenario():
        sup = TaskSupervisor()
        seen = []

        def tick(context):
            seen.append(context)

        sup.start("p", BackgroundTask("tick", tick, interval=0.01), {"context": "ctx"})
        await asyncio.sleep(0.1)
        await sup.stop_plugin("p")
        return seen

    seen = run(scenario())
    assert len(seen) >= 3
    assert set(seen) == {"ctx"}


def test_task_swallowing_cancellation_is_closed_after_the_stop_timeout():
    ended = []

    async def scenario():
        sup = TaskSupervisor(stop_timeout=0.05)

        async def stubborn():
            try:
                while True:
                    try:
                        await asyncio.sleep(10)
                    except asyncio.CancelledError:
                        pass
            finally:
                ended.append(True)

        sup.start("p", BackgroundTask("stubborn", stubborn), {})
        await asyncio.sleep(0.01)
        await sup.stop_plugin("p")
        await asyncio.sleep(0.01)
        return sup.status("p")[0].state

    # asyncio.run waits for every task at exit: a task left running would hang here
    assert run(asyncio.wait_for(scenario(), 5)) == "cancelled"
    assert ended == [True]


def test_task_cancelled_by_its_own_crash_report_reads_cancelled():
    async def scenario():
        sup = TaskSupervisor(backoff_base=10)
        # as when the crash spends the plugin's fault budget and quarantines it
        sup.on_crash = lambda plugin, what, exc: sup.cancel(plugin)

        async def crashes():
            raise RuntimeError("x")

        sup.start("p", BackgroundTask("crashes", crashes), {})
        await asyncio.sleep(0.05)
        return sup.status("p")[0].state

    assert run(scenario()) == "cancelled"


def test_stop_all_ends_a_stubborn_task_cancelled_earlier_without_waiting():
    ended = []

    async def scenario():
        sup = TaskSupervisor(stop_timeout=0.05)

        async def stubborn():
            try:
                while True:
                    try:
                        await asyncio.sleep(10)
                    except asyncio.CancelledError:
                        pass
            finally:
                ended.append(True)

        sup.start("p", BackgroundTask("stubborn", stubborn), {})
        await asyncio.sleep(0.01)
        sup.cancel("p")  # as when its plugin is quarantined
        await sup.stop_all()

    run(asyncio.wait_for(scenario(), 5))
    assert ended == [True]
