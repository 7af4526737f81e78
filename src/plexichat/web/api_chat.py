"""The chat over HTTP: ``/api/v1/users``, ``/api/v1/channels``, ``/api/v1/messages``, and
the WebSocket ``/api/v1/ws``.

Requests authenticate with ``Authorization: Bearer <user token>`` (from
``POST /api/v1/users/login``; it expires after ``PLEXICHAT_TOKEN_TTL`` seconds and
``POST /api/v1/users/logout`` revokes it). Failed logins are throttled per user name and
per client address (:mod:`plexichat.services.login_throttle`): 429 with ``Retry-After``.
Editing and deleting a message also accept the admin
token. Every refusal of the chat service (:class:`~plexichat.chat.errors.ChatError`)
becomes its HTTP status with the service's reason as ``detail``, unchanged.

The WebSocket ``/api/v1/ws`` takes the user token as ``Authorization: Bearer <token>``,
as ``?token=<token>``, or — what a browser, which cannot set headers, should use, so the
token stays out of URLs and access logs — as the first message after connecting:
``{"type": "auth", "token": "<token>"}`` within :data:`AUTH_TIMEOUT` seconds. It then
sends
``{"type": "ready", "user": {...}, "channels": [ids]}``, then one JSON object per
``message.created``, ``message.updated`` and ``message.deleted`` of the channels the
user has joined (joining while connected counts), in the order they were stored:
``{"type": ..., "channel_id": ..., "message": {...}, "seq": n}``. A client that falls
too far behind is disconnected (close code 1013).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, WebSocket
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocketDisconnect

from ..audit import Actor, AuditAction
from ..chat.errors import ChatError, Unauthorized
from ..chat.fanout import Subscription
from ..chat.service import MAX_PAGE, MAX_TEXT, ChatService, PostResult
from ..chat.types import Channel, Message, User
from ..services.login_throttle import LoginKeys, LoginThrottle
from .auth import admin_actor, client_address
from .path_ids import ResourceId, before_id

__all__ = ["router", "ws_router"]

router = APIRouter(prefix="/api/v1", tags=["chat"])
ws_router = APIRouter()

_BEARER = {"WWW-Authenticate": "Bearer"}


# --- models ------------------------------------------------------------------------------


class Credentials(BaseModel):
    """A user name and password (to register, or to log in)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "ada", "password": "correct horse battery"}]})

    name: str = Field(description="2-40 letters, digits, '.', '_' or '-'; unique "
                      "regardless of case.")
    password: str = Field(description="8 to 1024 characters.")


class UserOut(BaseModel):
    """A user (never with a password hash)."""

    id: int = Field(examples=[1])
    name: str = Field(examples=["ada"])
    is_bot: bool = Field(description="Bot users speak for a plugin and cannot log in.",
                         examples=[False])
    bot_plugin: str | None = Field(default=None, examples=[None])
    created_at: dt.datetime | None = Field(default=None, examples=["2026-01-02T10:00:00Z"])

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, name=user.name, is_bot=user.is_bot,
                   bot_plugin=user.bot_plugin, created_at=user.created_at)


class TokenOut(BaseModel):
    """A new bearer token: send it as ``Authorization: Bearer <token>``."""

    token: str = Field(examples=["3q2-Vb7WQm2kY8hJ0nq0f3T6sN4oU1xA9cR5eL7iD2w"])
    token_type: str = "bearer"
    user: UserOut


class ChannelIn(BaseModel):
    """A channel to create."""

    name: str = Field(description="1-64 lower-case letters, digits, '_' or '-'.",
                      examples=["general"])
    topic: str = Field(default="", max_length=250)


class ChannelOut(BaseModel):
    """A channel, and whether the requesting user has joined it."""

    id: int = Field(examples=[1])
    name: str = Field(examples=["general"])
    topic: str = Field(examples=["Anything goes"])
    created_by: str = Field(description="The name of the user who created it.",
                            examples=["ada"])
    created_at: dt.datetime | None = Field(default=None, examples=["2026-01-02T10:05:00Z"])
    joined: bool = Field(examples=[True])

    @classmethod
    def of(cls, channel: Channel, joined: bool) -> ChannelOut:
        return cls(id=channel.id, name=channel.name, topic=channel.topic,
                   created_by=channel.created_by, created_at=channel.created_at,
                   joined=joined)


class MessageIn(BaseModel):
    """The text of a message to post, or the new text of an edited one."""

    text: str = Field(min_length=1, max_length=MAX_TEXT,
                      description="A text beginning with /name runs the slash command "
                      "`name` when a plugin registered it.", examples=["hello, world"])


class MessageOut(BaseModel):
    """A stored message."""

    id: int = Field(examples=[42])
    channel_id: int = Field(examples=[1])
    author_id: int = Field(examples=[1])
    author: str = Field(description="The author's user name (bot:<plugin> for a bot).",
                        examples=["ada"])
    text: str = Field(examples=["hello, world"])
    created_at: dt.datetime | None = Field(default=None, examples=["2026-01-02T10:06:00Z"])
    edited_at: dt.datetime | None = Field(default=None, examples=[None])

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(id=message.id, channel_id=message.channel_id,
                   author_id=message.author_id, author=message.author, text=message.text,
                   created_at=message.created_at, edited_at=message.edited_at)


class PostedMessage(MessageOut):
    """The stored message, as the message filters left it, and what it caused."""

    replies: list[MessageOut] = Field(
        default_factory=list, description="Bot replies a slash command posted.",
        examples=[[]])
    notices: list[str] = Field(
        default_factory=list, description="Why a slash command gave no reply, if it "
        "failed or its reply was refused.", examples=[[]])

    @classmethod
    def of_result(cls, result: PostResult) -> PostedMessage:
        return cls(**MessageOut.of(result.message).model_dump(),
                   replies=[MessageOut.of(m) for m in result.replies],
                   notices=list(result.notices))


class MessagePageOut(BaseModel):
    """A page of messages, oldest first."""

    messages: list[MessageOut]
    next_before: int | None = Field(
        description="Pass as ?before= for the next older page; null when there is none.",
        examples=[42])


class ErrorOut(BaseModel):
    """Why the request was refused."""

    detail: str = Field(examples=["no channel with id 7"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut} for code in codes}


def _link(path: str, method: str, parameter: str, description: str) -> dict[str, Any]:
    """An OpenAPI link: the ``id`` of this response is ``parameter`` of that operation."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}",
            "parameters": {parameter: "$response.body#/id"}, "description": description}


_CHANNEL_LINKS = {"links": {
    "PostMessage": _link("/api/v1/channels/{channel_id}/messages", "post", "channel_id",
                         "Post a message to the new channel."),
    "ListMessages": _link("/api/v1/channels/{channel_id}/messages", "get", "channel_id",
                          "Read the new channel's messages."),
    "JoinChannel": _link("/api/v1/channels/{channel_id}/join", "post", "channel_id",
                         "Join the new channel."),
}}
_MESSAGE_LINKS = {"links": {
    "EditMessage": _link("/api/v1/messages/{message_id}", "patch", "message_id",
                         "Edit the message just posted."),
    "DeleteMessage": _link("/api/v1/messages/{message_id}", "delete", "message_id",
                           "Delete the message just posted."),
}}


# --- authentication ----------------------------------------------------------------------


def _chat(request: Request) -> ChatService:
    chat: ChatService = request.app.state.host.services.chat
    return chat


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "send 'Authorization: Bearer <token>' (log in at "
                            "POST /api/v1/users/login)", headers=_BEARER)
    return token.strip()


def current_user(request: Request) -> User:
    """FastAPI dependency: the user whose bearer token came with the request (401 saying
    why not: unknown, revoked, or "token expired; log in again")."""
    try:
        return _chat(request).check_token(_bearer(request))
    except Unauthorized as exc:
        raise HTTPException(401, str(exc), headers=_BEARER) from None


def current_actor(request: Request) -> User | None:
    """Like :func:`current_user`, but the admin token is accepted too (-> None)."""
    token = _bearer(request)
    try:
        return _chat(request).check_token(token)
    except Unauthorized as exc:
        credential = request.app.state.admin_token.credential(token)
        if credential is not None:
            request.state.admin_credential = credential  # for the audit (admin_actor)
            return None
        raise HTTPException(401, str(exc), headers=_BEARER) from None


CurrentUser = Annotated[User, Depends(current_user)]
CurrentActor = Annotated[User | None, Depends(current_actor)]


def _http(exc: ChatError) -> HTTPException:
    return HTTPException(exc.status, str(exc))


# --- users -------------------------------------------------------------------------------


@router.post("/users", response_model=UserOut, status_code=201,
             responses=_errors(400, 409))
async def register(body: Credentials, request: Request) -> UserOut:
    """Register a user. Log in afterwards for a token."""
    try:
        return UserOut.of(await _chat(request).register(body.name, body.password))
    except ChatError as exc:
        raise _http(exc) from None


@router.post("/users/login", response_model=TokenOut, responses={
    **_errors(401),
    429: {"model": ErrorOut, "description": "Too many failed logins for this user name or "
          "from this address: every attempt, with the right password too, is refused "
          "until `Retry-After` seconds have passed."},
    503: {"model": ErrorOut, "description": "Replicas only: the cluster's shared state "
          "(Redis), where failed logins are counted, cannot be reached; try again after "
          "`Retry-After` seconds."}})
async def login(body: Credentials, request: Request) -> TokenOut:
    """Check the password and hand out a new bearer token.

    The token expires after ``PLEXICHAT_TOKEN_TTL`` seconds (30 days by default).
    After ``PLEXICHAT_LOGIN_MAX_FAILURES`` (5) failed logins for one user name, or from
    one address, within 15 minutes of the first, logins are refused with 429 and
    ``Retry-After`` (doubling with each further failure), the right password included,
    until the wait is over.
    """
    throttle: LoginThrottle = request.app.state.login_throttle
    keys = LoginKeys.of("chat", body.name, request.client.host if request.client else None)
    wait = await throttle.retry_after(keys)
    if wait is not None:
        raise HTTPException(429, f"too many failed logins; try again in {wait} s",
                            headers={"Retry-After": str(wait)})
    try:
        token, user = await _chat(request).login(body.name, body.password)
    except Unauthorized as exc:
        await throttle.failed(keys)
        await request.app.state.host.audit.arecord(
            Actor.chat_user(body.name, client_address(request)),
            AuditAction.CHAT_LOGIN_FAILED, target="/api/v1/users/login")
        raise _http(exc) from None
    except ChatError as exc:
        raise _http(exc) from None
    await throttle.succeeded(keys)
    return TokenOut(token=token, user=UserOut.of(user))


@router.post("/users/logout", status_code=204, responses=_errors(401))
async def logout(user: CurrentUser, request: Request) -> Response:
    """Revoke the token this request came with: it no longer works afterwards."""
    chat = _chat(request)
    await chat.in_thread(chat.logout, _bearer(request))
    return Response(status_code=204)


@router.get("/users/me", response_model=UserOut, responses=_errors(401))
async def me(user: CurrentUser) -> UserOut:
    """The user the token belongs to."""
    return UserOut.of(user)


# --- channels ----------------------------------------------------------------------------


@router.post("/channels", response_model=ChannelOut, status_code=201,
             responses={**_errors(400, 401, 409), 201: _CHANNEL_LINKS})
async def create_channel(body: ChannelIn, user: CurrentUser, request: Request) -> ChannelOut:
    """Create a channel; its creator joins it."""
    try:
        channel = await _chat(request).create_channel(user, body.name, body.topic)
    except ChatError as exc:
        raise _http(exc) from None
    return ChannelOut.of(channel, joined=True)


@router.get("/channels", response_model=list[ChannelOut], responses=_errors(401))
async def list_channels(user: CurrentUser, request: Request) -> list[ChannelOut]:
    """Every channel, by name, with ``joined`` for the requesting user."""
    chat = _chat(request)
    joined = await chat.in_thread(chat.joined_channel_ids, user.id)
    return [ChannelOut.of(c, c.id in joined) for c in await chat.in_thread(chat.list_channels)]


@router.post("/channels/{channel_id}/join", response_model=ChannelOut,
             responses=_errors(401, 404))
async def join_channel(channel_id: ResourceId, user: CurrentUser,
                       request: Request) -> ChannelOut:
    """Join a channel: read and post its messages, receive them on the WebSocket."""
    try:
        channel = await _chat(request).join(user, channel_id)
    except ChatError as exc:
        raise _http(exc) from None
    return ChannelOut.of(channel, joined=True)


# --- messages ----------------------------------------------------------------------------


@router.post("/channels/{channel_id}/messages", response_model=PostedMessage,
             status_code=201, responses={
                 201: _MESSAGE_LINKS,
                 **_errors(401, 403, 404),
                 400: {"model": ErrorOut, "description": "Empty or too long, or a plugin's "
                       "filter or slash command rejected it (the detail names the plugin "
                       "and its reason; plugins may use another 4xx)."},
                 429: {"model": ErrorOut, "description": "A plugin's rate limit (such as "
                       "the moderation plugin's) refused it; `Retry-After` says when to "
                       "try again."},
                 503: {"model": ErrorOut, "description": "A filter a plugin declared "
                       "essential cannot run; nothing was stored."}})
async def post_message(channel_id: ResourceId, body: MessageIn, user: CurrentUser,
                       request: Request) -> PostedMessage:
    """Post a message to a joined channel.

    The message passes the plugins' ``message_will_post`` filters, which may change its
    text (the response shows what was stored) or reject it. A text beginning with
    ``/name`` runs the slash command ``name``; its reply is in ``replies``.
    """
    try:
        result = await _chat(request).post_message(user, channel_id, body.text)
    except ChatError as exc:
        raise _http(exc) from None
    return PostedMessage.of_result(result)


@router.get("/channels/{channel_id}/messages", response_model=MessagePageOut,
            responses=_errors(400, 401, 403, 404))
async def list_messages(
    channel_id: ResourceId, user: CurrentUser, request: Request,
    before: Annotated[int | None, before_id("Only messages with a smaller id (the "
                                            "next_before of the previous page).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> MessagePageOut:
    """A page of a joined channel's messages: the newest ``limit`` before ``before``."""
    chat = _chat(request)
    try:
        await chat.in_thread(chat.require_member, user, channel_id)
        page = await chat.in_thread(chat.list_messages, channel_id, before=before, limit=limit)
    except ChatError as exc:
        raise _http(exc) from None
    return MessagePageOut(messages=[MessageOut.of(m) for m in page.messages],
                          next_before=page.next_before)


@router.patch("/messages/{message_id}", response_model=MessageOut,
              responses=_errors(400, 401, 403, 404, 503))
async def edit_message(message_id: ResourceId, body: MessageIn, actor: CurrentActor,
                       request: Request) -> MessageOut:
    """Change a message's text: its author, or the admin token.

    The new text passes the ``message_will_update`` filters first.
    """
    try:
        message = await _chat(request).edit_message(message_id, body.text, by=actor)
    except ChatError as exc:
        raise _http(exc) from None
    if actor is None:  # the admin changed a user's message
        await _audit_admin(request, AuditAction.CHAT_MESSAGE_EDIT, message)
    return MessageOut.of(message)


@router.delete("/messages/{message_id}", status_code=204,
               responses=_errors(401, 403, 404))
async def delete_message(message_id: ResourceId, actor: CurrentActor,
                         request: Request) -> Response:
    """Delete a message: its author, or the admin token."""
    try:
        message = await _chat(request).delete_message(message_id, by=actor)
    except ChatError as exc:
        raise _http(exc) from None
    if actor is None:  # the admin deleted a user's message
        await _audit_admin(request, AuditAction.CHAT_MESSAGE_DELETE, message)
    return Response(status_code=204)


async def _audit_admin(request: Request, action: AuditAction, message: Message) -> None:
    """Record the admin token changing a user's message (a failure is logged)."""
    await request.app.state.host.audit.arecord(
        admin_actor(request), action, target=f"message:{message.id}",
        details={"channel_id": message.channel_id, "author_id": message.author_id})


# --- WebSocket ---------------------------------------------------------------------------


AUTH_TIMEOUT = 10.0
"""Seconds a WebSocket opened without a token has to send its ``auth`` message."""


@ws_router.websocket("/api/v1/ws")
async def events(websocket: WebSocket, token: str | None = None) -> None:
    """Deliver the message events of the user's channels (see the module docstring)."""
    chat: ChatService = websocket.app.state.host.services.chat
    if token is None:
        scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if token is None:  # a browser cannot send headers: its first message carries the token
        await websocket.accept()
        token = await _auth_message(websocket)
        if token is None:
            return
        try:
            user = await chat.in_thread(chat.check_token, token)
        except Unauthorized as exc:  # unknown, revoked or expired: the reason says which
            await websocket.close(code=1008, reason=str(exc))
            return
        await _deliver(websocket, chat, user, chat.fanout.subscribe(
            user.id, await chat.in_thread(chat.joined_channel_ids, user.id)))
        return
    known = await chat.in_thread(chat.authenticate, token)
    if known is None:  # refused before the handshake completes: the client sees HTTP 403
        await websocket.close(code=1008, reason="a valid user token is required "
                              "(?token=<token>, Authorization: Bearer <token>, or a "
                              'first message {"type": "auth", "token": <token>})')
        return
    user = known
    # Subscribe before accepting, so nothing stored after the handshake is missed.
    joined = await chat.in_thread(chat.joined_channel_ids, user.id)
    sub = chat.fanout.subscribe(user.id, joined)
    await _deliver(websocket, chat, user, sub, accept=True)


async def _auth_message(websocket: WebSocket) -> str | None:
    """The token of the first message, ``{"type": "auth", "token": ...}``; None (and the
    connection closed) when the client sends anything else or nothing in time."""
    refusal = ('send {"type": "auth", "token": "<user token>"} as the first message, '
               f"within {AUTH_TIMEOUT:g} s")
    try:
        data = await asyncio.wait_for(websocket.receive_json(), AUTH_TIMEOUT)
    except WebSocketDisconnect:
        return None
    except (asyncio.TimeoutError, ValueError, KeyError):  # silent, not JSON, not text
        data = None
    if (isinstance(data, dict) and data.get("type") == "auth"
            and isinstance(data.get("token"), str)):
        return str(data["token"])
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.close(code=1008, reason=refusal)
    return None


async def _deliver(websocket: WebSocket, chat: ChatService, user: User,
                   sub: Subscription, *, accept: bool = False) -> None:
    """(Accept, then) send ``ready``, then every event of ``sub`` until either side goes
    away; ``sub`` ends with it."""
    try:
        if accept:
            await websocket.accept()
        await websocket.send_json({"type": "ready", "user": user.as_dict(),
                                   "channels": sorted(sub.channels)})

        async with anyio.create_task_group() as tasks:

            async def send() -> None:
                with contextlib.suppress(WebSocketDisconnect):  # the client went away
                    while (event := await sub.next()) is not None:
                        await websocket.send_json(event)
                    await websocket.close(code=1013, reason="too far behind; reconnect and "
                                          "fetch missed messages over REST")
                tasks.cancel_scope.cancel()

            async def receive() -> None:  # clients send nothing we act on; this sees them go
                with contextlib.suppress(WebSocketDisconnect):
                    while (await websocket.receive())["type"] != "websocket.disconnect":
                        pass
                tasks.cancel_scope.cancel()

            tasks.start_soon(send)
            tasks.start_soon(receive)
    except WebSocketDisconnect:  # gone before the first message
        pass
    finally:
        chat.fanout.unsubscribe(sub)
