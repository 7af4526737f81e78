"""The chat page, ``/chat``: a person's way into the chat from a browser.

The page is rendered here (``templates/chat.html``, with the layout and the started
theme plugins' CSS like every page of the UI); ``static/chat.js`` does the rest against
the public chat API (:mod:`.api_chat`): it registers or logs in, lists, joins and
creates channels, loads recent messages, posts, and receives every message event of the
user's channels over the WebSocket ``/api/v1/ws``. The user token lives in the tab's
``sessionStorage`` and travels only in the ``Authorization`` header and the WebSocket's
first (``auth``) message — never in a URL, so never in an access log.

What plugins do shows as it happens: a message filter's masking (the stored text is what
everyone sees), a filter's or slash command's refusal (its reason, next to the message
box, the text kept), bot replies and command notices.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..chat.service import MAX_TEXT
from .ui_render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/chat", response_class=HTMLResponse)
async def chat_page(request: Request) -> HTMLResponse:
    """The chat page (no admin session needed: chat users log in on the page), listing
    the slash commands the running plugins answer."""
    commands = request.app.state.host.services.chat.commands()
    return await render(request, "chat.html", title="Chat", max_text=MAX_TEXT,
                        commands=[(name, plugin, text) for name, (plugin, text)
                                  in commands.items()])
