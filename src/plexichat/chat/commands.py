"""Slash commands: ``/name args`` in a message runs the handler a plugin registered.

The handler receives a :class:`~plexichat.chat.types.CommandCall` and may answer with
text (posted by the plugin's bot user), a :class:`~plexichat.chat.types.MessageDraft`
(its text is posted), a :class:`~plexichat.chat.types.Reject` (the message is refused)
or None (no reply). A handler that raises, does not answer within ``command_timeout``
or replies with something that cannot be posted is counted against its plugin; the
message is posted anyway with a notice saying so.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from ..kernel.calls import HookTimeout, PluginCalls
from .errors import MessageRejected
from .filters import check_text
from .types import CommandCall, MessageDraft, Reject, SlashCommand, User

__all__ = ["find_command", "run_command"]

_COMMAND_RE = re.compile(r"^/([a-z][a-z0-9_-]*)(?:\s+(.*))?$", re.DOTALL)


def find_command(commands: dict[str, tuple[str, SlashCommand]], text: str,
                 ) -> tuple[str, SlashCommand, str] | None:
    """``(plugin, command, args)`` when ``text`` calls a registered command, else None."""
    match = _COMMAND_RE.match(text.strip())
    if match is None or match.group(1) not in commands:
        return None
    plugin, command = commands[match.group(1)]
    return plugin, command, (match.group(2) or "").strip()


async def run_command(calls: PluginCalls, found: tuple[str, SlashCommand, str],
                      draft: MessageDraft, author: User, notices: list[str], *,
                      timeout: float, bot_user: Callable[[str], Awaitable[User]],
                      ) -> tuple[User, str] | None:
    """Run a command's handler (a plain one in a worker thread, within ``timeout``);
    the bot user and reply text, or None for no reply (``notices`` says why, if it
    failed). ``bot_user(plugin)`` is awaited: it may reach the database."""
    plugin, command, args = found
    call = CommandCall(name=command.name, args=args, user=author,
                       channel_id=draft.channel_id, text=draft.text)
    where = f"slash:{command.name}"
    try:
        value = await calls(plugin, where, command.handler, call, timeout=timeout,
                            in_thread=True)
    except HookTimeout:
        notices.append(f"/{command.name} (plugin {plugin!r}) did not answer within "
                       f"{timeout:g} s")
        return None
    except Exception as exc:
        notices.append(f"/{command.name} (plugin {plugin!r}) failed: "
                       f"{type(exc).__name__}: {exc}")
        return None
    if isinstance(value, Reject):
        raise MessageRejected(plugin, value.reason, value.status_code)
    if isinstance(value, MessageDraft):
        value = value.text
    if value is None:
        return None
    problem = check_text(value)
    if problem:
        calls.blame(plugin, where, TypeError(f"reply: {problem}"))
        notices.append(f"/{command.name} (plugin {plugin!r}) replied with something "
                       f"that cannot be posted: {problem}")
        return None
    return await bot_user(plugin), value
