"""Dispatch benchmark: the path the host runs when a message is posted.

A host is started (every installed plugin loaded except those that filter messages
themselves, so that the filters measured are exactly the bench's own) and 10 filter
plugins are registered into it, each implementing ``message_will_post(message,
context)`` and passing the message on (returning None). Then, with 10 plain-function
filters and again with 10 coroutine filters, four things are timed on the host's event
loop:

(a) **chat post**: ``ChatService.post_message`` — the whole post: filters, database
    write, fan-out, ``message_posted`` hooks. For reading only: it is dominated by the
    database write;
(b) **host filters**: ``ChatService._filter("message_will_post", draft)`` — exactly the
    dispatcher call the chat service makes for one post (one ``Dispatcher.afilter`` over
    the chain, with ``filter_timeout``, each plugin's context, the essential-filter
    check). Plain filters start on probation in a worker thread and run inline once
    they have proved quick (``PROBATION_CALLS`` quick calls): the figure is the steady
    state, and the probation's cost (the first calls after registering, each filter in
    a worker thread) is printed on its own;
(b') **dispatcher alone**: one ``Dispatcher.acall(HOOK, message=draft, context=None)``
    over the 10 filters, plain functions inline (not a path a post takes: the general
    call that collects every result, for comparison);
(c) **pluggy**: ``pm.hook.message_will_post(message=draft, context=None)`` over the same
    10 functions (for coroutine filters pluggy only creates the coroutines, and the
    benchmark awaits them one after another);
(d) **plain loop**: ``for f in filters: f(draft, None)`` — or, for coroutine filters,
    ``for f in filters: await f(draft, None)`` — the floor.

It prints microseconds per post and the ratios host/loop (goal <= 2) and host/pluggy. It
never asserts on time: the figures are for reading. Timings interleave the candidates
and keep the best of several repeats.

    python bench/bench_dispatch.py [--filters 10] [--number 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pluggy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402

from plexichat import hookspecs  # noqa: E402
from plexichat.chat.types import MessageDraft  # noqa: E402
from plexichat.kernel.chain import PROBATION_CALLS  # noqa: E402
from plexichat.kernel.discovery import discover  # noqa: E402
from plexichat.markers import PROJECT_NAME, hookimpl  # noqa: E402
from plexichat.testing.app import build_app, wait_ready  # noqa: E402

HOOK = "message_will_post"
FAST_HASHING = {"password_hash_time_cost": 1, "password_hash_memory_kib": 64}


class BenchError(RuntimeError):
    """The candidates do not do the same work: nothing is timed."""


def make_filters(count: int, coroutines: bool) -> list[Any]:
    """``count`` plugin objects, each with a ``message_will_post`` that passes."""
    plugins = []
    for i in range(count):
        if coroutines:
            async def message_will_post(message: Any, context: Any) -> None:
                return None
        else:
            def message_will_post(message: Any, context: Any) -> None:  # type: ignore[misc]
                return None
        plugins.append(type(f"Filter{i}", (), {
            HOOK: staticmethod(hookimpl(message_will_post))})())
    return plugins


async def best(label: str, run: Callable[[], Awaitable[Any]], number: int,
               timings: dict[str, float]) -> None:
    """Time ``number`` awaited calls of ``run``; keep the best microseconds per call."""
    started = time.perf_counter()
    for _ in range(number):
        await run()
    per_call = (time.perf_counter() - started) / number * 1e6
    timings[label] = min(per_call, timings.get(label, per_call))


async def measure(host: Any, plugins: list[Any], coroutines: bool, opts: argparse.Namespace,
                  ) -> dict[str, float]:
    """Register ``plugins`` as filters in ``host``, time (a)–(d), unregister them."""
    names = [f"bench_filter_{i}" for i in range(len(plugins))]
    for plugin, name in zip(plugins, names, strict=True):
        host.pm.register(plugin, name=name)
    host.dispatcher.invalidate()
    try:
        implementers = host.dispatcher.implementers(HOOK)
        if sorted(implementers) != sorted(names):
            raise BenchError(f"{HOOK} is implemented by {implementers}, not only the bench's "
                     "filters; nothing timed")
        chat = host.services.chat
        author = chat.user_by_name("bench") or await chat.register("bench", "bench-password")
        channel = next((c for c in chat.list_channels() if c.name == "bench"), None)
        if channel is None:
            channel = await chat.create_channel(author, "bench")
        draft = MessageDraft(text="hello", channel_id=channel.id, author=author)
        # the same functions, in the host's call order, for pluggy's manager and the loop
        functions = [getattr(host.pm.get_plugin(name), HOOK) for name in implementers]
        pm = pluggy.PluginManager(PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        for name in reversed(implementers):  # pluggy calls the last registered first
            pm.register(host.pm.get_plugin(name), name=name)
        hook = pm.hook.message_will_post

        async def post() -> Any:
            return await chat.post_message(author, channel.id, "hello")

        async def host_filters() -> Any:
            return await chat._filter(HOOK, draft)

        # the probation: the first calls after registering (plain filters in threads)
        started = time.perf_counter()
        for _ in range(PROBATION_CALLS):
            await host_filters()
        probation = (time.perf_counter() - started) / PROBATION_CALLS * 1e6

        async def dispatcher_alone() -> Any:
            return await host.dispatcher.acall(HOOK, message=draft, context=None)

        if coroutines:
            async def via_pluggy() -> Any:
                results = []
                for coro in hook(message=draft, context=None):
                    value = await coro
                    if value is not None:
                        results.append(value)
                return results

            async def loop() -> Any:
                results = []
                for f in functions:
                    value = await f(draft, None)
                    if value is not None:
                        results.append(value)
                return results
        else:
            async def via_pluggy() -> Any:
                return hook(message=draft, context=None)

            async def loop() -> Any:
                results = []
                for f in functions:
                    value = f(draft, None)
                    if value is not None:
                        results.append(value)
                return results

        # the same order, the same answers, before anything is timed
        if [impl.function for impl in reversed(hook.get_hookimpls())] != functions:
            raise BenchError("pluggy and the host call the filters in different orders")
        answers = ((await host_filters()).text, await via_pluggy(), await loop())
        if answers != ("hello", [], []):
            raise BenchError(f"the host, pluggy and the loop disagree: {answers}")
        calls_before = host.dispatcher.stats_for(names[0]).get(HOOK, {}).get("calls", 0)
        await host_filters()
        if host.dispatcher.stats_for(names[0])[HOOK]["calls"] != calls_before + 1:
            raise BenchError("the host's filters were not counted by the dispatcher")

        timings: dict[str, float] = {}
        candidates = (("post", post, max(opts.number // 10, 20)), ("host", host_filters,
                      opts.number), ("alone", dispatcher_alone, opts.number * 10),
                      ("pluggy", via_pluggy, opts.number * 10),
                      ("loop", loop, opts.number * 10))
        for _, run, number in candidates:  # warm-up
            for _ in range(max(number // 10, 5)):
                await run()
        for _ in range(opts.repeat):
            for label, run, number in candidates:
                await best(label, run, number, timings)
        timings["probation"] = probation
        return timings
    finally:
        for name in names:
            host.pm.unregister(name=name)
        host.dispatcher.invalidate()


def report(kind: str, count: int, t: dict[str, float]) -> None:
    """Print one block of figures."""
    print(f"{count} {kind} filters, message_will_post:")
    print(f"  (a) chat post (post_message, database write included) {t['post']:9.2f} us")
    print(f"  (b) host filters (ChatService._filter -> afilter)      {t['host']:9.2f} us")
    if kind == "sync":
        print(f"      its first {PROBATION_CALLS} calls (probation: each filter in a thread) "
              f"{t['probation']:9.2f} us each")
    print(f"  (b') dispatcher alone: one acall, plain functions inline {t['alone']:7.2f} us")
    print(f"  (c) pluggy pm.hook.message_will_post(...)              {t['pluggy']:9.2f} us")
    print(f"  (d) plain {'await ' if kind == 'async' else ''}loop"
          f"{' ' * (45 - (6 if kind == 'async' else 0))}{t['loop']:9.2f} us")
    print(f"  host/loop   = {t['host'] / t['loop']:6.2f}   (goal <= 2)")
    print(f"  host/pluggy = {t['host'] / t['pluggy']:6.2f}")
    print(f"  dispatcher alone/loop = {t['alone'] / t['loop']:6.2f}")
    print(f"  pluggy/loop = {t['pluggy'] / t['loop']:6.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filters", type=int, default=10, help="filter plugins (10)")
    parser.add_argument("--number", type=int, default=300,
                        help="host-filter calls per repeat (pluggy and the loop: 10x)")
    parser.add_argument("--repeat", type=int, default=5, help="repeats; the best is kept")
    opts = parser.parse_args(argv)

    from fastapi.testclient import TestClient

    installed = [c.name for c in discover()]
    with tempfile.TemporaryDirectory() as tmp:
        # Loaded: every installed plugin but the ones filtering messages themselves.
        loaded = [name for name in installed if name != "moderation"]
        app = build_app(Path(tmp), plugins=loaded or "", settings=FAST_HASHING)
        with TestClient(app) as client:
            wait_ready(client)
            host = client.app.state.host  # type: ignore[attr-defined]
            started = sorted(n for n, r in host.records.items() if r.state.value == "started")
            print(f"python {platform.python_version()} ({sys.implementation.name}), "
                  f"pluggy {pluggy.__version__}")
            print(f"installed plugins: {len(installed)}; started: {', '.join(started)}")
            print(f"best of {opts.repeat} repeats; microseconds per post\n")
            figures: dict[str, float] = {}
            for kind, coroutines in (("sync", False), ("async", True)):
                try:
                    timings = client.portal.call(
                        measure, host, make_filters(opts.filters, coroutines), coroutines,
                        opts)
                except BenchError as exc:
                    sys.exit(f"bench_dispatch: {exc}; nothing timed")
                report(kind, opts.filters, timings)
                print()
                figures.update({f"{kind}_host_us": round(timings["host"], 2),
                                f"{kind}_loop_us": round(timings["loop"], 2),
                                f"{kind}_pluggy_us": round(timings["pluggy"], 2),
                                f"{kind}_host_over_loop": round(
                                    timings["host"] / timings["loop"], 2)})
    worst = max(figures["sync_host_over_loop"], figures["async_host_over_loop"])
    record("dispatch", figures, "host filters / plain loop <= 2", worst <= 2,
           ratio=worst, goal_ratio=2)


if __name__ == "__main__":
    main()
