"""Starting many plugins at once, and how long each step of one plugin's start took.

:func:`start_concurrently` starts every plugin as soon as the plugins it depends on are
done starting, so plugins with no dependency path between them start side by side and a
plugin whose start hangs delays only its dependents. :class:`StartTimings` is what one
plugin's start cost, step by step; :func:`slow_start_warning` words it for the operator
when it took too long.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

__all__ = ["START_PHASES", "StartTimings", "slow_start_warning", "start_concurrently"]

START_PHASES: dict[str, str] = {
    "import": "import",
    "settings": "settings",
    "startup": "startup hook",
    "contribute": "wiring/contributions",
    "routes": "routes",
}
"""The steps of one plugin's start, in order, with the words the operator reads."""


@dataclass
class StartTimings:
    """Seconds each step of one plugin's start took; None for a step never reached."""

    import_seconds: float | None = None
    """Importing the plugin's module (in a worker thread)."""
    settings_seconds: float | None = None
    """Reading and validating its settings."""
    startup_seconds: float | None = None
    """Its ``startup`` hook."""
    contribute_seconds: float | None = None
    """Collecting and filing its contributions (tables, services, tasks …)."""
    routes_seconds: float | None = None
    """Collecting and serving its routes."""
    total_seconds: float | None = None
    """The whole start, from import to started (or failed); None while starting."""

    @contextlib.contextmanager
    def phase(self, phase: str) -> Iterator[None]:
        """Time the step ``phase`` (a key of :data:`START_PHASES`), however it ends."""
        if phase not in START_PHASES:
            raise ValueError(f"unknown start phase {phase!r}")
        began = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, f"{phase}_seconds", time.perf_counter() - began)

    def slowest(self) -> tuple[str, float]:
        """The step that took longest: ``(phase, seconds)``; ``("", 0.0)`` before any."""
        measured = [(p, s) for p in START_PHASES
                    if (s := getattr(self, f"{p}_seconds")) is not None]
        return max(measured, key=lambda item: item[1], default=("", 0.0))

    def as_dict(self) -> dict[str, float | None]:
        """Plain data for the API and CLI (seconds, rounded to the microsecond)."""
        return {k: (round(v, 6) if v is not None else None) for k, v in asdict(self).items()}


def slow_start_warning(timings: StartTimings, threshold: float) -> str:
    """The warning for a start slower than ``threshold`` seconds, naming its slowest step.

    Empty when the start took ``threshold`` or less (or has not finished).
    """
    total = timings.total_seconds
    if total is None or total <= threshold:
        return ""
    phase, seconds = timings.slowest()
    return (f"slow start: {total:.2f} s, most of it in the {START_PHASES.get(phase, phase)} "
            f"step ({seconds:.2f} s); the warning threshold is {threshold:g} s "
            "(PLEXICHAT_SLOW_START_WARNING)")


async def start_concurrently(order: list[str],
                             dependencies: Callable[[str], Iterable[str]],
                             start: Callable[[str], Awaitable[object]]) -> None:
    """Run ``start(name)`` for every name of ``order``, each once its dependencies are done.

    ``order`` is a dependency order (every plugin after those it depends on);
    ``dependencies(name)`` names what ``name`` depends on. A name waits for those of
    its dependencies in ``order`` to finish starting, however that ended (``start``
    itself decides what a dependency that did not start means), and for nothing else:
    names with no dependency path between them start concurrently. ``start`` must not
    raise for a plugin's faults. Returns when every start has finished; cancelling it
    cancels every start still running.
    """
    tasks: dict[str, asyncio.Task[None]] = {}

    async def after(name: str, waits: list[asyncio.Task[None]]) -> None:
        if waits:
            await asyncio.wait(waits)
        await start(name)

    for name in order:  # tasks are created, and so begin, in dependency order
        waits = [tasks[d] for d in dependencies(name) if d in tasks]
        tasks[name] = asyncio.create_task(after(name, waits), name=f"plexichat-start-{name}")
    if not tasks:
        return
    try:
        await asyncio.wait(tasks.values())
    except asyncio.CancelledError:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        raise
    for task in tasks.values():
        task.result()  # a host bug that escaped ``start`` is not swallowed
