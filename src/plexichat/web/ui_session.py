"""The web UI's sessions: the admin token opens one, a cookie names it.

The cookie holds a random session id (``HttpOnly``, ``SameSite=Strict``, path ``/``),
never the token. Sessions live in the host's shared ephemeral state
(:mod:`plexichat.services.ephemeral`), keyed by a hash of the id and expiring with their
lifetime: in this process's memory, or in Redis on a cluster, where a session opened
through one replica is valid on every other.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from ..audit import Actor
from ..services.ephemeral import Ephemeral, EphemeralBackend

__all__ = ["SESSION_COOKIE", "SESSION_LIFETIME", "Answer", "Sessions", "UISession",
           "current_session", "local_target", "require_login", "session_cookie",
           "sessions_of", "ui_actor"]

SESSION_COOKIE = "plexichat_session"
SESSION_LIFETIME = 12 * 3600
"""Seconds a UI session lasts."""


class Answer(Exception):
    """Raised by helpers to answer a request at once (a redirect, a 403 page)."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass
class UISession:
    """One logged-in browser. Changed flashes are kept by :meth:`Sessions.save`."""

    csrf: str
    expires: float
    """When it ends (Unix time)."""
    flashes: list[tuple[str, str]] = field(default_factory=list)
    key: str = ""
    """The hash of its id: where it is stored."""

    def flash(self, kind: str, message: str) -> None:
        """A message shown once on the next page (kept once the session is saved)."""
        self.flashes.append((kind, message))


class Sessions:
    """Server-side sessions in ``backend``, keyed by a hash of the random id the cookie
    carries; each expires ``lifetime`` seconds after it was opened."""

    def __init__(self, backend: EphemeralBackend, lifetime: float = SESSION_LIFETIME) -> None:
        self.lifetime = lifetime
        self._store = Ephemeral(backend, "host:ui-session")

    @staticmethod
    def _key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()

    async def create(self) -> tuple[str, UISession]:
        """A new session and the id to put in the cookie."""
        session_id = secrets.token_urlsafe(32)
        session = UISession(csrf=secrets.token_urlsafe(32), expires=time.time() + self.lifetime,
                            key=self._key(session_id))
        await self.save(session)
        return session_id, session

    async def save(self, session: UISession) -> None:
        """Keep ``session`` as it is now (its flashes), until it expires."""
        left = session.expires - time.time()
        if left <= 0:
            await self._store.delete(session.key)
            return
        await self._store.set(session.key, json.dumps(
            {"csrf": session.csrf, "expires": session.expires, "flashes": session.flashes}),
            ttl=left)

    async def get(self, session_id: str | None) -> UISession | None:
        """The live session of ``session_id``, if any."""
        if not session_id:
            return None
        key = self._key(session_id)
        stored = await self._store.get(key)
        if stored is None:
            return None
        try:
            data = json.loads(stored)
            session = UISession(csrf=str(data["csrf"]), expires=float(data["expires"]),
                                flashes=[(str(k), str(m)) for k, m in data["flashes"]],
                                key=key)
        except (ValueError, KeyError, TypeError):  # not a session of this version
            return None
        return session if session.expires > time.time() else None

    async def drop(self, session_id: str | None) -> None:
        """End a session (logout)."""
        if session_id:
            await self._store.delete(self._key(session_id))


def sessions_of(request: Request) -> Sessions:
    """The app's session store."""
    return request.app.state.ui_sessions  # type: ignore[no-any-return]


async def current_session(request: Request) -> UISession | None:
    """The logged-in session of this request, if any."""
    return await sessions_of(request).get(request.cookies.get(SESSION_COOKIE))


def session_cookie(request: Request, value: str, max_age: int) -> str:
    """The ``Set-Cookie`` value carrying ``value`` (``Secure`` over https)."""
    secure = "; Secure" if request.url.scheme == "https" else ""
    return (f"{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; "
            f"SameSite=Strict{secure}")


def local_target(target: str, default: str = "/plugins") -> str:
    """``target`` if it is a path on this host (no open redirects), else ``default``."""
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 32 for c in target)):
        return default
    return target


async def require_login(request: Request) -> UISession:
    """The session, or an answer sending the browser to the login form."""
    session = await current_session(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Answer(RedirectResponse(
            "/login?" + urllib.parse.urlencode({"next": target}), status_code=303))
    return session


def ui_actor(request: Request, session: UISession) -> Actor:
    """The logged-in operator of ``session``, for the audit trail: named by the first
    characters of the session's hash (never the cookie's id), with the client address."""
    return Actor.ui_session(session.key, request.client.host if request.client else "")
