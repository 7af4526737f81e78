"""The admin token that guards every mutating endpoint.

``PLEXICHAT_ADMIN_TOKEN`` sets it. When unset, the host generates one on its first
start, prints it once, and keeps only a salted hash in the host database.

A served host also accepts the token it issued for this run to the local CLI (see
:mod:`plexichat.runtime`): the same rights, valid until the host stops.
"""

from __future__ import annotations

import hmac
import logging
import sys

from fastapi import HTTPException, Request

from ..config import HostSettings
from ..services.security import SecurityService, hash_token, verify_token
from ..storage import HostStore

__all__ = ["AdminToken", "require_admin"]

log = logging.getLogger("plexichat.auth")

_HASH_KEY = "admin_token_hash"


class AdminToken:
    """Checks bearer tokens against the configured or stored admin token."""

    def __init__(self, settings: HostSettings, store: HostStore) -> None:
        self._plain = settings.admin_token.get_secret_value() if settings.admin_token else None
        self._store = store
        self._hash: str | None = None
        self._local: str | None = None

    def allow_local(self, token: str | None) -> None:
        """Also accept ``token`` (the CLI token of this run; None: no longer)."""
        self._local = token

    def ensure(self) -> str | None:
        """Make sure a token exists; return a newly generated one (to show once)."""
        if self._plain:
            return None
        self._hash = self._store.host_value(_HASH_KEY)
        if self._hash is not None:
            return None
        token = SecurityService.new_token()
        self._hash = hash_token(token)
        self._store.set_host_value(_HASH_KEY, self._hash)
        print(f"PlexiChat admin token (shown once, store it now): {token}", file=sys.stderr,
              flush=True)
        return token

    def check(self, token: str) -> bool:
        """True when ``token`` is the admin token (or this run's CLI token)."""
        if self._local and hmac.compare_digest(token.encode(), self._local.encode()):
            return True
        if self._plain:
            return hmac.compare_digest(token.encode(), self._plain.encode())
        if self._hash is None:
            self._hash = self._store.host_value(_HASH_KEY)
        return self._hash is not None and verify_token(token, self._hash)


def require_admin(request: Request) -> None:
    """FastAPI dependency: 401 without a bearer token, 403 with a wrong one.

    Plugins guard their own routes with it (``from plexichat import require_admin``):
    ``APIRouter(dependencies=[Depends(require_admin)])``, or one route's
    ``dependencies=[...]``. Call it with the request to check a token by hand.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "admin token required: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    admin: AdminToken = request.app.state.admin_token
    if not admin.check(token.strip()):
        raise HTTPException(403, "the admin token is not valid")
