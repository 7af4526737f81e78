"""Hooks of a plugin's lifecycle: starting and stopping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..markers import hookspec

if TYPE_CHECKING:
    from ..context import PluginContext


# --- lifecycle -------------------------------------------------------------------------


@hookspec
def startup(context: PluginContext) -> None:
    """Start the plugin: open resources, warm caches, check what it needs.

    When: once per plugin, after it is imported and registered, in dependency order
    (a plugin starts after everything it depends on has started; plugins with no
    dependency between them start concurrently). Called only for the plugin being
    started (``context`` is that plugin's own).

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
