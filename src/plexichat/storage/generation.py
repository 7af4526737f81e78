"""The generation of the desired plugin state, and compare-and-set on it.

Every write of desired state (enabled/disabled, settings, grants) bumps one counter in
the same transaction, and stamps the plugin it touched with the new count. Replicas
compare the counter with the last one they reconciled to; an operator's change may name
the plugin's generation it was based on, and is refused when another change came first.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from .database import desired_generation
from .upsert import insert_new

__all__ = ["Expectation", "GenerationMismatch", "bump", "current", "expecting",
           "of_plugin", "of_plugins"]

_COUNTER = ""  # the row that counts every change


class GenerationMismatch(Exception):
    """A compare-and-set write found another generation than the one expected."""

    def __init__(self, plugin: str, expected: int, actual: int) -> None:
        self.plugin = plugin
        self.expected = expected
        self.actual = actual
        super().__init__(f"plugin {plugin!r} is at generation {actual}, not {expected}: "
                         "it was changed meanwhile")


@dataclass
class Expectation:
    """The generation a change of :attr:`plugin` was based on; checked once, by the
    first write of the change (later writes of the same change follow from it)."""

    plugin: str
    generation: int
    checked: bool = False


_expected: contextvars.ContextVar[Expectation | None] = contextvars.ContextVar(
    "plexichat_expected_generation", default=None)


@contextlib.contextmanager
def expecting(plugin: str, generation: int | None) -> Iterator[None]:
    """Within this block, the first desired-state write of ``plugin`` happens only if the
    plugin is still at ``generation`` (:class:`GenerationMismatch` otherwise). None
    expects nothing: the last write wins."""
    if generation is None:
        yield
        return
    token = _expected.set(Expectation(plugin, generation))
    try:
        yield
    finally:
        _expected.reset(token)


def bump(conn: sa.Connection, plugin: str) -> int:
    """Count one change of ``plugin`` in the transaction of ``conn``; the new generation.

    The expected generation of an enclosing :func:`expecting` is checked first, under a
    row lock, so two replicas changing one plugin at once cannot both pass.
    """
    insert_new(conn, desired_generation, plugin=plugin, generation=0)
    expectation = _expected.get()
    if expectation is not None and expectation.plugin == plugin and not expectation.checked:
        expectation.checked = True
        actual = _locked(conn, plugin)
        if actual != expectation.generation:
            raise GenerationMismatch(plugin, expectation.generation, actual)
    insert_new(conn, desired_generation, plugin=_COUNTER, generation=0)
    generation = int(conn.execute(
        sa.update(desired_generation)
        .where(desired_generation.c.plugin == _COUNTER)
        .values(generation=desired_generation.c.generation + 1)
        .returning(desired_generation.c.generation)).scalar_one())
    conn.execute(sa.update(desired_generation)
                 .where(desired_generation.c.plugin == plugin)
                 .values(generation=generation))
    return generation


def _locked(conn: sa.Connection, plugin: str) -> int:
    """The generation of ``plugin``, its row locked until the transaction ends."""
    query = sa.select(desired_generation.c.generation).where(
        desired_generation.c.plugin == plugin)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return int(conn.execute(query).scalar_one())


def current(conn: sa.Connection) -> int:
    """The count of every desired-state change so far (0 before the first)."""
    return _value(conn, _COUNTER)


def of_plugin(conn: sa.Connection, plugin: str) -> int:
    """The generation of ``plugin``'s last change (0 if it never changed)."""
    return _value(conn, plugin)


def of_plugins(conn: sa.Connection) -> dict[str, int]:
    """``{plugin: generation}`` of every plugin that changed."""
    rows = conn.execute(sa.select(desired_generation.c.plugin, desired_generation.c.generation)
                        .where(desired_generation.c.plugin != _COUNTER))
    return {plugin: int(generation) for plugin, generation in rows}


def _value(conn: sa.Connection, plugin: str) -> int:
    row = conn.execute(sa.select(desired_generation.c.generation)
                       .where(desired_generation.c.plugin == plugin)).first()
    return 0 if row is None else int(row[0])


ChangeListener = Callable[[int], None]
"""Told the new generation after a desired-state change committed."""
