"""Seeing the concrete routes behind an app's route table.

FastAPI releases differ in how ``include_router`` records an included router: older
ones copy each route into the parent with the prefix applied; newer ones keep one node
per inclusion (``original_router`` + ``include_context``). :func:`flatten_routes`
reads both, so the host can attribute, compare and list routes on either.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["ConcreteRoute", "flatten_routes"]


@dataclass(frozen=True)
class ConcreteRoute:
    """One servable route: its full path and methods (None: any method, e.g. a mount)."""

    path: str
    methods: frozenset[str] | None
    name: str
    route: Any

    def keys(self) -> list[tuple[str, str]]:
        """``(method, path)`` pairs this route answers; ``*`` stands for any method."""
        if not self.methods:
            return [("*", self.path)]
        return [(m, self.path) for m in sorted(self.methods)]


def flatten_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[ConcreteRoute]:
    """Yield every concrete route under ``routes``, with ``prefix`` applied."""
    for route in routes:
        original = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if original is not None and context is not None:
            inner = prefix + str(getattr(context, "prefix", "") or "")
            yield from flatten_routes(original.routes, inner)
            continue
        path = getattr(route, "path", None)
        if path is None:
            continue
        methods = getattr(route, "methods", None)
        yield ConcreteRoute(
            path=prefix + path,
            methods=frozenset(methods) if methods else None,
            name=str(getattr(route, "name", "") or ""),
            route=route,
        )
