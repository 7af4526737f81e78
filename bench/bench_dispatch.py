"""Dispatch benchmark: the host's dispatcher vs. pluggy's own call vs. a plain loop.

One hook with 10 plain-function implementations (registered as 10 plugins) is called
three ways in the same process:

(a) ``Dispatcher.call`` — isolation, attribution, per-plugin counts and time, fault budget;
(b) ``pm.hook.x(...)`` — pluggy's own call;
(c) a plain Python loop over the same 10 functions (the floor).

Each is timed with :mod:`timeit` (several repeats, the minimum is taken) and the script
prints microseconds per call and the ratios dispatcher/pluggy (goal <= 0.5) and
pluggy/loop. It never asserts on time: the figures are for reading.

    python bench/bench_dispatch.py [--impls 10] [--args 1] [--number 20000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import platform
import sys
import timeit

import pluggy

from plexichat.dispatch import Dispatcher
from plexichat.markers import PROJECT_NAME, hookimpl, hookspec

ARGNAMES = ("message", "channel", "user")


def build(n_impls: int, n_args: int):
    """A plugin manager with one hook (``n_args`` arguments) and ``n_impls`` plugins."""
    argnames = ARGNAMES[:n_args]
    params = ", ".join(argnames)
    namespace: dict = {"hookspec": hookspec, "hookimpl": hookimpl}
    exec(  # noqa: S102 - the hook's signature depends on --args
        f"class Spec:\n"
        f"    @hookspec\n"
        f"    def on_message({params}):\n"
        f"        pass\n",
        namespace,
    )
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(namespace["Spec"])
    functions = []
    for i in range(n_impls):
        exec(  # noqa: S102
            f"@hookimpl\n"
            f"def on_message({params}):\n"
            f"    return {i}\n",
            namespace,
        )
        fn = namespace["on_message"]
        plugin = type(f"Plugin{i}", (), {"on_message": staticmethod(fn)})()
        pm.register(plugin, name=f"plugin{i}")
        functions.append(fn)
    # pluggy calls the last registered first; the loop does the same.
    functions.reverse()
    kwargs = {name: object() for name in argnames}
    return pm, functions, kwargs


def measure(stmt, number: int, repeat: int) -> float:
    """Best microseconds per call of ``stmt`` over ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impls", type=int, default=10, help="implementations (10)")
    parser.add_argument("--args", type=int, default=1, choices=range(0, 4),
                        help="arguments of the hook (1)")
    parser.add_argument("--number", type=int, default=20_000, help="calls per repeat")
    parser.add_argument("--repeat", type=int, default=7, help="repeats; the min is taken")
    opts = parser.parse_args(argv)

    pm, functions, kwargs = build(opts.impls, opts.args)
    dispatcher = Dispatcher(pm)
    call = dispatcher.call
    hook = pm.hook.on_message
    args = tuple(kwargs.values())

    def via_dispatcher():
        return call("on_message", **kwargs)

    def via_pluggy():
        return hook(**kwargs)

    def via_loop():
        results = []
        for fn in functions:
            value = fn(*args)
            if value is not None:
                results.append(value)
        return results

    # Same work, same order: the three must agree before they are timed.
    expected = via_pluggy()
    if via_loop() != expected or via_dispatcher().values != expected:
        sys.exit("the dispatcher, pluggy and the loop disagree; nothing timed")
    # Warm-up: the dispatcher specialises a hook's plan after its first calls.
    for _ in range(1000):
        via_dispatcher(), via_pluggy(), via_loop()

    timings = {}
    # Interleave the candidates so that drift of the machine hits all of them.
    for _ in range(opts.repeat):
        for label, stmt in (("dispatcher", via_dispatcher), ("pluggy", via_pluggy),
                            ("loop", via_loop)):
            best = measure(stmt, opts.number, 1)
            timings[label] = min(best, timings.get(label, best))

    d, p, loop = timings["dispatcher"], timings["pluggy"], timings["loop"]
    print(f"python {platform.python_version()} ({sys.implementation.name}), "
          f"pluggy {pluggy.__version__}")
    print(f"{opts.impls} sync implementations, {opts.args} argument(s); "
          f"min of {opts.repeat} x {opts.number} calls")
    print(f"  dispatcher (Dispatcher.call)  {d:8.3f} us/call")
    print(f"  pluggy     (pm.hook.x())      {p:8.3f} us/call")
    print(f"  plain loop                    {loop:8.3f} us/call")
    print(f"dispatcher/pluggy = {d / p:.3f}   (goal <= 0.5)")
    print(f"pluggy/loop       = {p / loop:.2f}")
    print(f"dispatcher/loop   = {d / loop:.2f}")
    stats = dispatcher.stats_for("plugin0")["on_message"]
    print(f"(the dispatcher's own books for plugin0: {stats['calls']} calls, "
          f"{stats['seconds'] * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
