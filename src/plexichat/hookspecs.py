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

Failure: every call goes through :mod:`plexichat.kernel.dispatch`. An implementation that raises
(or exceeds its time limit) is logged and counted against its plugin, and the other
implementations still run. Consecutive failures past the fault budget quarantine the
plugin. Hook wrappers (``hookwrapper=True`` / ``wrapper=True``) are not supported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .markers import hookspec

if TYPE_CHECKING:
    from .chat import Channel, Message, MessageDraft, User
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


@hookspec
def register_middleware(context: PluginContext) -> Any:
    """Contribute request middleware to the ``web``, ``api`` or ``cli`` layer.

    When: once per plugin after :func:`startup`; the host consults the live list on
    every request, so disabling a plugin removes its middleware at once.

    Arguments: ``context``.

    Return: a :class:`~plexichat.contributions.MiddlewareSpec`, a list of them, or the
    guide's ``{"web": [fn, ...], "api": [fn, ...]}`` mapping. A middleware is
    ``fn(request, call_next)``; it may be sync and return ``call_next(request)``
    without awaiting it.

    Ordering: middleware of plugins registered later wraps that of earlier ones.

    Failure: a middleware that raises is counted against its plugin and the request
    continues without it (the host calls ``call_next`` itself).

    Example::

        @hookimpl
        def register_middleware():
            def stamp(request, call_next):
                return call_next(request)
            return [MiddlewareSpec("api", stamp)]
    """


@hookspec
def register_security_policies(context: PluginContext) -> Any:
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
def register_commands(context: PluginContext | None) -> Any:
    """Contribute click commands or groups to the ``plexichat`` command line.

    When: whenever the CLI builds its command list (the CLI never starts plugins, so
    ``context`` may be None there).

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
def register_db_models(context: PluginContext) -> Any:
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
def register_event_handlers(context: PluginContext) -> Any:
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
def config_schema(context: PluginContext | None) -> Any:
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
def register_health_checks(context: PluginContext) -> Any:
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
def register_backup_handlers(context: PluginContext) -> Any:
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
def register_background_tasks(context: PluginContext) -> Any:
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
def register_ui_pages(context: PluginContext | None) -> Any:
    """Contribute pages to the web UI, served from the plugin's package data.

    The manifest's ``ui_pages`` are included automatically.

    Return: :class:`~plexichat.contributions.UIPageSpec` items.
    """


@hookspec
def register_docs(context: PluginContext | None) -> Any:
    """Contribute documentation folders (``.md`` / ``.html``) to the ``/docs`` viewer.

    A ``docs/`` folder inside the plugin's package is included automatically.

    Return: :class:`~plexichat.contributions.DocsSpec` items or paths.
    """


@hookspec
def register_services(context: PluginContext) -> Any:
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
def register_logging_handlers(context: PluginContext) -> Any:
    """Contribute :class:`logging.Handler` objects attached to the ``plexichat`` logger.

    Return: ``{name: handler}`` or a list of handlers. They are detached when the plugin
    is disabled.
    """


@hookspec
def register_analytics_hooks(context: PluginContext) -> Any:
    """Receive analytics events recorded through ``context.analytics``.

    Return: ``{event_name: callable}``; ``"*"`` receives every event. A callable gets
    ``(event_name, properties)``.
    """


@hookspec
def self_test(context: PluginContext) -> Any:
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


# --- chat ------------------------------------------------------------------------------
#
# The way of one message: HTTP/WebSocket → auth → message_will_post filters → slash
# command → stored → recorded for webhooks → fanned out to WebSocket clients →
# message_posted hooks and the "message.posted" event. The values these hooks take and
# return (MessageDraft, Reject, SlashCommand, Message, User, Channel) live in
# plexichat.chat.


@hookspec
def message_will_post(message: MessageDraft, context: PluginContext) -> Any:
    """Filter a message before it is stored: change it, reject it, or let it pass.

    When: for every message posted (through ``POST /api/v1/channels/{id}/messages``,
    a bot's slash-command reply, or a plugin's ``context.chat.post``), after the author
    and the text were checked and before anything is stored.

    Arguments: ``message``, a frozen :class:`~plexichat.chat.MessageDraft` (``text``,
    ``channel_id``, ``author`` — a :class:`~plexichat.chat.User`); ``context``, the
    implementing plugin's own context (its settings are ``context.config``).

    Return: ``message.replace(text=...)`` to change the text (only ``text`` is taken
    from the returned draft), :class:`~plexichat.chat.Reject` ``(reason, status_code=400)``
    to refuse the message — the sender gets that 4xx with the reason and the plugin's
    name, and nothing is stored — or None to pass it on unchanged.

    Ordering: implementations run one after another in pluggy's order:
    ``@hookimpl(tryfirst=True)`` first, ``trylast=True`` last, otherwise the plugin
    registered (started) later runs first — so a plugin runs before the plugins it
    depends on. Each filter receives the draft as the previous filters left it; the
    first rejection ends the call.

    Failure: fail-open by default. A filter that raises, takes longer than
    ``filter_timeout`` (``PLEXICHAT_FILTER_TIMEOUT``, 2 s), or returns anything else is
    skipped — the message goes on as the filters before it left it — and the failure is
    counted against its plugin (quarantined once its fault budget is spent). A plugin
    whose ``plugin.json`` lists ``"essential_hooks": ["message_will_post"]`` is
    fail-closed instead: while it is failed, quarantined or not started yet, and
    whenever its filter fails, messages are refused with 503 and a reason naming the
    plugin, never stored unfiltered (an operator who disables the plugin lifts this).

    Where a plain (non-async) filter runs: its first calls run in a worker thread,
    bounded by ``filter_timeout``, so a filter that blocks from the start is cut off
    while the server stays responsive. Once it has answered quickly (under 1 ms) 20
    times in a row it runs inline on the event loop, which costs far less than a thread
    hand-off; an inline call cannot be interrupted, so one that then takes longer than
    20 ms stalls the server that long, after which the filter runs in a worker thread
    for good and a ``SlowInlineCall`` warning is recorded on its plugin (not counted
    against its fault budget). A filter that may block (network, disk, locks) should
    be a coroutine, or be marked ``@blocking`` (``from plexichat.markers import
    blocking``) to stay in a worker thread always.

    Example::

        @hookimpl
        def message_will_post(message, context):
            if "spam" in message.text:
                return Reject("no spam here")
            return message.replace(text=message.text.replace("teh", "the"))
    """


@hookspec
def message_will_update(message: MessageDraft, context: PluginContext) -> Any:
    """Filter the new text of an edited message: change it, reject it, or let it pass.

    When: for every edit (``PATCH /api/v1/messages/{id}``) by the author or an admin,
    before the new text is stored.

    Arguments: ``message``, a :class:`~plexichat.chat.MessageDraft` whose ``text`` is
    the new text, with ``message_id`` and ``previous_text`` (the stored text) set and
    ``author`` the message's author; ``context``, the plugin's own context.

    Return, ordering and failure: exactly as :func:`message_will_post` (a rejection
    leaves the stored message unchanged; ``"essential_hooks": ["message_will_update"]``
    makes this hook fail-closed).

    Example::

        @hookimpl
        def message_will_update(message, context):
            if message.previous_text.startswith("[pinned]"):
                return Reject("pinned messages cannot be edited", status_code=409)
    """


@hookspec
def message_posted(message: Message, context: PluginContext) -> None:
    """React to a message that has been stored and delivered.

    When: after each message (and each bot reply) is stored, recorded for webhooks
    (``message.posted``) and sent to WebSocket clients; before the ``message.posted``
    event reaches ``register_event_handlers`` handlers.

    Arguments: ``message``, the stored :class:`~plexichat.chat.Message` (``id``,
    ``channel_id``, ``author_id``, ``author``, ``text``, ``created_at``); ``context``,
    the plugin's own context.

    Return: nothing (the message is already stored; to change or refuse messages use
    :func:`message_will_post`).

    Ordering: pluggy's order (see :func:`message_will_post`); the poster's request
    waits for these hooks, so keep them short or hand work to a background task.

    Failure: bounded by ``filter_timeout``; a raising or timed-out implementation is
    counted against its plugin and the others still run.

    Example::

        @hookimpl
        async def message_posted(message, context):
            context.logger.info("#%s %s: %s", message.channel_id, message.author,
                                message.text)
    """


@hookspec
def message_updated(message: Message, previous_text: str, context: PluginContext) -> None:
    """React to an edited message, after the new text is stored and delivered.

    When: after ``PATCH /api/v1/messages/{id}`` stored the new text (``message.edited_at``
    is set) and sent ``message.updated`` to WebSocket clients.

    Arguments: ``message``, the :class:`~plexichat.chat.Message` as it is now;
    ``previous_text``, its text before the edit; ``context``.

    Return: nothing. Ordering and failure: as :func:`message_posted`.

    Example::

        @hookimpl
        def message_updated(message, previous_text, context):
            context.logger.info("message %s edited (was %r)", message.id, previous_text)
    """


@hookspec
def message_deleted(message: Message, deleted_by: str, context: PluginContext) -> None:
    """React to a deleted message.

    When: after ``DELETE /api/v1/messages/{id}`` removed it and sent ``message.deleted``
    to WebSocket clients.

    Arguments: ``message``, the :class:`~plexichat.chat.Message` as it was;
    ``deleted_by``, the name of the user who deleted it (``"admin"`` for the admin
    token); ``context``.

    Return: nothing. Ordering and failure: as :func:`message_posted`.

    Example::

        @hookimpl
        def message_deleted(message, deleted_by, context):
            context.kv.delete(f"reactions:{message.id}")
    """


@hookspec
def user_registered(user: User, context: PluginContext) -> None:
    """React to a new user.

    When: after ``POST /api/v1/users`` stored the user (not for bot users); before the
    ``user.registered`` event.

    Arguments: ``user``, the new :class:`~plexichat.chat.User` (no password, not even
    hashed); ``context``.

    Return: nothing. Ordering and failure: as :func:`message_posted`.

    Example::

        @hookimpl
        def user_registered(user, context):
            context.logger.info("welcome, %s", user.name)
    """


@hookspec
def channel_created(channel: Channel, context: PluginContext) -> None:
    """React to a new channel.

    When: after ``POST /api/v1/channels`` stored the channel (its creator has joined
    it); before the ``channel.created`` event.

    Arguments: ``channel``, the new :class:`~plexichat.chat.Channel` (``id``, ``name``,
    ``topic``, ``created_by``); ``context``.

    Return: nothing. Ordering and failure: as :func:`message_posted`.

    Example::

        @hookimpl
        async def channel_created(channel, context):
            await context.chat.post(channel.id, f"Welcome to #{channel.name}!")
    """


@hookspec
def register_slash_commands(context: PluginContext) -> Any:
    """Answer ``/name`` commands in chat, as the plugin's bot user.

    When: once per plugin after :func:`startup`; the commands are withdrawn when the
    plugin is disabled or quarantined.

    Arguments: ``context``.

    Return: :class:`~plexichat.chat.SlashCommand` ``(name, handler, help)`` items (or a
    list). A message whose text (after the :func:`message_will_post` filters) begins
    with ``/name`` is routed to the plugin that registered ``name``; ``handler(call)``
    gets a :class:`~plexichat.chat.CommandCall` (``name``, ``args`` — the text after
    the name —, ``user``, ``channel_id``, ``text``) and returns the reply text (or a
    ``MessageDraft``), None for no reply, or a :class:`~plexichat.chat.Reject` to refuse
    the message (the sender gets the 4xx and nothing is stored). The command message
    is stored, then the reply, posted by the plugin's bot user ``bot:<plugin>``
    (created on demand) after passing the message filters too. Messages of bot users
    are never routed to commands.

    Conflicts: a name is the first plugin's to register it; a later plugin claiming
    the same name is refused that command, with a warning on that plugin
    (``GET /api/v1/plugins/{name}``), and keeps its other commands.

    Failure: a handler may be sync (run in a worker thread) or async, bounded by
    ``command_timeout`` (``PLEXICHAT_COMMAND_TIMEOUT``, 5 s). One that raises or times
    out is counted against its plugin; the command message is stored without a reply
    and the response's ``notices`` say why.

    Example::

        @hookimpl
        def register_slash_commands():
            return [SlashCommand("shout", lambda call: call.args.upper(),
                                 help="/shout TEXT — say it louder")]
    """
