"""Users' bearer tokens: handed out at login, stored only as SHA-256 digests, with an
expiry, revoked at logout.

A token is 32 random bytes (URL-safe base64), so a plain SHA-256 digest is enough to
keep it out of the database: there is nothing to guess. Each row carries
``expires_at`` (login time plus ``PLEXICHAT_TOKEN_TTL`` seconds); a token past it is
refused with "token expired; log in again" and its row deleted.

Databases from before tokens expired: :meth:`TokenStore.migrated` (run when the chat
starts) adds the ``expires_at`` column and **drops** every row without one, so each
token handed out before the change stops working and its user logs in again. Rows
past their expiry are dropped on start as well.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import tables as t
from .errors import Unauthorized
from .passwords import new_token, token_digest

if TYPE_CHECKING:
    from ..storage import Database

__all__ = ["TOKEN_EXPIRED", "TOKEN_UNKNOWN", "TokenStore"]

TOKEN_EXPIRED = "token expired; log in again"
"""Why an expired token is refused."""
TOKEN_UNKNOWN = "the token is not valid (log in again)"
"""Why an unknown (or revoked) token is refused."""

_SCHEMA_LOCK = 0x706C7874  # "plxt": the advisory lock key of this table's migration


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


@dataclass
class TokenStore:
    """The ``plexichat_chat_tokens`` table: issue, check and revoke users' tokens."""

    database: Database
    ttl: float
    """Seconds a token lives after its login."""
    clock: Callable[[], dt.datetime] = _utc_now
    """The current time (UTC); tests hand in their own."""

    def migrated(self) -> TokenStore:
        """Bring a table from before expiries up to date: add ``expires_at``, then drop the
        rows without one (tokens of that time stop working) and the expired ones; returns
        this store."""
        with self.database.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": _SCHEMA_LOCK})
            columns = {c["name"] for c in sa.inspect(conn).get_columns(t.tokens.name)}
            if "expires_at" not in columns:
                kind = t.tokens.c.expires_at.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(
                    f"ALTER TABLE {t.tokens.name} ADD COLUMN expires_at {kind}"))
            conn.execute(sa.delete(t.tokens).where(sa.or_(
                t.tokens.c.expires_at.is_(None), t.tokens.c.expires_at <= self.clock())))
        return self

    def issue(self, conn: sa.Connection, user_id: int) -> str:
        """A new token for ``user_id``, stored (as its digest) in ``conn``'s transaction."""
        token = new_token()
        now = self.clock()
        conn.execute(sa.insert(t.tokens).values(
            token_hash=token_digest(token), user_id=user_id, created_at=now,
            expires_at=now + dt.timedelta(seconds=self.ttl)))
        return token

    def user_row(self, token: str) -> sa.Row[Any]:
        """The ``users`` row of the user ``token`` belongs to; :class:`Unauthorized` (with
        the reason) when it is unknown, revoked or expired. An expired token's row is
        deleted."""
        if not token:
            raise Unauthorized(TOKEN_UNKNOWN)
        query = (sa.select(t.users, t.tokens.c.expires_at.label("token_expires_at"))
                 .select_from(t.tokens.join(t.users, t.tokens.c.user_id == t.users.c.id))
                 .where(t.tokens.c.token_hash == token_digest(token)))
        with self.database.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.token_expires_at is None:
            raise Unauthorized(TOKEN_UNKNOWN)
        if _utc(row.token_expires_at) <= self.clock():
            self.revoke(token)
            raise Unauthorized(TOKEN_EXPIRED)
        return row

    def revoke(self, token: str) -> None:
        """Forget ``token``: it no longer authenticates anyone."""
        with self.database.engine.begin() as conn:
            conn.execute(sa.delete(t.tokens)
                         .where(t.tokens.c.token_hash == token_digest(token)))
