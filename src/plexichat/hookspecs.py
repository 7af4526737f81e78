"""Every extension point of PlexiChat, one hook each.

This file is the table of contents of what a plugin can do. Each docstring is the
reference documentation of its hook: when the host calls it, with what, what it expects
back, in what order, and what happens when it fails.

How to implement a hook: define a function (or a method on your plugin object) with the
hook's name, decorated with :data:`plexichat.hookimpl`, taking any subset of the hook's
arguments by name. It may be a plain function or ``async def``::

    from plexichat import hookimpl

    @hookimpl
    async def startup(context):
        context.logger.info("ready")

Ordering: implementations run in pluggy's order: ``@hookimpl(tryfirst=True)`` first,
``trylast=True`` last, otherwise the plugin registered last runs first. Plugins are
registered in dependency order, so a plugin's implementation runs *before* those of the
plugins it depends on unless it says ``trylast``.

Failure: every call goes through :mod:`plexichat.dispatch`. An implementation that raises
(or exceeds its time limit) is logged and counted against its plugin, and the other
implementations still run. Consecutive failures past the fault budget quarantine the
plugin. Hook wrappers (``hookwrapper=True`` / ``wrapper=True``) are not supported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .markers import hookspec

if TYPE_CHECKING:
    from .context import PluginContext


# --- lifecycle -------------------------------------------------------------------------


@hookspec
def startup(context: PluginContext) -> None:
    """Start the plugin: open resources, warm caches, check what it needs.

    When: once per plugin, after it is imported and registered, in dependency order
    (a plugin starts after everything it depends on has started). Called only for the
    plugin being started (``context`` is that plugin's own).

    Arguments: ``context``, the plugin's :class:`~plexichat.context.PluginContext`.

    Return: nothing.

    Failure: raising marks the plugin ``failed`` with the exception's type and message
    as the reason; taking longer than the startup timeout (``PLEXICHAT_STARTUP_TIMEOUT``,
    10 s by default) marks it ``failed`` with a reason naming the timeout. Either way the
    host carries on with the other plugins. A plain (non-async) implementation runs in
    a worker thread so that it cannot block the server.

    Example::

        @hookimpl
        async def startup(context):
            context.logger.info("hello from %s", context.plugin_name)
    """


@hookspec
def shutdown(context: PluginContext) -> None:
    """Stop the plugin: close what :func:`startup` opened.

    When: once per started plugin when the host stops (or the plugin is disabled), in
    reverse dependency order.

    Arguments: ``context``, the plugin's own context.

    Return: nothing.

    Failure: bounded by the shutdown timeout (``PLEXICHAT_SHUTDOWN_TIMEOUT``, 5 s by
    default) and isolated; a failure is logged and the next plugin is stopped anyway.

    Example::

        @hookimpl
        def shutdown(context):
            context.logger.info("bye")
    """


# --- web -------------------------------------------------------------------------------


@hookspec
def register_routers(context: PluginContext) -> Any:
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
