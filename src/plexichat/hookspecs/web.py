"""Hooks through which a started plugin contributes to the host: routes, middleware,
policies, commands, tables, events, settings, health, backups, tasks, pages, docs,
services, logging and analytics.

Each declares the typed contribution it returns (:mod:`plexichat.contributions`); the
other shapes its docstring lists are converted by :mod:`plexichat.adapters`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..markers import hookspec

if TYPE_CHECKING:
    import logging

    import click
    import sqlalchemy

    from ..context import PluginContext
    from ..contributions import (
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


# --- web -------------------------------------------------------------------------------


@hookspec
def register_routers(context: PluginContext) -> list[RouterSpec]:
    """Contribute FastAPI routers to the host's web application.

    When: once per plugin, right after its :func:`startup` succeeded.

    Arguments: ``context``, the plugin's own context.

    Return: a :class:`fastapi.APIRouter`, a :class:`plexichat.contributions.RouterSpec`
    (router plus URL prefix), a list of either, or a ``{prefix: router}`` mapping (the
    shape of the guide's ``get_routers``).

    Ordering and conflicts: every route is attributed to the plugin. A route whose
    method and path are already served by the core or by a plugin that started earlier
    is refused and reported on the later plugin (its other routes are kept). A
    plugin's routes disappear when it is disabled or quarantined.

    Example::

        router = APIRouter()

        @router.get("/hello")
        def hello():
            return {"hello": "world"}

        @hookimpl
        def register_routers():
            return RouterSpec(router, prefix="/api/v1/hello")
    """


@hookspec
def register_middleware(context: PluginContext) -> list[MiddlewareSpec]:
    """Contribute request middleware to the ``web``, ``api`` or ``cli`` layer.

    When: once per plugin after :func:`startup`; the host consults the live list on
    every request, so disabling a plugin removes its middleware at once.

    Arguments: ``context``.

    Return: a :class:`~plexichat.contributions.MiddlewareSpec`, a list of them, or the
    guide's ``{"web": [fn, ...], "api": [fn, ...]}`` mapping. A middleware is
    ``fn(request, call_next)``; it may be sync and return ``call_next(request)``
    without awaiting it.

    Ordering: the middleware of a plugin that started earlier runs first, around that of
    plugins started later (a plugin starts after the plugins it depends on; plugins with
    no dependency between them start concurrently, in no fixed order).

    Failure: a middleware that raises is counted against its plugin and the request
    continues without it (the host calls ``call_next`` itself). One that neither
    answers nor calls ``call_next`` within ``PLEXICHAT_MIDDLEWARE_TIMEOUT`` seconds
    (10 by default; the time spent inside ``call_next`` does not count) is cut off,
    counted against its plugin, and the request is answered ``504``.

    Example::

        @hookimpl
        def register_middleware():
            def stamp(request, call_next):
                return call_next(request)
            return [MiddlewareSpec("api", stamp)]
    """


@hookspec
def register_security_policies(context: PluginContext) -> list[SecurityPolicy]:
    """Contribute named security policies (the guide's ``get_security_features``).

    When: once per plugin after :func:`startup`.

    Arguments: ``context``.

    Return: :class:`~plexichat.contributions.SecurityPolicy` items, or a mapping of
    name to callable / object.

    Failure: isolated; a raising implementation contributes nothing.

    Example::

        @hookimpl
        def register_security_policies():
            return [SecurityPolicy("no_guests", lambda user, action: user != "guest")]
    """


@hookspec
def register_commands(context: PluginContext | None) -> list[click.Command]:
    """Contribute click commands or groups to the ``plexichat`` command line.

    When: when the CLI records the plugins' commands (the first run after a plugin is
    installed, upgraded, enabled or disabled: ``plexichat --help`` is then answered from
    that record without importing plugins) and when one of this plugin's commands runs.
    The CLI never starts plugins, so ``context`` may be None there.

    Return: a :class:`click.Command` / :class:`click.Group`, or a list of them. A name
    already used by the core or an earlier plugin is refused.

    Example::

        @hookimpl
        def register_commands():
            @click.command("hello")
            def hello():
                click.echo("hi")
            return hello
    """


@hookspec
def register_db_models(context: PluginContext) -> list[sqlalchemy.Table]:
    """Contribute database tables (the guide's ``get_db_extensions``).

    When: when the plugin is enabled, before its routers are served; the tables are
    created in the host database if missing.

    Return: :class:`sqlalchemy.Table` objects (or a list of them). Table names must
    start with the plugin's name and an underscore (``notes_entries`` for plugin
    ``notes``); ``context.db.table("entries", ...)`` builds such a table for you.
    Other values (the guide's DAOs and adapters) are listed but not created.

    Failure: a table whose name is not namespaced is refused with a reason.

    Example::

        @hookimpl
        def register_db_models(context):
            return context.db.table("entries", sa.Column("id", sa.Integer, primary_key=True))
    """


@hookspec
def register_event_handlers(context: PluginContext) -> list[EventHandler]:
    """Handle named host events, before (``pre``) or after (``post``) they happen.

    Events include ``startup``, ``shutdown``, ``plugin.enabled``, ``plugin.disabled``
    and ``config.changed``; the chat core adds ``message.posted`` (payload
    ``message``), ``message.updated`` (``message``, ``previous_text``),
    ``message.deleted`` (``message``, ``deleted_by``), ``user.registered`` (``user``)
    and ``channel.created`` (``channel``), each value plain JSON data — the payload the
    webhook of the same name carries.

    Return: :class:`~plexichat.contributions.EventHandler` items or the guide's
    ``{event: handler}`` mapping (post handlers). A handler receives the event's
    payload as keyword arguments it names (or none).

    Failure: a raising handler is counted against its plugin; other handlers run.

    Example::

        @hookimpl
        def register_event_handlers():
            return {"plugin.enabled": lambda name: print("enabled", name)}
    """


@hookspec
def config_schema(context: PluginContext | None) -> dict[str, Any] | None:
    """Contribute a JSON Schema for the plugin's settings (the guide's ``get_config_schema``).

    Merged with the manifest's ``settings_schema`` (properties and ``required`` are
    combined; the hook's definition of a property wins). Validated with JSON Schema
    Draft 2020-12; ``default`` values are filled in on first start.

    Return: a JSON Schema object (dict) or None.

    Example::

        @hookimpl
        def config_schema():
            return {"type": "object", "properties": {"greeting": {"type": "string",
                                                                  "default": "hi"}}}
    """


@hookspec
def config_changed(old: dict[str, Any], new: dict[str, Any], context: PluginContext) -> None:
    """React to new settings, already validated and stored.

    When: after a valid ``PUT /api/v1/plugins/{name}/settings`` (or ``plexichat plugins
    config set``) has been committed, for the plugin concerned only.

    Failure: raising restores the previous settings, and the caller is told why.

    Example::

        @hookimpl
        def config_changed(old, new, context):
            context.logger.info("interval %s -> %s", old.get("interval"), new["interval"])
    """


@hookspec
def register_health_checks(context: PluginContext) -> list[HealthCheck]:
    """Contribute health probes (the guide's ``get_health_checks`` / ``health_check``).

    Return: :class:`~plexichat.contributions.HealthCheck` items, or ``{name: callable}``
    (readiness checks). A check returns a bool or a mapping with ``healthy``.

    Readiness checks roll up into ``/api/v1/health/ready``; every check shows in
    ``GET /api/v1/plugins/{name}/health``. A check that raises or times out counts as
    unhealthy.

    Example::

        @hookimpl
        def register_health_checks():
            return [HealthCheck("queue", lambda: {"healthy": True, "depth": 0})]
    """


@hookspec
def register_backup_handlers(context: PluginContext) -> list[BackupHandler]:
    """Contribute backup and restore handlers for the plugin's own data.

    Used by ``plexichat backup create FILE`` and ``plexichat backup restore FILE``.

    Return: :class:`~plexichat.contributions.BackupHandler` items or the guide's
    ``{"backup": fn, "restore": fn}`` mapping.

    Example::

        @hookimpl
        def register_backup_handlers(context):
            return BackupHandler("notes", backup=lambda: {...}, restore=lambda d: None)
    """


@hookspec
def register_background_tasks(context: PluginContext) -> list[BackgroundTask]:
    """Contribute long-running tasks the host supervises.

    When: once per plugin, after its ``startup`` hook has finished.

    Arguments: ``context``, the plugin's ``PluginContext``.

    Return: :class:`~plexichat.contributions.BackgroundTask` items
    (``from plexichat.contributions import BackgroundTask``), or functions (no interval),
    each named by its function's ``__name__`` (``deliver`` for a function defined inside
    this hook, a method's own name, a ``functools.partial``'s function). A task function
    may be ``async def`` or plain (a plain one runs on the event loop: keep it short); it
    receives ``context`` when it has a parameter of that name, and nothing otherwise.
    Without ``interval`` it is called once and should loop until cancelled; with
    ``interval`` (seconds) it is one step, called at once and then ``interval`` seconds
    after each call returns.

    Failure: a task that raises is restarted with exponential backoff (0.5 s doubling,
    capped at 60 s); each crash counts against the plugin's fault budget. All of a
    plugin's tasks are cancelled (``asyncio.CancelledError`` where they await), within
    ``PLEXICHAT_SHUTDOWN_TIMEOUT``, when it is disabled or the host stops.

    Example::

        from plexichat.contributions import BackgroundTask

        async def tick(context):
            context.kv.set("ticks", context.kv.get("ticks", 0) + 1)

        @hookimpl
        def register_background_tasks():
            return [BackgroundTask("tick", tick, interval=60)]
    """


@hookspec
def register_ui_pages(context: PluginContext | None) -> list[UIPageSpec]:
    """Contribute pages to the web UI, served from the plugin's package data.

    The manifest's ``ui_pages`` are included automatically.

    Return: :class:`~plexichat.contributions.UIPageSpec` items.
    """


@hookspec
def register_docs(context: PluginContext | None) -> list[DocsSpec]:
    """Contribute documentation folders (``.md`` / ``.html``) to the ``/docs`` viewer.

    A ``docs/`` folder inside the plugin's package is included automatically.

    Return: :class:`~plexichat.contributions.DocsSpec` items or paths.
    """


@hookspec
def register_services(context: PluginContext) -> list[ServiceSpec]:
    """Provide a service to the host, replacing its default.

    An ``ai_node`` plugin provides ``ai``, a ``storage_node`` plugin a backup target.
    Plugins reach services through their context, gated by permissions.

    Return: :class:`~plexichat.contributions.ServiceSpec` items or ``{name: provider}``.

    Example::

        @hookimpl
        def register_services():
            return {"ai": MyAssistant()}
    """


@hookspec
def register_logging_handlers(context: PluginContext) -> list[logging.Handler]:
    """Contribute :class:`logging.Handler` objects attached to the ``plexichat`` logger.

    Return: ``{name: handler}`` or a list of handlers. They are detached when the plugin
    is disabled.
    """


@hookspec
def register_analytics_hooks(context: PluginContext) -> list[AnalyticsHook]:
    """Receive analytics events recorded through ``context.analytics``.

    Return: :class:`~plexichat.contributions.AnalyticsHook` items or ``{event_name:
    callable}``; ``"*"`` receives every event. A callable gets
    ``(event_name, properties)``.
    """


@hookspec
def self_test(context: PluginContext) -> SelfTestResult:
    """Run the plugin's own checks on demand.

    When: ``POST /api/v1/plugins/{name}/self-test`` or ``plexichat plugins selftest``;
    bounded by a timeout.

    Return: a :class:`~plexichat.contributions.SelfTestResult` or the guide's
    ``{"passed": bool, "tests": [...], "message": str}``.

    Example::

        @hookimpl
        async def self_test(context):
            return SelfTestResult(passed=True, tests=["routes"], message="ok")
    """
