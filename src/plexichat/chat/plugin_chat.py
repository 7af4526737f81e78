"""``context.chat``: the chat service as one plugin may use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..audit import Actor, AuditAction

if TYPE_CHECKING:
    from ..context import PluginContext
    from .service import ChatService, MessagePage
    from .types import Channel, Message, User

__all__ = ["PluginChat"]


class PluginChat:
    """``context.chat``: the chat as one plugin may use it.

    Reading needs ``chat:read`` (or ``chat:write``); posting needs ``chat:write`` and
    posts as the plugin's bot user, through the same filters as everyone's messages.
    What a plugin writes (posts, deletions) is recorded in the host's audit trail
    with the plugin as the actor.
    """

    def __init__(self, service: ChatService, context: PluginContext) -> None:
        self._service = service
        self._context = context

    # reading
    def authenticate(self, token: str) -> User | None:
        """The user a bearer token belongs to, or None."""
        return self._service.authenticate(token)

    def get_user(self, user_id: int) -> User:
        """The user with ``user_id``."""
        return self._service.get_user(user_id)

    def user_by_name(self, name: str) -> User | None:
        """The user called ``name``, or None."""
        return self._service.user_by_name(name)

    def list_channels(self) -> list[Channel]:
        """Every channel."""
        return self._service.list_channels()

    def get_channel(self, channel_id: int) -> Channel:
        """The channel with ``channel_id``."""
        return self._service.get_channel(channel_id)

    def list_messages(self, channel_id: int, *, before: int | None = None,
                      limit: int = 50) -> MessagePage:
        """A page of a channel's messages (see :meth:`ChatService.list_messages`)."""
        return self._service.list_messages(channel_id, before=before, limit=limit)

    def get_message(self, message_id: int) -> Message:
        """The message with ``message_id``."""
        return self._service.get_message(message_id)

    def commands(self) -> dict[str, tuple[str, str]]:
        """``{name: (plugin, help)}`` of the registered slash commands."""
        return self._service.commands()

    # writing
    def bot_user(self) -> User:
        """This plugin's bot user (``bot:<plugin>``); needs ``chat:write``."""
        self._context.require("chat", "chat:write")
        return self._service.bot_user(self._context.plugin_name)

    async def post(self, channel_id: int, text: str) -> Message:
        """Post ``text`` as this plugin's bot user; needs ``chat:write``."""
        bot = await self._service.in_thread(self.bot_user)
        result = await self._service.post_message(bot, channel_id, text)
        await self._audit(AuditAction.CHAT_BOT_POST, f"channel:{channel_id}",
                          {"message_id": result.message.id, "as": bot.name})
        return result.message

    async def delete_message(self, message_id: int) -> Message:
        """Delete any user's message (a moderator's right); needs ``chat:write``.

        Returns the message as it was; subscribers hear ``message.deleted`` with
        ``deleted_by`` naming the plugin's bot user.
        """
        self._context.require("chat", "chat:write")
        bot = await self._service.in_thread(self.bot_user)
        message = await self._service.delete_message(message_id, by=None,
                                                     deleted_by=bot.name)
        await self._audit(AuditAction.CHAT_MESSAGE_DELETE, f"message:{message_id}",
                          {"channel_id": message.channel_id,
                           "author_id": message.author_id})
        return message

    async def _audit(self, action: AuditAction, target: str, details: dict[str, object]
                     ) -> None:
        """Record what this plugin did in the audit trail (a failure is logged)."""
        trail = self._context._services.audit
        if trail is not None:
            name = self._context.plugin_name
            await trail.arecord(Actor.plugin(name), action, plugin=name, target=target,
                                details=details)
