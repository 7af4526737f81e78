"""The chat core plugins extend: users, channels, messages.

Plugins use :class:`MessageDraft` and :class:`Reject` in their ``message_will_post`` /
``message_will_update`` filters and :class:`SlashCommand` in
``register_slash_commands``; they reach the chat through ``context.chat``
(``chat:read`` / ``chat:write``). The service itself is :class:`ChatService`
(``plexichat.chat.service``), ``host.services.chat`` in a running host.
"""

from __future__ import annotations

from .errors import ChatError, FilterUnavailable, MessageRejected
from .types import Channel, CommandCall, Message, MessageDraft, Reject, SlashCommand, User

__all__ = [
    "Channel",
    "ChatError",
    "CommandCall",
    "FilterUnavailable",
    "Message",
    "MessageDraft",
    "MessageRejected",
    "Reject",
    "SlashCommand",
    "User",
]
