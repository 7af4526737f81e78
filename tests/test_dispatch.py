"""The dispatcher: pluggy's order, isolation, attribution, fault budget, timings.

``Dispatcher.acall`` is the one way to call a hook. Plain-function implementations run
inline or, with ``sync_in_thread``, in a worker thread; the tests of plain functions run
against both (the ``call`` fixture).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pluggy
import pytest

from plexichat.kernel import dispatch
from plexichat.kernel.dispatch import Dispatcher, HookFailure, HookResults
from plexichat.markers import PROJECT_NAME, hookimpl, hookspec


class Spec:
    @hookspec
    def on_message(self, message):
        """One argument."""

    @hookspec
    def on_pair(self, message, channel):
        """Two arguments; implementations may take either or both."""

    @hookspec
    def poke(self):
        """No argument."""

    @hookspec
    def on_event(self, event):
        """Implemented by plain functions and coroutines alike (called with acall)."""


def plugin(**hooks):
    """A plugin object whose hooks are the given functions (marked as hookimpls).

    A value may be a function, or ``(function, {"tryfirst": True})`` for options.
    """
    attrs = {}
    for name, value in hooks.items():
        function, options = value if isinstance(value, tuple) else (value, {})
        attrs[name] = staticmethod(hookimpl(**options)(function))
    return type("P", (), attrs)()


def returns(value, **options):
    """An ``on_message`` implementation returning ``value``."""

    def on_message(message):
        return value

    return (on_message, options) if options else on_message


def throw(exc):
    raise exc


def raises(exc):
    """An ``on_message`` implementation raising ``exc``."""
    return lambda message: throw(exc)


@pytest.fixture
def pm():
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(Spec)
    return manager


@pytest.fixture
def quarantined():
    return []


@pytest.fixture
def dispatcher(pm, quarantined):
    return Dispatcher(
        pm, fault_budget=3, on_quarantine=lambda name, reason: quarantined.append((name, reason))
    )


@pytest.fixture(params=["inline", "thread"])
def call(request):
    """``call(dispatcher, hook, **kwargs)``: one ``acall``, plain functions run inline or
    in a worker thread."""
    in_thread = request.param == "thread"

    def call(dispatcher, hook, **kwargs):
        return asyncio.run(dispatcher.acall(hook, sync_in_thread=in_thread, **kwargs))

    return call


def run(coro):
    return asyncio.run(coro)


# --- order ------------------------------------------------------------------------------


def register_mixed_order(pm):
    """Plugins whose order is set by tryfirst/trylast and registration order."""
    pm.register(plugin(on_message=returns("a")), name="a")
    pm.register(plugin(on_message=returns("late", trylast=True)), name="late")
    pm.register(plugin(on_message=returns("b")), name="b")
    pm.register(plugin(on_message=returns("early", tryfirst=True)), name="early")
    pm.register(plugin(on_message=returns("c")), name="c")
    pm.register(plugin(on_message=returns("later", trylast=True)), name="later")


def test_call_order_matches_pluggy(pm, dispatcher, call):
    register_mixed_order(pm)
    expected = pm.hook.on_message(message=None)
    # pluggy's own order: tryfirst, then the others, then trylast; last registered first
    assert expected == ["early", "c", "b", "a", "late", "later"]
    assert call(dispatcher, "on_message", message=None).plugins == expected


def test_acall_order_matches_pluggy(pm, dispatcher):
    register_mixed_order(pm)
    results = run(dispatcher.acall("on_message", message=None))
    assert results.plugins == pm.hook.on_message(message=None)


def test_implementers_lists_plugins_in_call_order(pm, dispatcher):
    register_mixed_order(pm)
    assert dispatcher.implementers("on_message") == pm.hook.on_message(message=None)


# --- results ----------------------------------------------------------------------------


def test_results_are_tagged_with_their_plugin(pm, dispatcher, call):
    pm.register(plugin(on_message=lambda message: f"{message} from x"), name="x")
    pm.register(plugin(on_message=lambda message: f"{message} from y"), name="y")
    results = call(dispatcher, "on_message", message="hi")
    assert isinstance(results, HookResults)
    assert list(results) == [("y", "hi from y"), ("x", "hi from x")]


def test_none_results_are_left_out(pm, dispatcher, call):
    pm.register(plugin(on_message=returns(1)), name="one")
    pm.register(plugin(on_message=returns(None)), name="nothing")
    pm.register(plugin(on_message=returns(2)), name="two")
    assert list(call(dispatcher, "on_message", message=None)) == [("two", 2), ("one", 1)]


def test_each_implementation_gets_the_arguments_it_takes(pm, dispatcher, call):
    pm.register(plugin(on_pair=lambda message: ("m", message)), name="m")
    pm.register(plugin(on_pair=lambda channel: ("c", channel)), name="c")
    pm.register(plugin(on_pair=lambda channel, message: ("cm", channel, message)), name="cm")
    results = call(dispatcher, "on_pair", message="hello", channel="#general")
    assert results.values == [("cm", "#general", "hello"), ("c", "#general"), ("m", "hello")]


def test_hook_without_arguments(pm, dispatcher, call):
    pm.register(plugin(poke=lambda: "poked"), name="p")
    assert list(call(dispatcher, "poke")) == [("p", "poked")]


def test_missing_argument_fails_only_the_plugins_that_take_it(pm, dispatcher, call):
    pm.register(plugin(on_pair=lambda message: "m"), name="m")
    pm.register(plugin(on_pair=lambda channel: "c"), name="c")
    results = call(dispatcher, "on_pair", message="hello")
    assert list(results) == [("m", "m")]
    assert [(f.plugin, f.error) for f in dispatcher.failures] == [("c", "KeyError: 'channel'")]


# --- isolation --------------------------------------------------------------------------


def test_raising_sync_implementation_is_recorded_and_the_others_run(
    pm, dispatcher, call
):
    pm.register(plugin(on_message=returns("first")), name="first")
    pm.register(plugin(on_message=raises(ValueError("boom"))), name="broken")
    pm.register(plugin(on_message=returns("last")), name="last")
    results = call(dispatcher, "on_message", message=None)
    assert results.plugins == ["last", "first"]
    [failure] = dispatcher.failures
    assert isinstance(failure, HookFailure)
    assert (failure.plugin, failure.hook, failure.error) == (
        "broken", "on_message", "ValueError: boom"
    )
    assert "boom" in failure.traceback


def test_raising_sync_implementation_is_recorded_by_acall(pm, dispatcher):
    pm.register(plugin(on_event=lambda event: "ok"), name="ok")
    pm.register(plugin(on_event=lambda event: throw(RuntimeError("sync trouble"))),
                name="broken")
    results = run(dispatcher.acall("on_event", event=None))
    assert list(results) == [("ok", "ok")]
    assert [(f.plugin, f.error) for f in dispatcher.failures] == [
        ("broken", "RuntimeError: sync trouble")
    ]


def test_raising_async_implementation_is_recorded_and_the_others_run(pm, dispatcher):
    async def broken(event):
        await asyncio.sleep(0)
        raise LookupError("async trouble")

    async def fine(event):
        return "fine"

    pm.register(plugin(on_event=fine), name="fine")
    pm.register(plugin(on_event=broken), name="broken")
    pm.register(plugin(on_event=lambda event: "sync"), name="sync")
    results = run(dispatcher.acall("on_event", event=None))
    assert list(results) == [("sync", "sync"), ("fine", "fine")]
    assert [(f.plugin, f.hook, f.error) for f in dispatcher.failures] == [
        ("broken", "on_event", "LookupError: async trouble")
    ]


def test_acall_awaits_implementations_one_after_another(pm, dispatcher):
    trace = []

    def make(name):
        async def on_event(event):
            trace.append(("start", name))
            await asyncio.sleep(0.01)
            trace.append(("end", name))
            return name

        return on_event

    def sync(event):
        trace.append(("start", "sync"))
        trace.append(("end", "sync"))
        return "sync"

    pm.register(plugin(on_event=make("a")), name="a")
    pm.register(plugin(on_event=sync), name="sync")
    pm.register(plugin(on_event=make("b")), name="b")
    results = run(dispatcher.acall("on_event", event=None))
    assert results.values == ["b", "sync", "a"]
    assert trace == [
        ("start", "b"), ("end", "b"),
        ("start", "sync"), ("end", "sync"),
        ("start", "a"), ("end", "a"),
    ]


def test_timeout_turns_a_slow_coroutine_into_a_hook_timeout(pm, dispatcher):
    async def slow(event):
        await asyncio.sleep(30)

    pm.register(plugin(on_event=lambda event: "quick"), name="quick")
    pm.register(plugin(on_event=slow), name="slow")
    started = time.monotonic()
    results = run(dispatcher.acall("on_event", timeout=0.05, event=None))
    assert time.monotonic() - started < 5
    assert list(results) == [("quick", "quick")]
    [failure] = dispatcher.failures
    assert failure.plugin == "slow"
    assert failure.error.startswith("HookTimeout: ")


def test_only_restricts_the_call_to_one_plugin(pm, dispatcher):
    called = []
    for name in ("a", "b", "c"):
        pm.register(plugin(on_event=lambda event, name=name: called.append(name)), name=name)
    run(dispatcher.acall("on_event", only="b", event=None))
    assert called == ["b"]


def test_reraise_raises_after_recording(pm, dispatcher):
    pm.register(plugin(on_event=lambda event: throw(ValueError("startup broke"))),
                name="broken")
    with pytest.raises(ValueError, match="startup broke"):
        run(dispatcher.acall("on_event", reraise=True, event=None))
    assert [f.plugin for f in dispatcher.failures] == ["broken"]
    assert dispatcher.stats_for("broken")["on_event"]["failures"] == 1
    assert dispatcher.consecutive_failures("broken") == 1


def test_sync_in_thread_does_not_block_the_event_loop(pm, dispatcher):
    released = threading.Event()

    def blocking(event):
        # Returns True only if the event loop set the event while this waited.
        return released.wait(timeout=3)

    pm.register(plugin(on_event=blocking), name="blocking")

    async def main():
        async def release_soon():
            await asyncio.sleep(0.01)
            released.set()

        releaser = asyncio.create_task(release_soon())
        results = await dispatcher.acall("on_event", sync_in_thread=True, event=None)
        await releaser
        return results

    assert list(run(main())) == [("blocking", True)]


# --- fault budget -----------------------------------------------------------------------


def test_reaching_the_fault_budget_quarantines_once_with_a_reason(
    pm, dispatcher, quarantined, call
):
    pm.register(plugin(on_message=returns("ok")), name="ok")
    pm.register(plugin(on_message=raises(OSError("disk gone"))), name="broken")
    for _ in range(2):
        call(dispatcher, "on_message", message=None)
    assert quarantined == []
    call(dispatcher, "on_message", message=None)  # the third consecutive failure
    [(name, reason)] = quarantined
    assert name == "broken"
    assert "3 consecutive failures" in reason
    assert "on_message" in reason and "OSError: disk gone" in reason


def test_a_success_resets_the_consecutive_failure_count(
    pm, dispatcher, quarantined, call
):
    outcomes = iter([False, False, True, False, False])

    def flaky(message):
        if not next(outcomes):
            raise RuntimeError("flaky")
        return "ok"

    pm.register(plugin(on_message=flaky), name="flaky")
    for _ in range(3):
        call(dispatcher, "on_message", message=None)
    assert dispatcher.consecutive_failures("flaky") == 0
    for _ in range(2):
        call(dispatcher, "on_message", message=None)
    assert dispatcher.consecutive_failures("flaky") == 2
    assert quarantined == []  # 2 + 2 failures, never 3 in a row


def test_a_success_through_acall_resets_the_count(pm, dispatcher):
    dispatcher.record_failure("p", "on_event", RuntimeError("earlier"))
    pm.register(plugin(on_event=lambda event: "ok"), name="p")
    run(dispatcher.acall("on_event", event=None))
    assert dispatcher.consecutive_failures("p") == 0


def test_record_failure_spends_the_same_budget(pm, dispatcher, quarantined, call):
    pm.register(plugin(on_message=raises(RuntimeError("hook"))), name="p")
    dispatcher.record_failure("p", "middleware", RuntimeError("middleware"))
    dispatcher.record_failure("p", "task:sync", RuntimeError("task"))
    call(dispatcher, "on_message", message=None)
    assert [name for name, _ in quarantined] == ["p"]


def test_forget_resets_the_count(dispatcher):
    dispatcher.record_failure("p", "middleware", RuntimeError("x"))
    dispatcher.forget("p")
    assert dispatcher.consecutive_failures("p") == 0


def test_quarantine_during_a_call_lets_the_rest_of_the_call_run(pm, call):
    """The host's quarantine unregisters the plugin and invalidates the plans mid-call."""
    broken = plugin(on_message=raises(RuntimeError("always")))

    def quarantine(name, reason):
        pm.unregister(broken)
        dispatcher.invalidate()

    dispatcher = Dispatcher(pm, fault_budget=1, on_quarantine=quarantine)
    pm.register(plugin(on_message=returns("a")), name="a")
    pm.register(broken, name="broken")
    pm.register(plugin(on_message=returns("z")), name="z")
    assert call(dispatcher, "on_message", message=None).plugins == ["z", "a"]
    assert call(dispatcher, "on_message", message=None).plugins == ["z", "a"]
    assert dispatcher.stats_for("a")["on_message"]["calls"] == 2
    assert dispatcher.stats_for("broken")["on_message"]["calls"] == 1


# --- statistics -------------------------------------------------------------------------


def test_stats_for_reports_calls_failures_and_seconds_per_hook(pm, dispatcher, call):
    outcomes = iter([True, False, True])

    def sometimes(message):
        if not next(outcomes):
            raise RuntimeError("no")
        return "yes"

    pm.register(plugin(on_message=sometimes, poke=lambda: None), name="p")
    for _ in range(3):
        call(dispatcher, "on_message", message=None)
    call(dispatcher, "poke")
    stats = dispatcher.stats_for("p")
    assert set(stats) == {"on_message", "poke"}
    assert stats["on_message"]["calls"] == 3
    assert stats["on_message"]["failures"] == 1
    assert stats["on_message"]["seconds"] > 0
    assert (stats["poke"]["calls"], stats["poke"]["failures"]) == (1, 0)


def test_time_is_charged_to_the_plugin_that_spent_it(pm, dispatcher):
    # Inline: a worker thread's start-up on a loaded machine would blur the figures.
    def slow(message):
        time.sleep(0.02)

    pm.register(plugin(on_message=returns("fast-before")), name="fast_before")
    pm.register(plugin(on_message=slow), name="slow")
    pm.register(plugin(on_message=returns("fast-after")), name="fast_after")
    for _ in range(3):
        run(dispatcher.acall("on_message", message=None))
    seconds = {p: dispatcher.stats_for(p)["on_message"]["seconds"]
               for p in ("fast_before", "slow", "fast_after")}
    assert seconds["slow"] >= 0.06
    assert seconds["fast_before"] < 0.01
    assert seconds["fast_after"] < 0.01


def test_recording_a_failure_is_not_charged_to_the_next_plugin(pm, dispatcher, call):
    class SlowHandler(logging.Handler):
        def emit(self, record):
            time.sleep(0.05)

    handler = SlowHandler()
    dispatch.log.addHandler(handler)
    try:
        pm.register(plugin(on_message=returns("next")), name="next")
        pm.register(plugin(on_message=raises(RuntimeError("x"))), name="broken")
        call(dispatcher, "on_message", message=None)
    finally:
        dispatch.log.removeHandler(handler)
    assert dispatcher.stats_for("next")["on_message"]["seconds"] < 0.03
    assert dispatcher.stats_for("broken")["on_message"]["seconds"] < 0.03


def test_call_counts_stay_correct_across_invalidate(pm, dispatcher, call):
    pm.register(plugin(on_message=returns(1)), name="old")
    for _ in range(3):
        call(dispatcher, "on_message", message=None)
    pm.register(plugin(on_message=returns(2)), name="new")
    dispatcher.invalidate()  # the plan is retired and rebuilt with "new"
    for _ in range(2):
        call(dispatcher, "on_message", message=None)
    dispatcher.invalidate()
    call(dispatcher, "on_message", message=None)
    assert dispatcher.stats_for("old")["on_message"]["calls"] == 6
    assert dispatcher.stats_for("new")["on_message"]["calls"] == 3


def test_sys_exit_in_a_sync_hook_is_a_plugin_failure_not_the_end(call):
    import pluggy as _pluggy

    from plexichat import hookspecs as _specs
    from plexichat.kernel.dispatch import Dispatcher as _Dispatcher
    from plexichat.markers import hookimpl as _impl

    class Quitter:
        @_impl
        def register_commands(self, context):
            raise SystemExit(3)

    class Fine:
        @_impl
        def register_commands(self, context):
            return "ok"

    pm = _pluggy.PluginManager("plexichat")
    pm.add_hookspecs(_specs)
    pm.register(Fine(), name="fine")
    pm.register(Quitter(), name="quitter")
    d = _Dispatcher(pm)
    for _ in range(3):
        assert list(call(d, "register_commands", context=None)) == [("fine", "ok")]
    assert d.failures[-1].plugin == "quitter"
    assert d.failures[-1].error == "PluginExit: SystemExit: 3"


def test_sys_exit_in_an_async_or_threaded_hook_is_a_plugin_failure():
    import asyncio as _asyncio

    import pluggy as _pluggy

    from plexichat import hookspecs as _specs
    from plexichat.kernel.dispatch import Dispatcher as _Dispatcher
    from plexichat.markers import hookimpl as _impl

    class AsyncQuitter:
        @_impl
        async def startup(self, context):
            raise SystemExit("bye")

    class ThreadQuitter:
        @_impl
        def shutdown(self, context):
            raise SystemExit("bye")

    pm = _pluggy.PluginManager("plexichat")
    pm.add_hookspecs(_specs)
    pm.register(AsyncQuitter(), name="a")
    pm.register(ThreadQuitter(), name="t")
    d = _Dispatcher(pm)

    async def run():
        await d.acall("startup", context=None)
        await d.acall("shutdown", context=None, sync_in_thread=True)

    _asyncio.run(run())
    assert [(f.plugin, f.error) for f in d.failures] == [
        ("a", "PluginExit: SystemExit: bye"), ("t", "PluginExit: SystemExit: bye")]


# --- coroutines: run inline until they suspend ----------------------------------------


def test_deadline_counts_the_work_done_before_the_first_suspension(pm, dispatcher):
    async def busy_then_waits(event):
        time.sleep(0.1)  # blocks longer than the whole deadline before it first waits
        await asyncio.sleep(0)
        return "late"

    pm.register(plugin(on_event=busy_then_waits), name="busy")
    results = run(dispatcher.acall("on_event", timeout=0.05, event=None))
    assert list(results) == []
    [failure] = dispatcher.failures
    assert (failure.plugin, failure.error) == ("busy", "HookTimeout: did not finish within 0.05 s")


def test_a_coroutine_that_suspends_many_times_gets_what_it_was_sent(pm, dispatcher):
    async def chatty(event):
        total = 0
        for i in range(5):
            await asyncio.sleep(0)
            total += await asyncio.sleep(0.001, result=i)
        return total

    pm.register(plugin(on_event=chatty), name="chatty")
    for timeout in (None, 5):
        assert list(run(dispatcher.acall("on_event", timeout=timeout, event=None))) == [
            ("chatty", 10)]


def test_cancelling_the_caller_cancels_a_suspended_implementation(pm, dispatcher):
    seen = []

    async def waits(event):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    pm.register(plugin(on_event=waits), name="waits")

    async def main():
        task = asyncio.create_task(dispatcher.acall("on_event", timeout=60, event=None))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert seen == ["cancelled"]


def test_a_hook_without_implementations_returns_nothing(pm, dispatcher):
    assert run(dispatcher.acall("on_event", event=None)) == []
    pm.register(plugin(on_event=lambda event: "a"), name="a")
    assert run(dispatcher.acall("on_event", only="missing", event=None)) == []
