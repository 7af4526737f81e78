"""Typed values plugins return from hooks, and the host's records of what they added."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AnalyticsHook",
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
]


@dataclass(frozen=True)
class RouterSpec:
    """A router a plugin contributes, mounted under ``prefix``."""

    router: Any
    """A :class:`fastapi.APIRouter`."""
    prefix: str = ""
    """Prepended to every path of ``router`` (e.g. ``/api/v1/hello``)."""


@dataclass(frozen=True)
class MiddlewareSpec:
    """A request middleware for one layer: ``web`` (pages), ``api`` (``/api/``) or ``cli``.

    ``middleware(request, call_next)`` may be sync or async and may return
    ``call_next(request)`` without awaiting it (the host awaits what needs awaiting).
    For the ``cli`` layer it is ``middleware(command_name, call_next)``.
    """

    layer: str
    """``web``, ``api`` or ``cli``."""
    middleware: Callable[..., Any]
    """``middleware(request, call_next)`` (``middleware(command_name, call_next)`` for
    ``cli``)."""
    name: str = ""
    """Shown in listings; the function's qualified name when empty."""


@dataclass(frozen=True)
class SecurityPolicy:
    """A named security policy; ``check(subject, action)`` returns True to allow."""

    name: str
    """Unique across plugins: a name another plugin registered is refused."""
    check: Callable[..., Any]
    """``check(subject, action) -> bool``; True allows."""
    description: str = ""
    """What the policy enforces, for operators."""


@dataclass(frozen=True)
class EventHandler:
    """A handler of one named event, run before (``pre``) or after (``post``) it."""

    event: str
    """The event's name (``message.posted``, or one a plugin emits)."""
    handler: Callable[..., Any]
    """Called with the payload keys it names as parameters (all with ``**kwargs``); may
    be async. A ``pre`` handler may raise ``EventRejected`` to stop the event."""
    phase: str = "post"
    """``pre`` (before the event, may reject it) or ``post``."""


@dataclass(frozen=True)
class HealthCheck:
    """A health probe: ``check()`` returns bool or a mapping with a ``healthy`` key.

    ``kind`` is ``readiness`` (rolled up into ``/api/v1/health/ready``) or ``liveness``.
    """

    name: str
    """Unique among the plugin's checks."""
    check: Callable[..., Any]
    """``check()`` -> bool, or a dict with a ``healthy`` key and details. A plain
    function runs in a worker thread, a coroutine function on the event loop; each is
    bounded by the health timeout."""
    kind: str = "readiness"
    """``readiness`` or ``liveness``."""


@dataclass
class HealthReport:
    """One plugin's health: overall flag plus each check's outcome."""

    healthy: bool
    """True when every check passed."""
    checks: dict[str, Any] = field(default_factory=dict)
    """Each check's outcome, by name."""


@dataclass(frozen=True)
class BackupHandler:
    """Backs up and restores a plugin's own data.

    ``backup()`` returns JSON-serialisable data (or bytes); ``restore(data)`` receives
    exactly what ``backup()`` returned. Either may be async.
    """

    name: str
    """Names the handler's entry in the archive (``handlers/<plugin>/<name>``)."""
    backup: Callable[..., Any]
    """``backup()`` -> JSON-serialisable data or bytes; may be async."""
    restore: Callable[..., Any] | None = None
    """``restore(data)`` with what ``backup()`` returned; may be async."""


@dataclass(frozen=True)
class BackgroundTask:
    """A long-running coroutine function the host supervises.

    ``func()`` (or ``func(context)``) runs until cancelled. With ``interval`` set,
    ``func`` is a single step called every ``interval`` seconds instead.

    Import it with ``from plexichat.contributions import BackgroundTask`` and return it
    from the ``register_background_tasks`` hook.
    """

    name: str
    """Shown on the plugin's page and in ``GET /api/v1/plugins/{name}`` (``tasks``)."""
    func: Callable[..., Any]
    """``async def func()`` or ``async def func(context)`` (a plain function works too):
    the task receives the plugin's :class:`~plexichat.context.PluginContext` when it
    has a parameter named ``context``. What it raises is logged and it is restarted
    after a backoff."""
    interval: float | None = None
    """Seconds to sleep between two calls of ``func``; ``None`` (the default) calls it
    once, to run until cancelled."""
    placement: str | None = None
    """Where it runs when several replicas serve one host: ``"singleton"`` (exactly one
    replica runs it, holding a lease that another replica takes over within one lease
    period when its holder dies) or ``"per_replica"`` (every replica runs it). ``None``
    (the default): ``singleton`` in a cluster, and in one process it simply runs."""


@dataclass(frozen=True)
class UIPageSpec:
    """A page of the web UI served from a plugin's package data."""

    name: str
    """The page's URL segment: ``/plugins/<plugin>/ui/<name>/``."""
    title: str
    """The link's text on the plugin's page."""
    path: str
    """Directory of the page, relative to the plugin's package (e.g. ``ui/dashboard``)."""
    description: str = ""
    """A line shown beside the title."""


@dataclass(frozen=True)
class DocsSpec:
    """A folder of Markdown / HTML documentation a plugin ships."""

    directory: Path
    """The folder; its ``*.md`` and ``*.html`` files are shown under ``/docs``."""
    title: str = ""
    """The folder's title in the docs viewer; ``<plugin> (<folder name>)`` when empty."""


@dataclass(frozen=True)
class ServiceSpec:
    """A service a plugin provides to the host (e.g. ``ai`` by an ``ai_node`` plugin)."""

    name: str
    """The service's name: one of the host's (``ai``, ``backup``, ``chat``,
    ``webhooks``, ``security``, ``analytics``), which the provider replaces, or a new
    one other plugins reach with ``context.service(name)``."""
    provider: Any
    """The object handed out for that service."""


@dataclass
class SelfTestResult:
    """The outcome of a plugin's self-test."""

    passed: bool
    """True when every test passed."""
    tests: list[str] = field(default_factory=list)
    """The names of the tests that ran."""
    message: str = ""
    """What failed, or a summary."""


@dataclass(frozen=True)
class AnalyticsHook:
    """A function called for each analytics event named ``event`` (``*`` for all)."""

    event: str
    """The analytics event's name, or ``*`` for every event."""
    func: Callable[..., Any]
    """``func(event, properties)``; what it raises is logged and ignored."""
