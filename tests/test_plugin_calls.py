"""Calling plugin code: plexichat.kernel.calls, and where the dispatcher runs plain
implementations (probation in a worker thread, then inline) and chains of filters.

No test depends on how fast the machine is: the thresholds of the probation are set
by the tests where a test needs a call to count as quick or as slow.
"""

from __future__ import annotations

import asyncio
import threading

import pluggy
import pytest

from plexichat.kernel import chain
from plexichat.kernel.calls import HookTimeout, PluginCalls, run_plugin_code
from plexichat.kernel.dispatch import Dispatcher, ImplementationFailed
from plexichat.kernel.threads import PluginExit
from plexichat.markers import PROJECT_NAME, blocking, hookimpl, hookspec


def run(coro):
    return asyncio.run(coro)


class Recorder:
    """The callbacks a PluginCalls is bound to, remembering what they were told."""

    def __init__(self):
        self.counted = []
        self.noted = []

    def calls(self):
        return PluginCalls(record=lambda p, w, e: self.counted.append((p, w, type(e).__name__)),
                           note=lambda p, w, e: self.noted.append((p, w, type(e).__name__)))


# --- PluginCalls ------------------------------------------------------------------------


def test_a_plain_function_a_coroutine_and_a_returned_awaitable_all_give_their_value():
    async def coroutine(x):
        await asyncio.sleep(0)
        return x + 1

    calls = Recorder().calls()

    async def main():
        return (await calls("p", "w", lambda x: x * 2, 4),
                await calls("p", "w", coroutine, 4),
                await calls("p", "w", lambda x: coroutine(x), 9))

    assert run(main()) == (8, 5, 10)


def test_a_failure_is_blamed_on_the_plugin_counted_and_raised():
    recorder = Recorder()

    async def main():
        with pytest.raises(ValueError):
            await recorder.calls()("ada", "health:db", lambda: int("x"))

    run(main())
    assert recorder.counted == [("ada", "health:db", "ValueError")]
    assert recorder.noted == []


def test_count_false_records_without_counting():
    recorder = Recorder()

    async def main():
        with pytest.raises(RuntimeError):
            await recorder.calls()("ada", "settings", _raise, count=False)

    run(main())
    assert (recorder.counted, recorder.noted) == ([], [("ada", "settings", "RuntimeError")])


def _raise():
    raise RuntimeError("no")


def test_an_excused_exception_is_raised_without_blame():
    recorder = Recorder()

    async def main():
        with pytest.raises(KeyError):
            await recorder.calls()("ada", "event:x", lambda: {}["k"],
                                   excuse=lambda exc: isinstance(exc, KeyError))

    run(main())
    assert recorder.counted == []


def test_a_coroutine_past_its_deadline_raises_hook_timeout_and_is_counted():
    recorder = Recorder()

    async def main():
        with pytest.raises(HookTimeout, match="did not finish within 0.05 s"):
            await recorder.calls()("ada", "slash:hang", asyncio.sleep, 30, timeout=0.05)

    run(main())
    assert recorder.counted == [("ada", "slash:hang", "HookTimeout")]


def test_in_thread_keeps_a_blocking_function_off_the_event_loop():
    released = threading.Event()

    async def main():
        async def release_soon():
            await asyncio.sleep(0.01)
            released.set()

        releaser = asyncio.create_task(release_soon())
        waited = await run_plugin_code(released.wait, 3, in_thread=True)
        await releaser
        return waited

    assert run(main()) is True


def test_a_blocking_function_in_a_thread_is_cut_off_at_its_deadline():
    never = threading.Event()

    async def main():
        with pytest.raises(HookTimeout):
            await run_plugin_code(never.wait, 30, in_thread=True, timeout=0.05)

    run(main())
    never.set()


def test_sys_exit_in_plugin_code_becomes_plugin_exit():
    recorder = Recorder()

    async def main():
        with pytest.raises(PluginExit):
            await recorder.calls()("ada", "task:t", lambda: exit(3))

    run(main())
    assert recorder.counted == [("ada", "task:t", "PluginExit")]


def test_call_inline_finishes_a_returned_coroutine_in_the_background_and_blames_it():
    recorder = Recorder()

    async def failing():
        raise RuntimeError("late")

    async def main():
        assert recorder.calls().call_inline("ada", "analytics", failing) is None
        for _ in range(5):
            await asyncio.sleep(0)

    run(main())
    assert recorder.counted == [("ada", "analytics", "RuntimeError")]


def test_without_callbacks_a_failure_is_logged_with_the_plugin(caplog):
    async def main():
        with pytest.raises(RuntimeError):
            await PluginCalls()("ada", "middleware", _raise)

    run(main())
    assert any(r.plugin == "ada" and r.exc_info for r in caplog.records)


# --- probation --------------------------------------------------------------------------


class Spec:
    @hookspec
    def on_message(self, message, context):
        """A filter-shaped hook."""


def register(pm, name, function):
    pm.register(type("P", (), {"on_message": staticmethod(hookimpl(function))})(), name=name)


@pytest.fixture
def pm():
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(Spec)
    return manager


@pytest.fixture
def every_call_is_quick(monkeypatch):
    monkeypatch.setattr(chain, "QUICK_CALL", float("inf"))
    monkeypatch.setattr(chain, "PROBATION_CALLS", 3)


def where_it_ran(threads):
    def on_message(message, context):
        threads.append(threading.current_thread() is threading.main_thread())
    return on_message


def test_a_plain_filter_runs_in_a_thread_until_it_has_proved_quick(pm, every_call_is_quick):
    inline = []
    register(pm, "quick", where_it_ran(inline))
    dispatcher = Dispatcher(pm)

    async def main():
        for _ in range(5):
            await dispatcher.afilter("on_message", "m", arg="message", step=_keep,
                                     context_of=_no_context, timeout=1.0)

    run(main())
    assert inline == [False, False, False, True, True]


def test_acall_with_sync_in_thread_keeps_plain_hooks_in_a_thread(pm, every_call_is_quick):
    inline = []
    register(pm, "quick", where_it_ran(inline))
    dispatcher = Dispatcher(pm)

    async def main():
        for _ in range(5):
            await dispatcher.acall("on_message", sync_in_thread=True, message="m",
                                   context=None)

    run(main())
    assert inline == [False] * 5  # lifecycle hooks: no probation


def test_a_filter_marked_blocking_never_runs_inline(pm, every_call_is_quick):
    inline = []
    register(pm, "slow_io", blocking(where_it_ran(inline)))
    dispatcher = Dispatcher(pm)

    async def main():
        for _ in range(6):
            await dispatcher.afilter("on_message", "m", arg="message", step=_keep,
                                     context_of=_no_context, timeout=1.0)

    run(main())
    assert inline == [False] * 6


def test_an_inline_call_that_holds_the_loop_goes_back_to_a_thread_with_a_warning(
        pm, every_call_is_quick, monkeypatch):
    inline = []
    register(pm, "quick", where_it_ran(inline))
    dispatcher = Dispatcher(pm, fault_budget=1)

    async def main():
        for _ in range(4):
            await dispatcher.afilter("on_message", "m", arg="message", step=_keep,
                                     context_of=_no_context, timeout=1.0)
        monkeypatch.setattr(chain, "INLINE_LIMIT", -1.0)  # every call is too long now
        for _ in range(3):
            await dispatcher.afilter("on_message", "m", arg="message", step=_keep,
                                     context_of=_no_context, timeout=1.0)

    run(main())
    assert inline == [False, False, False, True, True, False, False]
    assert [f.exception_type for f in dispatcher.failures.of("quick")] == ["SlowInlineCall"]
    assert dispatcher.consecutive_failures("quick") == 0  # a warning, not a fault


# --- chains -----------------------------------------------------------------------------


def _keep(plugin, result, value, fail_closed):
    return result


def _no_context(plugin):
    return None


def test_a_chain_passes_each_filter_the_value_the_previous_one_left(pm):
    register(pm, "first", lambda message: message + "1")

    async def second(message, context):
        await asyncio.sleep(0)
        return message + "2"

    register(pm, "second", second)  # registered last: called first
    dispatcher = Dispatcher(pm)
    value = run(dispatcher.afilter("on_message", "m", arg="message", step=_keep,
                                   context_of=_no_context, timeout=1.0))
    assert value == "m21"


def test_a_filter_that_waits_past_its_deadline_fails_alone_and_the_chain_goes_on(pm):
    register(pm, "after", lambda message: message + "!")

    async def hangs(message, context):
        await asyncio.sleep(30)

    register(pm, "hangs", hangs)
    dispatcher = Dispatcher(pm)
    value = run(dispatcher.afilter("on_message", "m", arg="message", step=_keep,
                                   context_of=_no_context, timeout=0.05))
    assert value == "m!"
    [failure] = dispatcher.failures.of("hangs")
    assert failure.error == "HookTimeout: did not finish within 0.05 s"
    assert dispatcher.consecutive_failures("hangs") == 1


def test_filters_that_wait_within_their_deadline_all_count_as_answers(pm):
    async def waits(message, context):
        for _ in range(3):
            await asyncio.sleep(0)
        return message + "w"

    for name in ("one", "two", "three"):
        register(pm, name, waits)
    dispatcher = Dispatcher(pm)
    value = run(dispatcher.afilter("on_message", "m", arg="message", step=_keep,
                                   context_of=_no_context, timeout=10.0))
    assert value == "mwww"
    assert list(dispatcher.failures) == []
    assert dispatcher.stats_for("two")["on_message"]["calls"] == 1


def test_cancelling_the_caller_of_a_waiting_chain_cancels_it(pm):
    async def hangs(message, context):
        await asyncio.sleep(30)

    register(pm, "hangs", hangs)
    dispatcher = Dispatcher(pm)

    async def main():
        task = asyncio.create_task(dispatcher.afilter(
            "on_message", "m", arg="message", step=_keep, context_of=_no_context,
            timeout=10.0))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert list(dispatcher.failures) == []


def test_a_failing_fail_closed_filter_raises_after_being_recorded(pm):
    register(pm, "guard", lambda message: int("x"))
    dispatcher = Dispatcher(pm)
    with pytest.raises(ImplementationFailed) as failed:
        run(dispatcher.afilter("on_message", "m", arg="message", step=_keep,
                               context_of=_no_context, timeout=1.0, fail_closed={"guard"}))
    assert (failed.value.plugin, type(failed.value.error)) == ("guard", ValueError)
    assert dispatcher.stats_for("guard")["on_message"]["failures"] == 1


def test_each_filter_receives_its_plugins_context(pm):
    register(pm, "a", lambda message, context: f"{message}:{context}")
    register(pm, "b", lambda message, context: f"{message}:{context}")
    dispatcher = Dispatcher(pm)
    value = run(dispatcher.afilter("on_message", "m", arg="message", step=_keep,
                                   context_of=str.upper, timeout=1.0))
    assert value == "m:B:A"
