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

from ..audit import Actor, AuditAction
from ..config import HostSettings
from ..services.security import SecurityService, hash_token, verify_token
from ..storage import HostStore

__all__ = ["ADMIN_TOKEN", "CLI_TOKEN", "AdminToken", "admin_actor", "client_address",
           "require_admin"]

log = logging.getLogger("plexichat.auth")

_HASH_KEY = "admin_token_hash"

ADMIN_TOKEN = "admin-token"
"""The audit's name of the configured (or generated) admin token."""
CLI_TOKEN = "cli-token"
"""The audit's name of the token a served host hands the local CLI."""


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
        return self.credential(token) is not None

    def credential(self, token: str) -> str | None:
        """Which token ``token`` is: ``admin-token``, ``cli-token`` (this run's CLI
        token), or None when it is neither."""
        if self._local and hmac.compare_digest(token.encode(), self._local.encode()):
            return CLI_TOKEN
        if self._plain:
            return ADMIN_TOKEN if hmac.compare_digest(token.encode(),
                                                      self._plain.encode()) else None
        if self._hash is None:
            self._hash = self._store.host_value(_HASH_KEY)
        return ADMIN_TOKEN if self._hash is not None and verify_token(token, self._hash) \
            else None


def require_admin(request: Request) -> None:
    """FastAPI dependency: 401 without a bearer token, 403 with a wrong one.

    Plugins guard their own routes with it (``from plexichat import require_admin``):
    ``APIRouter(dependencies=[Depends(require_admin)])``, or one route's
    ``dependencies=[...]``. Call it with the request to check a token by hand.

    A wrong token is recorded in the audit trail (``admin.token_refused``, with the
    client's address); a right one is remembered on the request for
    :func:`admin_actor`.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "admin token required: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    admin: AdminToken = request.app.state.admin_token
    credential = admin.credential(token.strip())
    if credential is None:
        request.app.state.host.audit.record_soon(
            Actor.admin("", client_address(request)), AuditAction.ADMIN_TOKEN_REFUSED,
            target=f"{request.method} {request.url.path}")
        raise HTTPException(403, "the admin token is not valid")
    request.state.admin_credential = credential


def client_address(request: Request) -> str:
    """The address the request came from (the peer's, as the server saw it)."""
    return request.client.host if request.client else ""


def admin_actor(request: Request) -> Actor:
    """The admin behind a request :func:`require_admin` let through, for the audit."""
    return Actor.admin(getattr(request.state, "admin_credential", ADMIN_TOKEN),
                       client_address(request))
