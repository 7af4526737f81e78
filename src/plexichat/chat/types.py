"""The chat's values: what the core stores, and what plugins receive and return.

Records (:class:`User`, :class:`Channel`, :class:`Message`) are frozen snapshots of rows.
Plugins' chat hooks receive them and return typed answers: a :class:`MessageDraft` with
new text, a :class:`Reject` with a reason, or a :class:`SlashCommand` to register.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Channel",
    "CommandCall",
    "Message",
    "MessageDraft",
    "Reject",
    "SlashCommand",
    "User",
]

COMMAND_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
"""What a slash command may be called: lower case, starting with a letter, 32 at most."""


def _iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with ``Z`` for UTC, as the REST API writes it."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class User:
    """A chat user. Bot users (``is_bot``) belong to a plugin and cannot log in."""

    id: int
    name: str
    is_bot: bool = False
    bot_plugin: str | None = None
    """The plugin a bot user speaks for (``bot:<plugin>``)."""
    created_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON data (what events and webhooks carry)."""
        return {"id": self.id, "name": self.name, "is_bot": self.is_bot,
                "bot_plugin": self.bot_plugin, "created_at": _iso(self.created_at)}


@dataclass(frozen=True)
class Channel:
    """A channel users join to read and post its messages."""

    id: int
    name: str
    topic: str = ""
    created_by: str = ""
    """The name of the user who created it."""
    created_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON data (what events and webhooks carry)."""
        return {"id": self.id, "name": self.name, "topic": self.topic,
                "created_by": self.created_by, "created_at": _iso(self.created_at)}


@dataclass(frozen=True)
class Message:
    """A stored message, as it is now."""

    id: int
    channel_id: int
    author_id: int
    author: str
    """The author's user name (``bot:<plugin>`` for a bot's reply)."""
    text: str
    created_at: dt.datetime | None = None
    edited_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON data (what events, webhooks and WebSocket clients get)."""
        return {"id": self.id, "channel_id": self.channel_id, "author_id": self.author_id,
                "author": self.author, "text": self.text,
                "created_at": _iso(self.created_at), "edited_at": _iso(self.edited_at)}


@dataclass(frozen=True)
class MessageDraft:
    """A message on its way in, handed to ``message_will_post`` / ``message_will_update``.

    A filter that wants other text returns ``message.replace(text=...)``; only ``text``
    is taken from what a filter returns (the author and channel cannot be changed).
    """

    text: str
    channel_id: int
    author: User
    message_id: int | None = None
    """Set when an existing message is being edited."""
    previous_text: str | None = None
    """The stored text of a message being edited."""

    def replace(self, **changes: Any) -> MessageDraft:
        """A copy with ``changes`` applied (``draft.replace(text="...")``)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Reject:
    """A filter's (or a slash command's) refusal: nothing is stored.

    The sender gets ``status_code`` (a 4xx, 400 by default) with ``reason``, and the
    name of the plugin that refused.
    """

    reason: str
    status_code: int = 400

    def __post_init__(self) -> None:
        if not 400 <= self.status_code <= 499:
            raise ValueError(f"Reject status_code must be a 4xx, not {self.status_code}")


@dataclass(frozen=True)
class CommandCall:
    """One invocation of a slash command, handed to its handler.

    For ``/roll 2d6`` in channel 3: ``name="roll"``, ``args="2d6"``.
    """

    name: str
    args: str
    user: User
    channel_id: int
    text: str
    """The whole message (after the message filters)."""


@dataclass(frozen=True)
class SlashCommand:
    """A ``/name`` command a plugin answers (returned from ``register_slash_commands``).

    ``handler(call)`` gets a :class:`CommandCall` and returns the reply text (a ``str``
    or a :class:`MessageDraft`), None for no reply, or a :class:`Reject` to refuse the
    message. It may be sync (run in a worker thread) or ``async def``. The reply is
    posted by the plugin's bot user, ``bot:<plugin>``.
    """

    name: str
    handler: Callable[..., Any]
    help: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not COMMAND_NAME_RE.match(self.name):
            raise ValueError(f"slash command name {self.name!r} is invalid: use lower-case "
                             "letters, digits, '_' or '-', starting with a letter "
                             "(without the '/')")
        if not callable(self.handler):
            raise TypeError(f"handler of /{self.name} is not callable")
