"""Why a chat operation was refused: each error carries its HTTP status and a reason.

The REST layer turns a :class:`ChatError` into a response with ``status`` and
``str(error)`` unchanged, so what a person reads is what the service said.
"""

from __future__ import annotations

__all__ = [
    "ChatError",
    "Conflict",
    "FilterUnavailable",
    "Forbidden",
    "InvalidInput",
    "MessageRejected",
    "NotFound",
    "Unauthorized",
]


class ChatError(Exception):
    """A refused chat operation; ``status`` is the HTTP status it maps to."""

    status = 400


class InvalidInput(ChatError):
    """The request itself is malformed (an empty message, a bad name …)."""

    status = 400


class Unauthorized(ChatError):
    """Wrong user name or password, or an unknown token."""

    status = 401


class Forbidden(ChatError):
    """The user may not do this (not a member, not the author)."""

    status = 403


class NotFound(ChatError):
    """No such user, channel or message."""

    status = 404


class Conflict(ChatError):
    """The name is taken."""

    status = 409


class MessageRejected(ChatError):
    """A plugin's filter (or slash command) refused the message; nothing was stored."""

    def __init__(self, plugin: str, reason: str, status: int = 400) -> None:
        self.plugin = plugin
        self.reason = reason
        self.status = status
        super().__init__(f"message rejected by plugin {plugin!r}: {reason}")


class FilterUnavailable(ChatError):
    """A filter its plugin declared essential cannot run, so the message is refused.

    Raised while that plugin is failed, quarantined or not started yet, and when its
    filter raises or times out: the message is not let through unfiltered.
    """

    status = 503

    def __init__(self, plugin: str, hook: str, problem: str) -> None:
        self.plugin = plugin
        self.hook = hook
        self.problem = problem
        super().__init__(
            f"message refused: plugin {plugin!r} declares {hook} essential and its filter "
            f"is unavailable ({problem}); messages are refused until it works again")
