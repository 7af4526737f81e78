"""What plugins return from hooks, turned into the typed contributions the host files.

Each hookspec declares a typed result (:mod:`plexichat.contributions`). The plugin
guide also accepts older shapes — ``{event: handler}`` mappings, ``{"web": [fn]}``,
bare callables, folder paths, dicts instead of dataclasses — and this module is the
one place where they are converted: one function per hook, taking the plugin's name
and what its implementation returned, giving the typed list (or value). Anything else
raises :class:`ContributionError`, which names the plugin, the hook and the shapes
the hook accepts. Consumers never look at raw hook results.

Checks of *values* (a middleware layer the host does not have, a table named outside
the plugin's prefix, a name already taken) belong to the service that files the
contribution, not here.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .contributions import (
    AnalyticsHook,
    BackgroundTask,
    BackupHandler,
    DocsSpec,
    EventHandler,
    HealthCheck,
    MiddlewareSpec,
    RouterSpec,
    SecurityPolicy,
    SelfTestResult,
    ServiceSpec,
    UIPageSpec,
)

if TYPE_CHECKING:
    import click

    from .chat import SlashCommand

__all__ = [
    "ContributionError",
    "analytics_hooks",
    "background_tasks",
    "backup_handlers",
    "commands",
    "db_models",
    "docs",
    "event_handlers",
    "health_checks",
    "health_outcome",
    "logging_handlers",
    "middleware",
    "routers",
    "security_policies",
    "self_test",
    "services",
    "slash_commands",
    "task_name",
    "ui_pages",
]

T = TypeVar("T")


class ContributionError(TypeError):
    """A hook returned something that is none of the shapes it accepts."""

    def __init__(self, plugin: str, hook: str, expected: str, returned: Any,
                 item: Any = None) -> None:
        self.plugin = plugin
        """The plugin whose implementation returned it."""
        self.hook = hook
        """The hook's name."""
        self.expected = expected
        """The shapes the hook accepts, in words."""
        got = type(returned).__name__
        if item is not None and item is not returned:
            got = f"a {got} holding {type(item).__name__}"
        super().__init__(f"plugin {plugin!r}: {hook} returned {got}; expected {expected}")


def _items(value: Any, *, mapping_is_one: bool) -> list[Any]:
    """One implementation's result as a list of items: a list or tuple is its items;
    a mapping is one item when the hook accepts mappings, else its values."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, Mapping) and not mapping_is_one:
        return list(value.values())
    return [value]


def _convert(plugin: str, hook: str, value: Any, expected: str,
             convert: Callable[[Any], list[T] | None], *,
             mapping_is_one: bool = True) -> list[T]:
    out: list[T] = []
    for item in _items(value, mapping_is_one=mapping_is_one):
        converted = convert(item)
        if converted is None:
            raise ContributionError(plugin, hook, expected, value, item)
        out.extend(converted)
    return out


def _named_callables(item: Any, typed: type[T], make: Callable[[str, Any], T]) -> list[T] | None:
    """``typed`` itself, or a ``{name: callable}`` mapping made into ``typed``."""
    if isinstance(item, typed):
        return [item]
    if isinstance(item, Mapping) and all(callable(v) for v in item.values()):
        return [make(str(k), v) for k, v in item.items()]
    return None


# --- the register_* hooks the wiring files ---------------------------------------------


def db_models(plugin: str, value: Any) -> list[Any]:
    """``register_db_models``: tables (created), or any model/DAO objects (recorded)."""
    return _items(value, mapping_is_one=False)


def services(plugin: str, value: Any) -> list[ServiceSpec]:
    """``register_services``: ServiceSpec, or ``{name: provider}``."""
    def one(item: Any) -> list[ServiceSpec] | None:
        if isinstance(item, ServiceSpec):
            return [item]
        if isinstance(item, Mapping):
            return [ServiceSpec(str(k), v) for k, v in item.items()]
        return None

    return _convert(plugin, "register_services", value,
                    "ServiceSpec, a list of them or {name: provider}", one)


def middleware(plugin: str, value: Any) -> list[MiddlewareSpec]:
    """``register_middleware``: MiddlewareSpec, or the guide's ``{"web": [fn], ...}``."""
    def one(item: Any) -> list[MiddlewareSpec] | None:
        if isinstance(item, MiddlewareSpec):
            return [item]
        if isinstance(item, Mapping):
            specs = [MiddlewareSpec(str(layer), fn) for layer, fns in item.items()
                     for fn in (fns if isinstance(fns, (list, tuple)) else [fns])]
            return specs if all(callable(s.middleware) for s in specs) else None
        return None

    return _convert(plugin, "register_middleware", value,
                    "MiddlewareSpec, a list of them or {layer: [middleware]}", one)


def event_handlers(plugin: str, value: Any) -> list[EventHandler]:
    """``register_event_handlers``: EventHandler, or ``{event: handler}``."""
    return _convert(plugin, "register_event_handlers", value,
                    "EventHandler, a list of them or {event: handler}",
                    lambda item: _named_callables(item, EventHandler, EventHandler))


def security_policies(plugin: str, value: Any) -> list[SecurityPolicy]:
    """``register_security_policies``: SecurityPolicy, or ``{name: check}``."""
    return _convert(plugin, "register_security_policies", value,
                    "SecurityPolicy, a list of them or {name: check}",
                    lambda item: _named_callables(item, SecurityPolicy, SecurityPolicy))


def health_checks(plugin: str, value: Any) -> list[HealthCheck]:
    """``register_health_checks``: HealthCheck, or ``{name: check}``."""
    return _convert(plugin, "register_health_checks", value,
                    "HealthCheck, a list of them or {name: check}",
                    lambda item: _named_callables(item, HealthCheck, HealthCheck))


def backup_handlers(plugin: str, value: Any) -> list[BackupHandler]:
    """``register_backup_handlers``: BackupHandler, or the guide's
    ``{"backup": fn, "restore": fn}`` (named after the plugin)."""
    def one(item: Any) -> list[BackupHandler] | None:
        if isinstance(item, BackupHandler):
            return [item]
        if isinstance(item, Mapping) and callable(item.get("backup")):
            return [BackupHandler(plugin, item["backup"], item.get("restore"))]
        return None

    return _convert(plugin, "register_backup_handlers", value,
                    'BackupHandler, a list of them or {"backup": fn, "restore": fn}', one)


def logging_handlers(plugin: str, value: Any) -> list[logging.Handler]:
    """``register_logging_handlers``: logging.Handler, or ``{name: handler}``."""
    def one(item: Any) -> list[logging.Handler] | None:
        handlers = list(item.values()) if isinstance(item, Mapping) else [item]
        return handlers if all(isinstance(h, logging.Handler) for h in handlers) else None

    return _convert(plugin, "register_logging_handlers", value,
                    "logging.Handler, a list of them or {name: handler}", one)


def analytics_hooks(plugin: str, value: Any) -> list[AnalyticsHook]:
    """``register_analytics_hooks``: AnalyticsHook, or ``{event: fn}``."""
    return _convert(plugin, "register_analytics_hooks", value,
                    "AnalyticsHook, a list of them or {event: fn(event, properties)}",
                    lambda item: _named_callables(item, AnalyticsHook, AnalyticsHook))


def task_name(func: Callable[..., Any]) -> str:
    """The name of a task a plugin gave as a bare callable: its function's name.

    ``deliver`` for a function defined inside ``register_background_tasks`` (not
    ``register_background_tasks.<locals>.deliver``), for a bound method ``deliver`` of
    its class, the wrapped function's for a :func:`functools.partial`.
    """
    target = func
    while isinstance(target, functools.partial):
        target = target.func
    name = getattr(target, "__name__", None)
    return name if isinstance(name, str) and name else type(func).__name__


def background_tasks(plugin: str, value: Any) -> list[BackgroundTask]:
    """``register_background_tasks``: BackgroundTask, or a bare (coroutine) function."""
    def one(item: Any) -> list[BackgroundTask] | None:
        if isinstance(item, BackgroundTask):
            return [item]
        if callable(item):
            return [BackgroundTask(task_name(item), item)]
        return None

    return _convert(plugin, "register_background_tasks", value,
                    "BackgroundTask, a coroutine function or a list of them", one,
                    mapping_is_one=False)


def slash_commands(plugin: str, value: Any) -> list[SlashCommand]:
    """``register_slash_commands``: SlashCommand or a list of them."""
    from .chat import SlashCommand

    return _convert(plugin, "register_slash_commands", value,
                    "SlashCommand or a list of them",
                    lambda item: [item] if isinstance(item, SlashCommand) else None,
                    mapping_is_one=False)


# --- hooks other parts of the host consume ----------------------------------------------


def routers(plugin: str, value: Any) -> list[RouterSpec]:
    """``register_routers``: APIRouter, RouterSpec, a list of them or ``{prefix: router}``."""
    from fastapi import APIRouter

    expected = "an APIRouter, a RouterSpec, a list of them or a {prefix: router} mapping"

    def one(item: Any) -> list[RouterSpec] | None:
        if isinstance(item, RouterSpec):
            return [item]
        if isinstance(item, APIRouter):
            return [RouterSpec(item)]
        if isinstance(item, Mapping) and all(isinstance(r, APIRouter) for r in item.values()):
            return [RouterSpec(router, prefix=str(prefix)) for prefix, router in item.items()]
        if isinstance(item, (list, tuple)):
            return routers(plugin, list(item))
        return None

    return _convert(plugin, "register_routers", value, expected, one)


def commands(plugin: str, value: Any) -> list[click.Command]:
    """``register_commands``: a click command or a list of them (from a plain function:
    the CLI has no event loop to run a coroutine)."""
    import click

    if inspect.iscoroutine(value):
        value.close()
        raise ContributionError(plugin, "register_commands", "click commands from a plain "
                                "function, not async", value)
    return _convert(plugin, "register_commands", value, "a click command or a list of them",
                    lambda item: [item] if isinstance(item, click.Command) else None,
                    mapping_is_one=False)


def ui_pages(plugin: str, value: Any) -> list[UIPageSpec]:
    """``register_ui_pages``: UIPageSpec, or ``{"name", "path", "title"?, "description"?}``."""
    def one(item: Any) -> list[UIPageSpec] | None:
        if isinstance(item, UIPageSpec):
            return [item]
        if isinstance(item, Mapping) and "name" in item and "path" in item:
            return [UIPageSpec(name=str(item["name"]), title=str(item.get("title") or
                                                                  item["name"]),
                               path=str(item["path"]),
                               description=str(item.get("description", "")))]
        return None

    return _convert(plugin, "register_ui_pages", value,
                    'UIPageSpec, a list of them or {"name": ..., "path": ...}', one)


def docs(plugin: str, value: Any) -> list[DocsSpec]:
    """``register_docs``: DocsSpec, or a folder path (str or path-like)."""
    def one(item: Any) -> list[DocsSpec] | None:
        if isinstance(item, DocsSpec):
            return [item]
        if isinstance(item, (str, os.PathLike)):
            return [DocsSpec(Path(item))]
        return None

    return _convert(plugin, "register_docs", value,
                    "DocsSpec, a folder path or a list of them", one)


def health_outcome(value: Any) -> dict[str, Any]:
    """What one health check (a :class:`~plexichat.contributions.HealthCheck`'s
    ``check()``) returned, as a check entry of a
    :class:`~plexichat.contributions.HealthReport`: a mapping keeps its details with
    ``healthy`` made a bool; anything else is its truth value."""
    if isinstance(value, Mapping):
        return {**value, "healthy": bool(value.get("healthy", False))}
    return {"healthy": bool(value)}


def self_test(plugin: str, value: Any) -> SelfTestResult:
    """``self_test``: SelfTestResult, the guide's ``{"passed", "tests", "message"}``, or a
    truth value."""
    if isinstance(value, SelfTestResult):
        return value
    if isinstance(value, Mapping):
        return SelfTestResult(bool(value.get("passed")),
                              [str(t) for t in value.get("tests", [])],
                              str(value.get("message", "")))
    return SelfTestResult(bool(value), [], "")
