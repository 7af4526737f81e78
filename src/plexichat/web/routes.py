"""Seeing the concrete routes behind an app's route table.

FastAPI releases differ in how ``include_router`` records an included router: older
ones copy each route into the parent with the prefix applied; newer ones keep one node
per inclusion (``original_router`` + ``include_context``). :func:`flatten_routes`
reads both, so the host can attribute, compare and list routes on either.

:func:`skip_by_prefix` makes the router pass over an included router none of whose
routes can match the request's path by its literal text, without asking each route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.routing import Match, Mount, Route, WebSocketRoute
from starlette.types import Scope

__all__ = ["ConcreteRoute", "flatten_routes", "skip_by_prefix"]


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


def skip_by_prefix(entries: Iterable[Any], *, live: bool = False) -> None:
    """Give each included router among ``entries`` a ``matches`` that answers "no match"
    at once for a path none of its routes can match by its literal text.

    A route's path pattern is anchored: a route without parameters matches its path
    exactly, one with parameters only paths beginning with its text up to the first
    ``{``, a mount only paths below it. A path that is none of the exact paths and
    begins with none of those prefixes cannot be matched by any route of the router
    (fully, or by path with another method): the answer is the one the router would
    have given after asking every route. Only for routers whose every route is a plain
    route, websocket route or mount; the path is read as the router reads it, without
    the app's ``root_path``.

    ``live``: the router's routes may still change (a plugin's router): its literal
    paths are read again whenever FastAPI's own change counter of that router moved
    (where the FastAPI release has none, such a router is not skipped).
    """
    for entry in entries:
        original = getattr(entry, "original_router", None)
        matches = getattr(entry, "matches", None)
        if original is None or not callable(matches):
            continue
        if live:
            version = getattr(original, "_get_routes_version", None)
            if callable(version):
                entry.matches = _LiveSkip(entry, matches, version)
            continue
        literal = _literal_paths(entry)
        if literal is not None:
            entry.matches = _skipping(matches, *literal)


def _literal_paths(entry: Any) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """The exact paths and the path prefixes an included router's routes can match
    (None: some route is not matched by its path alone)."""
    if not _plain(entry.original_router.routes):
        return None
    exact: set[str] = set()
    prefixes: set[str] = set()
    for concrete in flatten_routes([entry]):
        if isinstance(concrete.route, Mount):
            prefixes.add(concrete.path.rstrip("/") + "/")
        elif "{" in concrete.path:
            prefixes.add(concrete.path.split("{", 1)[0])
        else:
            exact.add(concrete.path)
    return frozenset(exact), tuple(sorted(prefixes))


def _plain(routes: Iterable[Any]) -> bool:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            if not _plain(inner.routes):
                return False
        elif not isinstance(route, (Route, WebSocketRoute, Mount)):
            return False
    return True


def _skipping(matches: Callable[[Scope], tuple[Match, Scope]], exact: frozenset[str],
              prefixes: tuple[str, ...]) -> Callable[[Scope], tuple[Match, Scope]]:
    def skip_or_match(scope: Scope) -> tuple[Match, Scope]:
        path = _route_path(scope)
        if path in exact or path.startswith(prefixes):
            return matches(scope)
        return Match.NONE, {}
    return skip_or_match


class _LiveSkip:
    """``matches`` of a router whose routes may change: the literal paths are read again
    when the router's change counter moved."""

    __slots__ = ("_entry", "_literal", "_matches", "_seen", "_version")

    def __init__(self, entry: Any, matches: Callable[[Scope], tuple[Match, Scope]],
                 version: Callable[[], int]) -> None:
        self._entry = entry
        self._matches = matches
        self._version = version
        self._seen: int | None = None
        self._literal: tuple[frozenset[str], tuple[str, ...]] | None = None

    def __call__(self, scope: Scope) -> tuple[Match, Scope]:
        version = self._version()
        if version != self._seen:
            self._literal, self._seen = _literal_paths(self._entry), version
        literal = self._literal
        if literal is None:
            return self._matches(scope)
        path = _route_path(scope)
        if path in literal[0] or path.startswith(literal[1]):
            return self._matches(scope)
        return Match.NONE, {}


def _route_path(scope: Scope) -> str:
    """The path routes are matched against: ``path`` less the app's ``root_path``
    (Starlette's rule)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root):] if path[len(root)] == "/" else path
