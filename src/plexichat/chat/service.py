"""ChatService: users, channels and messages, and the chat hooks plugins extend them with.

The way of one message (``post_message``)::

    validate → essential filters available? → message_will_post filters, in order
      (each may change the text, reject, or pass) → a slash command? its handler runs
      → stored with the bot's reply, and the "message.posted" webhook events in the
      same transaction → fanned out to WebSocket clients → message_posted hooks →
      "message.posted" event to register_event_handlers handlers

Fan-out happens right after storing, before the after-the-fact hooks, so clients
receive every channel's messages in the order they were stored whatever the hooks do.
Every change (user registered, channel created, message posted, updated, deleted) is
recorded for webhook delivery in the transaction that stores it: both or neither.

The filters and their failure policy (fail-open, or fail-closed for a plugin's
``essential_hooks``) are :mod:`plexichat.chat.filters`; slash commands are
:mod:`plexichat.chat.commands`.

Every method that runs plugin hooks or hashes a password is a coroutine; plain reads
are synchronous. The coroutines never touch the database on the event loop's thread:
their database work runs in :attr:`ChatService.in_thread` (a bounded pool, see
:mod:`plexichat.chat.threads`), and the web layer calls the plain reads through it too.
Storing a message and publishing it to WebSocket clients happen in one ordered section
per channel, so clients still receive a channel's messages in storage order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from ..services.events import EventRejected
from . import tables as t
from .commands import find_command, run_command
from .errors import (
    Conflict,
    FilterUnavailable,
    Forbidden,
    InvalidInput,
    MessageRejected,
    NotFound,
    Unauthorized,
)
from .fanout import FanoutHub, FanoutPublisher
from .filters import MAX_TEXT as MAX_TEXT  # re-exported: the API reports it
from .filters import FilterChain, check_text
from .passwords import PasswordHasher
from .plugin_chat import PluginChat
from .threads import DatabaseThreads
from .tokens import TokenStore
from .types import Channel, Message, MessageDraft, SlashCommand, User

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ..config import HostSettings
    from ..context import HostServices, PluginContext
    from ..kernel.dispatch import Dispatcher
    from ..kernel.lifecycle import PluginRecord
    from ..storage import Database

__all__ = ["ChatService", "MessagePage", "PluginChat", "PostResult"]

log = logging.getLogger("plexichat.chat")

R = TypeVar("R")

MAX_PAGE = 200
"""The most messages one page may hold."""
USER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass
class PostResult:
    """What posting stored: the message, the bot replies it caused, and notices
    (a slash command that failed, a reply a filter refused)."""

    message: Message
    replies: list[Message] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


@dataclass
class MessagePage:
    """Messages oldest first; ``next_before`` fetches the older page (None: no more)."""

    messages: list[Message]
    next_before: int | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _user(row: Any) -> User:
    return User(id=row.id, name=row.name, is_bot=bool(row.is_bot), bot_plugin=row.bot_plugin,
                created_at=_utc(row.created_at))


class ChatService:
    """The chat core of one host (``host.services.chat``; plugins: ``context.chat``)."""

    def __init__(self, database: Database, settings: HostSettings, dispatcher: Dispatcher,
                 records: Mapping[str, PluginRecord], services: HostServices, *,
                 fanout: FanoutHub | None = None, publisher: FanoutPublisher | None = None,
                 ) -> None:
        self.database = database
        self.settings = settings  # timeouts of filters and commands, password hashing cost
        self.dispatcher = dispatcher
        self.records = records
        """Every plugin's record (read only): states and contexts of the filters' plugins."""
        self.services = services  # the host's services: webhook outbox and events
        self.database.create_tables(t.metadata, t.CHAT_TABLES)
        self.tokens = TokenStore(database, ttl=settings.token_ttl).migrated()
        self.passwords = PasswordHasher(time_cost=settings.password_hash_time_cost,
                                        memory_kib=settings.password_hash_memory_kib)
        self.fanout = fanout or FanoutHub()  # this process's WebSocket clients
        self.publisher: FanoutPublisher = publisher or self.fanout  # or a cluster relay
        self._commands: dict[str, tuple[str, SlashCommand]] = {}
        self._dummy_hash: str | None = None
        self.in_thread = DatabaseThreads(settings.database_threads)
        """``await chat.in_thread(func, *args)``: a blocking (database) call, off the
        event loop."""
        self._ordered: dict[int, asyncio.Lock] = {}  # per channel: store, then publish

    def for_plugin(self, context: PluginContext) -> PluginChat:
        """What ``context.chat`` hands one plugin."""
        return PluginChat(self, context)

    # --- users ---------------------------------------------------------------------

    async def register(self, name: str, password: str) -> User:
        """Create a user; runs ``user_registered`` and emits ``user.registered``."""
        if not USER_NAME_RE.match(name):
            raise InvalidInput("user name must be 2-40 letters, digits, '.', '_' or '-', "
                               "starting with a letter or digit")
        if not 8 <= len(password) <= 1024:
            raise InvalidInput("password must be 8 to 1024 characters long")
        if await self.in_thread(self._user_row, t.users.c.name_key == name.lower()) is not None:
            raise Conflict(f"the user name {name!r} is taken")
        hashed = await asyncio.to_thread(self.passwords.hash, password)
        try:
            user, payload = await self.in_thread(self._insert_user, name, hashed)
        except sa.exc.IntegrityError:
            raise Conflict(f"the user name {name!r} is taken") from None
        await self._after("user_registered", "user.registered", payload, user=user)
        return user

    def _insert_user(self, name: str, hashed: str) -> tuple[User, dict[str, Any]]:
        """Store a new user and its ``user.registered`` event: ``(user, payload)``."""
        created = _now()
        with self.database.engine.begin() as conn:
            result = conn.execute(sa.insert(t.users).values(
                name=name, name_key=name.lower(), password_hash=hashed, is_bot=False,
                created_at=created))
            user = User(id=int(result.inserted_primary_key[0]),  # type: ignore[index]
                        name=name, created_at=created)
            payload = {"user": user.as_dict()}
            self._record(conn, "user.registered", payload)
        return user, payload

    async def login(self, name: str, password: str) -> tuple[str, User]:
        """Check the password and hand out a new bearer token: ``(token, user)``."""
        row = await self.in_thread(self._user_row, t.users.c.name_key == name.lower())
        if row is None or row.password_hash is None:
            # the same work as a real check, so timing does not tell which names exist
            if self._dummy_hash is None:
                self._dummy_hash = await asyncio.to_thread(self.passwords.hash, "-")
            await asyncio.to_thread(self.passwords.verify, self._dummy_hash, password)
            raise Unauthorized("wrong user name or password")
        if not await asyncio.to_thread(self.passwords.verify, row.password_hash, password):
            raise Unauthorized("wrong user name or password")
        rehashed = None
        if self.passwords.needs_rehash(row.password_hash):  # the cost settings changed
            rehashed = await asyncio.to_thread(self.passwords.hash, password)
        token = await self.in_thread(self._store_token, row.id, rehashed)
        return token, _user(row)

    def _store_token(self, user_id: int, rehashed: str | None) -> str:
        """A new token for ``user_id`` (and the rehashed password, if any), stored."""
        with self.database.engine.begin() as conn:
            if rehashed is not None:
                conn.execute(sa.update(t.users).where(t.users.c.id == user_id)
                             .values(password_hash=rehashed))
            return self.tokens.issue(conn, user_id)

    def logout(self, token: str) -> None:
        """Revoke a bearer token: it no longer authenticates anyone."""
        self.tokens.revoke(token)

    def check_token(self, token: str) -> User:
        """The token's user; :class:`Unauthorized` saying why not (unknown, revoked, expired)."""
        return _user(self.tokens.user_row(token))

    def authenticate(self, token: str) -> User | None:
        """The user a bearer token belongs to, or None (unknown, revoked or expired)."""
        try:
            return self.check_token(token)
        except Unauthorized:
            return None

    def get_user(self, user_id: int) -> User:
        """The user with ``user_id`` or :class:`NotFound`."""
        row = self._user_row(t.users.c.id == user_id)
        if row is None:
            raise NotFound(f"no user with id {user_id}")
        return _user(row)

    def user_by_name(self, name: str) -> User | None:
        """The user called ``name`` (any case), or None."""
        row = self._user_row(t.users.c.name_key == name.lower())
        return None if row is None else _user(row)

    def bot_user(self, plugin: str) -> User:
        """The bot user ``bot:<plugin>`` that speaks for ``plugin``, created on demand."""
        row = self._user_row(t.users.c.bot_plugin == plugin)
        if row is not None:
            return _user(row)
        name = f"bot:{plugin}"
        try:
            with self.database.engine.begin() as conn:
                conn.execute(sa.insert(t.users).values(
                    name=name, name_key=name.lower(), password_hash=None, is_bot=True,
                    bot_plugin=plugin, created_at=_now()))
        except sa.exc.IntegrityError:  # created meanwhile by another replica, or taken
            pass
        row = self._user_row(t.users.c.bot_plugin == plugin)
        if row is None:
            raise Conflict(f"the bot user name {name!r} of plugin {plugin!r} is taken")
        return _user(row)

    def _user_row(self, where: Any) -> Any:
        with self.database.engine.connect() as conn:
            return conn.execute(sa.select(t.users).where(where)).first()

    # --- channels ------------------------------------------------------------------

    async def create_channel(self, user: User, name: str, topic: str = "") -> Channel:
        """Create a channel (its creator joins it); runs ``channel_created``."""
        if not CHANNEL_NAME_RE.match(name):
            raise InvalidInput("channel name must be 1-64 lower-case letters, digits, '_' "
                               "or '-', starting with a letter or digit")
        if len(topic) > 250:
            raise InvalidInput("channel topic is longer than 250 characters")
        try:
            channel, payload = await self.in_thread(self._insert_channel, user, name, topic)
        except sa.exc.IntegrityError:
            raise Conflict(f"a channel named {name!r} exists") from None
        self.publisher.joined(user.id, channel.id)
        await self._after("channel_created", "channel.created", payload, channel=channel)
        return channel

    def _insert_channel(self, user: User, name: str, topic: str
                        ) -> tuple[Channel, dict[str, Any]]:
        """Store a channel, its creator's membership and its ``channel.created`` event."""
        created = _now()
        with self.database.engine.begin() as conn:
            if conn.execute(sa.select(t.channels.c.id)
                            .where(t.channels.c.name == name)).first() is not None:
                raise Conflict(f"a channel named {name!r} exists")
            result = conn.execute(sa.insert(t.channels).values(
                name=name, topic=topic, created_by=user.id, created_at=created))
            channel_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            conn.execute(sa.insert(t.members).values(
                channel_id=channel_id, user_id=user.id, joined_at=created))
            channel = Channel(id=channel_id, name=name, topic=topic, created_by=user.name,
                              created_at=created)
            payload = {"channel": channel.as_dict()}
            self._record(conn, "channel.created", payload)
        return channel, payload

    def list_channels(self) -> list[Channel]:
        """Every channel, by name."""
        with self.database.engine.connect() as conn:
            rows = conn.execute(self._channel_query().order_by(t.channels.c.name)).all()
        return [self._channel(r) for r in rows]

    def get_channel(self, channel_id: int) -> Channel:
        """The channel with ``channel_id`` or :class:`NotFound`."""
        with self.database.engine.connect() as conn:
            row = conn.execute(self._channel_query()
                               .where(t.channels.c.id == channel_id)).first()
        if row is None:
            raise NotFound(f"no channel with id {channel_id}")
        return self._channel(row)

    async def join(self, user: User, channel_id: int) -> Channel:
        """Make ``user`` a member of the channel (joining twice is harmless)."""
        channel = await self.in_thread(self.get_channel, channel_id)
        await self.in_thread(self._ensure_member, user.id, channel_id)
        self.publisher.joined(user.id, channel_id)
        return channel

    def is_member(self, user_id: int, channel_id: int) -> bool:
        """True when the user has joined the channel."""
        with self.database.engine.connect() as conn:
            return conn.execute(sa.select(t.members.c.user_id).where(
                t.members.c.channel_id == channel_id,
                t.members.c.user_id == user_id)).first() is not None

    def joined_channel_ids(self, user_id: int) -> set[int]:
        """The channels the user has joined."""
        with self.database.engine.connect() as conn:
            return {cid for (cid,) in conn.execute(
                sa.select(t.members.c.channel_id).where(t.members.c.user_id == user_id))}

    def require_member(self, user: User, channel_id: int) -> Channel:
        """The channel, if ``user`` has joined it; :class:`NotFound` / :class:`Forbidden`."""
        channel = self.get_channel(channel_id)
        if not self.is_member(user.id, channel_id):
            raise Forbidden(f"join channel {channel.name!r} first "
                            f"(POST /api/v1/channels/{channel_id}/join)")
        return channel

    def _ensure_member(self, user_id: int, channel_id: int) -> None:
        if self.is_member(user_id, channel_id):
            return
        try:
            with self.database.engine.begin() as conn:
                conn.execute(sa.insert(t.members).values(
                    channel_id=channel_id, user_id=user_id, joined_at=_now()))
        except sa.exc.IntegrityError:  # joined meanwhile
            pass

    @staticmethod
    def _channel_query() -> sa.Select[Any]:
        return sa.select(t.channels, t.users.c.name.label("creator")).select_from(
            t.channels.outerjoin(t.users, t.channels.c.created_by == t.users.c.id))

    @staticmethod
    def _channel(row: Any) -> Channel:
        return Channel(id=row.id, name=row.name, topic=row.topic or "",
                       created_by=row.creator or "", created_at=_utc(row.created_at))

    # --- messages ------------------------------------------------------------------

    async def post_message(self, author: User, channel_id: int, text: str) -> PostResult:
        """Filter, store and deliver one message (see the module docstring).

        Raises :class:`NotFound`, :class:`Forbidden` (not a member), :class:`InvalidInput`,
        :class:`MessageRejected` (a filter or command said no: nothing stored) or
        :class:`FilterUnavailable` (an essential filter cannot run: nothing stored).
        """
        if author.is_bot:
            await self.in_thread(self.get_channel, channel_id)
            await self.in_thread(self._ensure_member, author.id, channel_id)
        else:
            await self.in_thread(self.require_member, author, channel_id)
        problem = check_text(text)
        if problem:
            raise InvalidInput(problem)
        draft = await self._filter("message_will_post",
                                   MessageDraft(text=text, channel_id=channel_id, author=author))
        notices: list[str] = []
        reply_draft = None
        command = None if author.is_bot else self._command_for(draft.text)
        if command is not None:
            reply = await self._run_command(command, draft, author, notices)
            if reply is not None:
                bot, reply_text = reply
                await self.in_thread(self._ensure_member, bot.id, channel_id)
                try:
                    reply_draft = await self._filter("message_will_post", MessageDraft(
                        text=reply_text, channel_id=channel_id, author=bot))
                except (MessageRejected, FilterUnavailable) as exc:
                    notices.append(f"the reply to /{command[1].name} was not posted: {exc}")
        drafts = [d for d in (draft, reply_draft) if d is not None]
        stored = await self._in_order(
            channel_id, functools.partial(self._store_all, drafts),
            lambda stored: [{"type": "message.created", "channel_id": channel_id,
                             "message": message.as_dict()} for message in stored])
        for message in stored:
            await self._after("message_posted", "message.posted",
                              {"message": message.as_dict()}, message=message)
        return PostResult(stored[0], stored[1:], notices)

    def _store_all(self, drafts: list[MessageDraft]) -> list[Message]:
        """Store the message(s) and their events in one transaction."""
        with self.database.engine.begin() as conn:
            return [self._store(conn, d) for d in drafts]

    async def _in_order(self, channel_id: int, write: Callable[[], R],
                        events: Callable[[R], list[dict[str, Any]]]) -> R:
        """``write()`` in a worker thread, then publish ``events(result)`` to the
        channel, in one section per channel: what is stored first is published first.

        Shielded: a request cancelled meanwhile still publishes what was stored.
        """
        lock = self._ordered.setdefault(channel_id, asyncio.Lock())

        async def section() -> R:
            async with lock:
                result = await self.in_thread(write)
                for event in events(result):
                    self.publisher.publish(channel_id, event)
                return result

        return await asyncio.shield(section())

    def list_messages(self, channel_id: int, *, before: int | None = None,
                      limit: int = 50) -> MessagePage:
        """Up to ``limit`` messages older than message id ``before`` (default: the newest),
        oldest first within the page."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        self.get_channel(channel_id)
        query = self._message_query().where(t.messages.c.channel_id == channel_id)
        if before is not None:
            query = query.where(t.messages.c.id < before)
        query = query.order_by(t.messages.c.id.desc()).limit(limit + 1)
        with self.database.engine.connect() as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        page = [self._message(r) for r in reversed(rows[:limit])]
        return MessagePage(page, page[0].id if more and page else None)

    def get_message(self, message_id: int) -> Message:
        """The message with ``message_id`` or :class:`NotFound`."""
        with self.database.engine.connect() as conn:
            row = conn.execute(self._message_query()
                               .where(t.messages.c.id == message_id)).first()
        if row is None:
            raise NotFound(f"no message with id {message_id}")
        return self._message(row)

    async def edit_message(self, message_id: int, text: str, *, by: User | None) -> Message:
        """Change a message's text (``by`` its author; None: the admin).

        The new text passes the ``message_will_update`` filters first.
        """
        message = await self.in_thread(self._may_change, message_id, by, "edit")
        problem = check_text(text)
        if problem:
            raise InvalidInput(problem)
        author = await self.in_thread(self.get_user, message.author_id)
        draft = await self._filter("message_will_update", MessageDraft(
            text=text, channel_id=message.channel_id, author=author, message_id=message.id,
            previous_text=message.text))
        updated = Message(id=message.id, channel_id=message.channel_id,
                          author_id=message.author_id, author=message.author,
                          text=draft.text, created_at=message.created_at, edited_at=_now())
        payload = {"message": updated.as_dict(), "previous_text": message.text}
        await self._in_order(
            message.channel_id, functools.partial(self._update, updated, payload),
            lambda _: [{"type": "message.updated", "channel_id": message.channel_id,
                        "message": updated.as_dict()}])
        await self._after("message_updated", "message.updated", payload,
                          message=updated, previous_text=message.text)
        return updated

    async def delete_message(self, message_id: int, *, by: User | None,
                             deleted_by: str = "") -> Message:
        """Delete a message (``by`` its author; None: the admin, or the moderating bot
        ``deleted_by`` names); returns it as it was."""
        message = await self.in_thread(self._may_change, message_id, by, "delete")
        deleted_by = deleted_by or (by.name if by is not None else "admin")
        payload = {"message": message.as_dict(), "deleted_by": deleted_by}
        await self._in_order(
            message.channel_id, functools.partial(self._delete, message.id, payload),
            lambda _: [{"type": "message.deleted", "channel_id": message.channel_id,
                        "message": message.as_dict()}])
        await self._after("message_deleted", "message.deleted", payload,
                          message=message, deleted_by=deleted_by)
        return message

    def _update(self, updated: Message, payload: dict[str, Any]) -> None:
        """Store an edited message's text and its ``message.updated`` event."""
        with self.database.engine.begin() as conn:
            result = conn.execute(sa.update(t.messages).where(t.messages.c.id == updated.id)
                                  .values(text=updated.text, edited_at=updated.edited_at))
            if not result.rowcount:  # deleted meanwhile
                raise NotFound(f"no message with id {updated.id}")
            self._record(conn, "message.updated", payload)

    def _delete(self, message_id: int, payload: dict[str, Any]) -> None:
        """Delete a message and store its ``message.deleted`` event."""
        with self.database.engine.begin() as conn:
            result = conn.execute(sa.delete(t.messages).where(t.messages.c.id == message_id))
            if not result.rowcount:  # deleted meanwhile
                raise NotFound(f"no message with id {message_id}")
            self._record(conn, "message.deleted", payload)

    def _may_change(self, message_id: int, by: User | None, action: str) -> Message:
        message = self.get_message(message_id)
        if by is not None and by.id != message.author_id:
            raise Forbidden(f"only the author of a message (or an admin) may {action} it")
        return message

    def _store(self, conn: sa.Connection, draft: MessageDraft) -> Message:
        """Insert the message and record ``message.posted`` in the same transaction."""
        created = _now()
        result = conn.execute(sa.insert(t.messages).values(
            channel_id=draft.channel_id, author_id=draft.author.id, text=draft.text,
            created_at=created))
        message = Message(id=int(result.inserted_primary_key[0]),  # type: ignore[index]
                          channel_id=draft.channel_id, author_id=draft.author.id,
                          author=draft.author.name, text=draft.text, created_at=created)
        self._record(conn, "message.posted", {"message": message.as_dict()})
        return message

    @staticmethod
    def _message_query() -> sa.Select[Any]:
        return sa.select(t.messages, t.users.c.name.label("author")).select_from(
            t.messages.outerjoin(t.users, t.messages.c.author_id == t.users.c.id))

    @staticmethod
    def _message(row: Any) -> Message:
        return Message(id=row.id, channel_id=row.channel_id, author_id=row.author_id,
                       author=row.author or "", text=row.text,
                       created_at=_utc(row.created_at), edited_at=_utc(row.edited_at))

    # --- slash commands ------------------------------------------------------------

    def add_command(self, plugin: str, command: SlashCommand) -> None:
        """Route ``/name`` to ``plugin``; a name another plugin holds is refused."""
        if not isinstance(command, SlashCommand):
            raise TypeError(f"expected SlashCommand, got {type(command).__name__}")
        owner = self._commands.get(command.name)
        if owner is not None and owner[0] != plugin:
            raise ValueError(f"slash command /{command.name} refused: plugin {owner[0]!r} "
                             "registered it first")
        self._commands[command.name] = (plugin, command)

    def remove_plugin(self, plugin: str) -> None:
        """Forget the slash commands of ``plugin`` (disabled or quarantined)."""
        self._commands = {k: v for k, v in self._commands.items() if v[0] != plugin}

    def commands(self) -> dict[str, tuple[str, str]]:
        """``{name: (plugin, help)}`` of the registered slash commands."""
        return {name: (plugin, cmd.help) for name, (plugin, cmd) in sorted(
            self._commands.items())}

    def _command_for(self, text: str) -> tuple[str, SlashCommand, str] | None:
        return find_command(self._commands, text)

    async def _run_command(self, found: tuple[str, SlashCommand, str], draft: MessageDraft,
                           author: User, notices: list[str]) -> tuple[User, str] | None:
        """Run a command's handler; the bot user and reply text, or None for no reply."""
        return await run_command(self.dispatcher.calls, found, draft, author, notices,
                                 timeout=self.settings.command_timeout,
                                 bot_user=lambda plugin: self.in_thread(self.bot_user, plugin))

    # --- hooks ---------------------------------------------------------------------

    @functools.cached_property
    def _filters(self) -> FilterChain:
        return FilterChain(self)

    def essential(self, hook: str) -> list[str]:
        """Plugins whose manifest declares ``hook`` essential."""
        return list(self._filters.essential(hook))

    async def _filter(self, hook: str, draft: MessageDraft) -> MessageDraft:
        """Run the filters of ``hook`` in order on ``draft``; the draft to store
        (see :mod:`plexichat.chat.filters`)."""
        return await self._filters.run(hook, draft)

    def _record(self, conn: sa.Connection, event: str, payload: dict[str, Any]) -> None:
        """Keep ``event`` for webhook delivery, in the transaction that stores the change:
        both are kept or neither."""
        webhooks = self.services.webhooks
        if webhooks is None:
            return
        if "connection" in inspect.signature(webhooks.record).parameters:
            webhooks.record(event, "core", payload, connection=conn)
        else:  # a replacement outbox without transactions of its own
            webhooks.record(event, "core", payload)

    async def _after(self, hook: str, event: str, payload: dict[str, Any],
                     **kwargs: Any) -> None:
        """After the fact: run ``hook`` for each plugin, then emit ``event``."""
        dispatcher = self.dispatcher
        for plugin in dispatcher.implementers(hook):
            await dispatcher.acall(hook, only=plugin, timeout=self.settings.filter_timeout,
                                   sync_in_thread=True, context=self._filters.context(plugin),
                                   **kwargs)
        events = self.services.events
        if events is not None:
            try:
                await events.emit(event, **payload)
            except EventRejected as exc:  # nothing to stop: it has happened
                log.warning("a pre handler of %s tried to reject it: %s", event, exc)
