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

Ordering: ``@hookimpl(tryfirst=True)`` implementations first, ``trylast=True`` last;
within each, the plugin later in dependency order runs first, as in pluggy when plugins
are registered in that order. So a plugin's implementation runs *before* those of the
plugins it depends on unless it says ``trylast``. Plugins start concurrently, but the
order of their implementations does not depend on which finished starting first: it
follows the resolved order (dependencies, then names), the same on every start.

Failure: every call goes through :mod:`plexichat.kernel.dispatch`. An implementation that raises
(or exceeds its time limit) is logged and counted against its plugin, and the other
implementations still run. Consecutive failures past the fault budget quarantine the
plugin. Hook wrappers (``hookwrapper=True`` / ``wrapper=True``) are not supported.

Results: every hook whose result the host uses declares a typed result from
:mod:`plexichat.contributions`. The other shapes a hook's documentation accepts (the
guide's mappings, bare functions, paths) are converted by :mod:`plexichat.adapters`;
anything else is a warning on the plugin naming the hook and the shapes it accepts.
"""

from __future__ import annotations

from .chat import (
    channel_created,
    message_deleted,
    message_posted,
    message_updated,
    message_will_post,
    message_will_update,
    register_slash_commands,
    user_registered,
)
from .lifecycle import shutdown, startup
from .web import (
    config_changed,
    config_schema,
    register_analytics_hooks,
    register_background_tasks,
    register_backup_handlers,
    register_commands,
    register_db_models,
    register_docs,
    register_event_handlers,
    register_health_checks,
    register_logging_handlers,
    register_middleware,
    register_routers,
    register_security_policies,
    register_services,
    register_ui_pages,
    self_test,
)

__all__ = [
    "AREAS",
    "channel_created",
    "config_changed",
    "config_schema",
    "message_deleted",
    "message_posted",
    "message_updated",
    "message_will_post",
    "message_will_update",
    "register_analytics_hooks",
    "register_background_tasks",
    "register_backup_handlers",
    "register_commands",
    "register_db_models",
    "register_docs",
    "register_event_handlers",
    "register_health_checks",
    "register_logging_handlers",
    "register_middleware",
    "register_routers",
    "register_security_policies",
    "register_services",
    "register_slash_commands",
    "register_ui_pages",
    "self_test",
    "shutdown",
    "startup",
    "user_registered",
]

AREAS = ("lifecycle", "web", "chat")
"""The modules of this package, in the order the hook reference shows them."""
