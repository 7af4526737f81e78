"""The web UI's sessions: the admin token opens one, a cookie names it.

The cookie holds a random session id (``HttpOnly``, ``SameSite=Strict``, path ``/``),
never the token; sessions live in this process's memory, keyed by a hash of the id.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

__all__ = ["SESSION_COOKIE", "SESSION_LIFETIME", "Answer", "Sessions", "UISession",
           "current_session", "local_target", "require_login", "session_cookie",
           "sessions_of"]

SESSION_COOKIE = "plexichat_session"
SESSION_LIFETIME = 12 * 3600
"""Seconds a UI session lasts."""


class Answer(Exception):
    """Raised by helpers to answer a request at once (a redirect, a 403 page)."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass
class UISession:
    """One logged-in browser."""

    csrf: str
    expires: float
    flashes: list[tuple[str, str]] = field(default_factory=list)

    def flash(self, kind: str, message: str) -> None:
        """A message shown once on the next page."""
        self.flashes.append((kind, message))


class Sessions:
    """Server-side sessions keyed by a hash of the random id the cookie carries."""

    def __init__(self, lifetime: float = SESSION_LIFETIME, limit: int = 10_000) -> None:
        self.lifetime = lifetime
        self.limit = limit
        self._items: dict[str, UISession] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()

    def create(self) -> tuple[str, UISession]:
        """A new session and the id to put in the cookie."""
        session_id = secrets.token_urlsafe(32)
        session = UISession(csrf=secrets.token_urlsafe(32),
                            expires=time.monotonic() + self.lifetime)
        with self._lock:
            now = time.monotonic()
            for key in [k for k, s in self._items.items() if s.expires < now]:
                del self._items[key]
            while len(self._items) >= self.limit:  # the oldest goes first
                del self._items[next(iter(self._items))]
            self._items[self._key(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> UISession | None:
        """The live session of ``session_id``, if any."""
        if not session_id:
            return None
        key = self._key(session_id)
        with self._lock:
            session = self._items.get(key)
            if session is not None and session.expires < time.monotonic():
                del self._items[key]
                return None
        return session

    def drop(self, session_id: str | None) -> None:
        """End a session (logout)."""
        if session_id:
            with self._lock:
                self._items.pop(self._key(session_id), None)


def sessions_of(request: Request) -> Sessions:
    """The app's session store."""
    return request.app.state.ui_sessions  # type: ignore[no-any-return]


def current_session(request: Request) -> UISession | None:
    """The logged-in session of this request, if any."""
    return sessions_of(request).get(request.cookies.get(SESSION_COOKIE))


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


def require_login(request: Request) -> UISession:
    """The session, or an answer sending the browser to the login form."""
    session = current_session(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Answer(RedirectResponse(
            "/login?" + urllib.parse.urlencode({"next": target}), status_code=303))
    return session
