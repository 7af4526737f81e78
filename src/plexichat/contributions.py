"""Typed values plugins return from hooks, and the host's records of what they added."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BackgroundTask",
    "BackupHandler",
    "DocsSpec",
    "EventHandler",
    "HealthCheck",
    "HealthReport",
    "MiddlewareSpec",
    "RouterSpec",
    "SecurityPolicy",
    "SelfTestResult",
    "ServiceSpec",
    "UIPageSpec",
    "normalize_routers",
]


@dataclass(frozen=True)
class RouterSpec:
    """A router a plugin contributes, mounted under ``prefix``."""

    router: Any
    """A :class:`fastapi.APIRouter`."""
    prefix: str = ""


@dataclass(frozen=True)
class MiddlewareSpec:
    """A request middleware for one layer: ``web`` (pages), ``api`` (``/api/``) or ``cli``.

    ``middleware(request, call_next)`` may be sync or async and may return
    ``call_next(request)`` without awaiting it (the host awaits what needs awaiting).
    For the ``cli`` layer it is ``middleware(command_name, call_next)``.
    """

    layer: str
    middleware: Callable[..., Any]
    name: str = ""


@dataclass(frozen=True)
class SecurityPolicy:
    """A named security policy; ``check(subject, action)`` returns True to allow."""

    name: str
    check: Callable[..., Any]
    description: str = ""


@dataclass(frozen=True)
class EventHandler:
    """A handler of one named event, run before (``pre``) or after (``post``) it."""

    event: str
    handler: Callable[..., Any]
    phase: str = "post"


@dataclass(frozen=True)
class HealthCheck:
    """A health probe: ``check()`` returns bool or a mapping with a ``healthy`` key.

    ``kind`` is ``readiness`` (rolled up into ``/api/v1/health/ready``) or ``liveness``.
    """

    name: str
    check: Callable[..., Any]
    kind: str = "readiness"


@dataclass
class HealthReport:
    """One plugin's health: overall flag plus each check's outcome."""

    healthy: bool
    checks: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BackupHandler:
    """Backs up and restores a plugin's own data.

    ``backup()`` returns JSON-serialisable data (or bytes); ``restore(data)`` receives
    exactly what ``backup()`` returned. Either may be async.
    """

    name: str
    backup: Callable[..., Any]
    restore: Callable[..., Any] | None = None


@dataclass(frozen=True)
class BackgroundTask:
    """A long-running coroutine function the host supervises.

    ``func()`` (or ``func(context)``) runs until cancelled. With ``interval`` set,
    ``func`` is a single step called every ``interval`` seconds instead.
    """

    name: str
    func: Callable[..., Any]
    interval: float | None = None


@dataclass(frozen=True)
class UIPageSpec:
    """A page of the web UI served from a plugin's package data."""

    name: str
    title: str
    path: str
    """Directory of the page, relative to the plugin's package (e.g. ``ui/dashboard``)."""
    description: str = ""


@dataclass(frozen=True)
class DocsSpec:
    """A folder of Markdown / HTML documentation a plugin ships."""

    directory: Path
    title: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    """A service a plugin provides to the host (e.g. ``ai`` by an ``ai_node`` plugin)."""

    name: str
    provider: Any


@dataclass
class SelfTestResult:
    """The outcome of a plugin's self-test."""

    passed: bool
    tests: list[str] = field(default_factory=list)
    message: str = ""


def normalize_routers(value: Any) -> list[RouterSpec]:
    """Accept every shape ``register_routers`` may return; raise TypeError otherwise."""
    from fastapi import APIRouter

    if value is None:
        return []
    if isinstance(value, RouterSpec):
        return [value]
    if isinstance(value, APIRouter):
        return [RouterSpec(value)]
    if isinstance(value, Mapping):
        specs = []
        for prefix, router in value.items():
            if not isinstance(router, APIRouter):
                raise TypeError(f"router for prefix {prefix!r} is {type(router).__name__}, "
                                "not fastapi.APIRouter")
            specs.append(RouterSpec(router, prefix=str(prefix)))
        return specs
    if isinstance(value, (list, tuple)):
        out: list[RouterSpec] = []
        for item in value:
            out.extend(normalize_routers(item))
        return out
    raise TypeError(
        f"register_routers returned {type(value).__name__}; expected an APIRouter, a "
        "RouterSpec, a list of them or a {prefix: router} mapping"
    )
