"""The audit trail: an append-only record of what operators and plugins did.

Every row says who (an :class:`Actor`: the admin token, a web UI session, a chat user,
a plugin, the host replica itself, the local CLI), what (an :class:`AuditAction`), when,
to what (``plugin`` and ``target``), from where (the client address) and the details
(a JSON object; settings changes as a diff with every secret masked).

Rows are only ever inserted. The one statement that removes rows is
:meth:`AuditTrail.prune`, the retention job (``PLEXICHAT_AUDIT_RETENTION_DAYS``), and it
records that it ran as an audit row of its own.

How a row is written depends on what it records:

* an operator's change of desired state (enable, disable, settings, grants) is written
  in the same transaction as the change (:meth:`AuditTrail.along`): when the audit row
  cannot be written, the change is not made either and the request fails;
* everything else (logins, plugin state changes, plugins acting through ``context``,
  webhook subscriptions, installs) is recorded right after it happened, off the event
  loop in a small bounded thread pool (:meth:`AuditTrail.arecord`); a failed write is
  logged as an error on ``plexichat.audit`` and the action stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .settings import mask_secrets
from .storage.database import audit_log

if TYPE_CHECKING:
    from .storage import Database

__all__ = [
    "Actor", "ActorKind", "AuditAction", "AuditEntry", "AuditPage", "AuditQuery",
    "AuditTrail", "redact_url", "settings_diff", "write_pending",
]

log = logging.getLogger("plexichat.audit")

MAX_PAGE = 500
"""The most entries one page holds."""


class ActorKind(str, enum.Enum):
    """Who acted."""

    ADMIN = "admin"
    """A request with the admin token (``id``: ``admin-token``, or ``cli-token`` for the
    token a served host hands the local CLI)."""
    UI = "ui"
    """A web UI session (``id``: the first characters of the session's hash; empty for a
    failed login, which has no session)."""
    USER = "user"
    """A chat user (``id``: the user name given)."""
    PLUGIN = "plugin"
    """A plugin, through its ``context`` (``id``: the plugin's name)."""
    HOST = "host"
    """The host itself (``id``: the replica id, ``local`` when not clustered)."""
    CLI = "cli"
    """The CLI writing to the database with no host running (``id``: the OS user)."""


@dataclass(frozen=True)
class Actor:
    """Who did something, and from which address (empty when not over the network)."""

    kind: ActorKind
    id: str
    source: str = ""

    @classmethod
    def admin(cls, credential: str, source: str = "") -> Actor:
        """A request carrying the admin token; ``credential`` says which one."""
        return cls(ActorKind.ADMIN, credential, source)

    @classmethod
    def ui_session(cls, session: str, source: str = "") -> Actor:
        """A web UI session (``session``: the session's key; a prefix is kept)."""
        return cls(ActorKind.UI, session[:12], source)

    @classmethod
    def chat_user(cls, name: str, source: str = "") -> Actor:
        """A chat user, by the name given."""
        return cls(ActorKind.USER, name[:200], source)

    @classmethod
    def plugin(cls, name: str) -> Actor:
        """A plugin acting through its context."""
        return cls(ActorKind.PLUGIN, name)

    @classmethod
    def host(cls, replica: str = "") -> Actor:
        """The host itself (lifecycle, retention)."""
        return cls(ActorKind.HOST, replica or "local")

    @classmethod
    def cli(cls) -> Actor:
        """The local CLI writing to the database directly, as the current OS user."""
        import getpass

        try:
            user = getpass.getuser()
        except Exception:  # no user name in this environment
            user = "unknown"
        return cls(ActorKind.CLI, user)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


class AuditAction(str, enum.Enum):
    """What was done. The value is what ``GET /api/v1/audit`` shows and filters by."""

    PLUGIN_ENABLE = "plugin.enable"
    PLUGIN_DISABLE = "plugin.disable"
    PLUGIN_START = "plugin.start"
    PLUGIN_STOP = "plugin.stop"
    PLUGIN_STARTED = "plugin.started"
    PLUGIN_STOPPED = "plugin.stopped"
    PLUGIN_FAILED = "plugin.failed"
    PLUGIN_QUARANTINED = "plugin.quarantined"
    SETTINGS_CHANGE = "plugin.settings"
    SETTINGS_REJECTED = "plugin.settings_rejected"
    GRANTS_CHANGE = "plugin.grants"
    PLUGINS_INSTALL = "plugins.install"
    PLUGINS_RESCAN = "plugins.rescan"
    WEBHOOK_SUBSCRIBE = "webhook.subscribe"
    WEBHOOK_UNSUBSCRIBE = "webhook.unsubscribe"
    WEBHOOK_ROTATE_SECRET = "webhook.rotate_secret"
    WEBHOOK_ENABLE = "webhook.enable"
    ADMIN_TOKEN_REFUSED = "admin.token_refused"
    UI_LOGIN = "ui.login"
    UI_LOGIN_FAILED = "ui.login_failed"
    CHAT_LOGIN_FAILED = "chat.login_failed"
    CHAT_BOT_POST = "chat.bot_post"
    CHAT_MESSAGE_EDIT = "chat.message_edit"
    CHAT_MESSAGE_DELETE = "chat.message_delete"
    AUDIT_PRUNED = "audit.pruned"


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit trail."""

    id: int
    at: datetime
    actor: Actor
    replica: str
    """The replica that wrote the row (empty when not clustered)."""
    action: str
    plugin: str | None
    target: str
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON form (as ``GET /api/v1/audit`` answers)."""
        return {"id": self.id, "at": self.at.isoformat(), "actor": str(self.actor),
                "actor_kind": self.actor.kind.value, "actor_id": self.actor.id,
                "source": self.actor.source, "replica": self.replica,
                "action": self.action, "plugin": self.plugin, "target": self.target,
                "details": self.details}


@dataclass(frozen=True)
class AuditQuery:
    """Which entries to read: every filter is optional and they all apply.

    ``actor`` is ``kind`` (``admin``) or ``kind:id`` (``plugin:hello``). Without
    ``after`` the page is newest first, older than ``cursor`` (an entry id: the
    ``next_cursor`` of the previous page); with ``after`` it is the entries newer than
    that id, oldest first (what ``plexichat audit --follow`` polls).
    """

    actor: str | None = None
    plugin: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: int | None = None
    after: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class AuditPage:
    """One page of entries and the cursor of the next (None: this was the last)."""

    entries: list[AuditEntry] = field(default_factory=list)
    next_cursor: int | None = None


@dataclass
class _Pending:
    """An audit row waiting for the next desired-state write of :attr:`plugin`."""

    plugin: str
    row: dict[str, Any]
    written: bool = False


_pending: contextvars.ContextVar[_Pending | None] = contextvars.ContextVar(
    "plexichat_pending_audit", default=None)


def write_pending(conn: sa.Connection, plugin: str) -> None:
    """Insert the audit row an enclosing :meth:`AuditTrail.along` holds for ``plugin``,
    in the transaction of ``conn`` (once per block). The store calls it in every
    desired-state write."""
    pending = _pending.get()
    if pending is None or pending.written or pending.plugin != plugin:
        return
    conn.execute(sa.insert(audit_log).values(**pending.row))
    pending.written = True


def settings_diff(schema: Mapping[str, Any], old: Mapping[str, Any],
                  new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {"from": …, "to": …}}`` of the top-level fields that changed, every
    secret (``writeOnly``, ``format: password``, also in nested objects) masked as the
    settings API masks it: a changed secret shows as changed, never its value."""
    masked_old = mask_secrets(schema, old)
    masked_new = mask_secrets(schema, new)
    return {key: {"from": masked_old.get(key), "to": masked_new.get(key)}
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


def redact_url(url: str) -> str:
    """``url`` as the audit keeps it: without user info and query string, which may
    carry credentials; anything that is not a URL is kept as it is."""
    from urllib.parse import urlsplit, urlunsplit

    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _in_utc(value: datetime) -> datetime:
    """``value`` in UTC, as rows are stored (a time without zone is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without their zone: they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


class AuditTrail:
    """Writes and reads the audit trail in the host database."""

    def __init__(self, database: Database, *, threads: int = 2) -> None:
        from .chat.threads import DatabaseThreads

        self.database = database
        self.replica = ""
        """This replica's id once it joined a cluster; written into every row."""
        self._threads = DatabaseThreads(threads)
        self._tasks: set[asyncio.Task[bool]] = set()

    def host_actor(self) -> Actor:
        """The host itself, as this replica."""
        return Actor.host(self.replica)

    def _row(self, actor: Actor, action: AuditAction, plugin: str | None, target: str,
             details: Mapping[str, Any] | None) -> dict[str, Any]:
        return {"at": _now(), "actor_kind": actor.kind.value, "actor_id": actor.id[:200],
                "source": actor.source[:100], "replica": self.replica,
                "action": action.value, "plugin": plugin, "target": target[:500],
                "details": dict(details or {})}

    # --- writing -------------------------------------------------------------------------

    def record(self, actor: Actor, action: AuditAction, *, plugin: str | None = None,
               target: str = "", details: Mapping[str, Any] | None = None) -> None:
        """Append one row now (blocking: call it off the event loop). Raises when the
        database refuses the write, after logging it."""
        row = self._row(actor, action, plugin, target, details)
        try:
            with self.database.engine.begin() as conn:
                conn.execute(sa.insert(audit_log).values(**row))
        except Exception:
            log.exception("could not record %s by %s in the audit trail", action.value, actor)
            raise

    def record_quietly(self, actor: Actor, action: AuditAction, **kwargs: Any) -> bool:
        """:meth:`record`, a failure logged only (the action stands); True when written."""
        try:
            self.record(actor, action, **kwargs)
        except Exception:
            return False
        return True

    async def arecord(self, actor: Actor, action: AuditAction, **kwargs: Any) -> bool:
        """:meth:`record_quietly` in the trail's worker threads: never blocks the event
        loop, never raises (a failure is logged); True when written."""
        return await self._threads(self.record_quietly, actor, action, **kwargs)

    def record_soon(self, actor: Actor, action: AuditAction, **kwargs: Any) -> None:
        """Record from synchronous code: in the background when an event loop runs in
        this thread (:meth:`drain` waits for it), else at once (logged on failure)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.record_quietly(actor, action, **kwargs)
            return
        task = loop.create_task(self.arecord(actor, action, **kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the rows :meth:`record_soon` is still writing."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        """Let the worker threads end."""
        self._threads.close()

    @contextlib.contextmanager
    def along(self, actor: Actor, action: AuditAction, plugin: str, *, target: str = "",
              details: Mapping[str, Any] | None = None) -> Iterator[None]:
        """Within this block, the first desired-state write of ``plugin`` also inserts
        this audit row, in its transaction: both are stored or neither. Nothing is
        recorded when the block writes nothing (e.g. it was refused first)."""
        token = _pending.set(_Pending(plugin, self._row(actor, action, plugin,
                                                        target or plugin, details)))
        try:
            yield
        finally:
            _pending.reset(token)

    # --- reading -------------------------------------------------------------------------

    def query(self, query: AuditQuery) -> AuditPage:
        """One page of entries matching ``query`` (see :class:`AuditQuery`)."""
        c = audit_log.c
        limit = max(1, min(query.limit, MAX_PAGE))
        statement = sa.select(audit_log)
        if query.actor:
            kind, _, actor_id = query.actor.partition(":")
            statement = statement.where(c.actor_kind == kind)
            if actor_id:
                statement = statement.where(c.actor_id == actor_id)
        if query.plugin:
            statement = statement.where(c.plugin == query.plugin)
        if query.action:
            statement = statement.where(c.action == query.action)
        if query.since is not None:
            statement = statement.where(c.at >= _in_utc(query.since))
        if query.until is not None:
            statement = statement.where(c.at < _in_utc(query.until))
        if query.after is not None:
            statement = statement.where(c.id > query.after).order_by(c.id.asc())
        else:
            if query.cursor is not None:
                statement = statement.where(c.id < query.cursor)
            statement = statement.order_by(c.id.desc())
        with self.database.engine.connect() as conn:
            rows = conn.execute(statement.limit(limit + 1)).mappings().all()
        entries = [self._entry(r) for r in rows[:limit]]
        more = len(rows) > limit and query.after is None
        return AuditPage(entries, entries[-1].id if more and entries else None)

    async def aquery(self, query: AuditQuery) -> AuditPage:
        """:meth:`query` off the event loop."""
        return await self._threads(self.query, query)

    @staticmethod
    def _entry(row: Any) -> AuditEntry:
        try:
            kind = ActorKind(row["actor_kind"])
        except ValueError:  # written by a newer version
            kind = ActorKind.HOST
        return AuditEntry(id=int(row["id"]), at=_utc(row["at"]),
                          actor=Actor(kind, row["actor_id"], row["source"]),
                          replica=row["replica"], action=row["action"],
                          plugin=row["plugin"], target=row["target"],
                          details=dict(row["details"] or {}))

    # --- retention -----------------------------------------------------------------------

    def prune(self, days: int, *, now: datetime | None = None) -> int:
        """The retention job: delete the rows older than ``days`` days and record that it
        did (an ``audit.pruned`` row, in the same transaction); the rows deleted.

        The only statement anywhere that removes audit rows. ``days`` of 0 keeps
        everything.
        """
        if days <= 0:
            return 0
        cutoff = (now or _now()) - timedelta(days=days)
        with self.database.engine.begin() as conn:
            deleted = conn.execute(sa.delete(audit_log).where(audit_log.c.at < cutoff)).rowcount
            if deleted:
                conn.execute(sa.insert(audit_log).values(**self._row(
                    self.host_actor(), AuditAction.AUDIT_PRUNED, None, "audit",
                    {"deleted": int(deleted), "older_than": cutoff.isoformat(),
                     "retention_days": days})))
        if deleted:
            log.info("audit retention: deleted %d row(s) older than %s", deleted,
                     cutoff.isoformat())
        return int(deleted or 0)

    async def run_retention(self, days: int, interval: float = 3600.0) -> None:
        """Prune every ``interval`` seconds, the first time at once; until cancelled."""
        while True:
            try:
                await self._threads(self.prune, days)
            except Exception:
                log.exception("the audit retention job failed; retrying in %g s", interval)
            await asyncio.sleep(interval)
