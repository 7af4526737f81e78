"""Hooks of the chat core: message filters, what happened notifications, slash commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..markers import hookspec

if TYPE_CHECKING:
    from ..chat import Channel, Message, MessageDraft, Reject, SlashCommand, User
    from ..context import PluginContext


# --- chat ------------------------------------------------------------------------------
#
# The way of one message: HTTP/WebSocket → auth → message_will_post filters → slash
# command → stored → recorded for webhooks → fanned out to WebSocket clients →
# message_posted hooks and the "message.posted" event. The values these hooks take and
# return (MessageDraft, Reject, SlashCommand, Message, User, Channel) live in
# plexichat.chat.


@hookspec
def message_will_post(
    message: MessageDraft, context: PluginContext
) -> MessageDraft | Reject | None:
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
    registered later runs first — so a plugin runs before the plugins it depends on
    (plugins with no dependency between them start concurrently, in no fixed order).
    Each filter receives the draft as the previous filters left it; the
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
def message_will_update(
    message: MessageDraft, context: PluginContext
) -> MessageDraft | Reject | None:
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
def register_slash_commands(context: PluginContext) -> list[SlashCommand]:
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
