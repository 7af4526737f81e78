"""plexichat-backup-node: a backup target that keeps archives of the host in a directory.

Each backup is a full archive of the host made by the host's own backup service
(``context.backup``, the archive ``plexichat backup create`` writes and ``plexichat
backup restore`` reads), written to the configured ``directory``. After each backup the
oldest archives beyond ``keep`` are removed. With ``interval_minutes`` above 0 a
background task backs up on that schedule; new settings apply at once.

- ``POST /api/v1/backup-node/archives``: back up now;
- ``GET /api/v1/backup-node/archives``: the archives (newest first) and the schedule;
- ``GET /api/v1/backup-node/archives/{name}``: download one.

All three need the admin token. Other plugins reach the target as the
``backup_target`` service (``context.service("backup_target")``), provided through
the ``register_services`` hook.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from plexichat import hookimpl, require_admin
from plexichat.contributions import BackgroundTask, HealthCheck, RouterSpec, SelfTestResult

from .archives import ARCHIVE_NAME, Archive, ArchiveDirectory

__all__ = ["ARCHIVE_NAME", "Archive", "ArchiveDirectory", "BackupNode", "node_of"]

log = logging.getLogger("plexichat.plugins.backup_node")


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat().replace("+00:00", "Z")


class BackupNode:
    """The backup target of one running plugin: settings come from its context."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.runs = 0
        """Backups made since the plugin started (manual and scheduled)."""
        self.scheduled_runs = 0
        self.last_run: dict[str, Any] | None = None
        self.last_error: str = ""
        self.next_run: float | None = None

    # --- settings -----------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        """The configured directory; a relative one is under the plugin's data dir."""
        configured = Path(str(self.context.config.get("directory") or "archives")).expanduser()
        if configured.is_absolute():
            return configured
        return self.context.data_dir / configured

    @property
    def keep(self) -> int:
        return int(self.context.config.get("keep", 7))

    @property
    def interval_minutes(self) -> float:
        return float(self.context.config.get("interval_minutes") or 0)

    def archive_directory(self) -> ArchiveDirectory:
        return ArchiveDirectory(self.directory, self.keep)

    # --- the target ---------------------------------------------------------------------

    async def create(self, reason: str = "manual") -> dict[str, Any]:
        """Back the host up into the directory now, then apply retention.

        One backup at a time: a second request waits for the first to finish.
        """
        async with self._lock:
            archives = self.archive_directory()
            archives.path.mkdir(parents=True, exist_ok=True)
            path = archives.new_path()
            started = time.monotonic()
            report = await self.context.backup.create(path, exclude=[archives.path])
            removed = archives.prune()
            archive = archives.get(path.name)
            self.runs += 1
            result = {
                "reason": reason,
                "archive": archive.as_dict() if archive else {"name": path.name},
                "directory": str(archives.path),
                "tables": len(report.tables),
                "files": report.files,
                "handlers": list(report.handlers),
                "removed": removed,
                "seconds": round(time.monotonic() - started, 3),
            }
            self.last_run = {**result, "at": _iso(time.time())}
            log.info("backup %s (%s) written to %s; removed %s", path.name, reason,
                     archives.path, ", ".join(removed) or "nothing")
            return result

    def archives(self) -> list[Archive]:
        """The archives, newest first."""
        return list(reversed(self.archive_directory().archives()))

    def status(self) -> dict[str, Any]:
        """The directory, the settings, the schedule and the archives (newest first)."""
        return {
            "directory": str(self.directory),
            "keep": self.keep,
            "interval_minutes": self.interval_minutes,
            "next_run": _iso(self.next_run),
            "runs": self.runs,
            "scheduled_runs": self.scheduled_runs,
            "last_run": self.last_run,
            "last_error": self.last_error,
            "archives": [a.as_dict() for a in self.archives()],
        }

    # --- the schedule -------------------------------------------------------------------

    def wake(self) -> None:
        """The settings changed: start the interval afresh (or stop, for 0)."""
        self._wake.set()

    async def run_schedule(self) -> None:
        """Back up every ``interval_minutes`` until cancelled; idle while it is 0.

        A failed backup is logged and shown by the health check, and the schedule goes
        on: the next run may well succeed (a full disk freed, a directory created).
        """
        while True:
            self._wake.clear()
            minutes = self.interval_minutes
            if minutes <= 0:
                self.next_run = None
                await self._wake.wait()
                continue
            self.next_run = time.time() + minutes * 60
            try:
                await asyncio.wait_for(self._wake.wait(), minutes * 60)
                continue  # new settings
            except asyncio.TimeoutError:
                pass
            try:
                await self.create(reason="scheduled")
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("scheduled backup failed: %s", self.last_error)
            else:
                self.last_error = ""
            self.scheduled_runs += 1

    def health(self) -> dict[str, Any]:
        """Unhealthy while the last scheduled backup failed."""
        return {"healthy": not self.last_error, "detail": self.last_error or "ok",
                "archives": len(self.archive_directory().archives())}


_NODES: weakref.WeakKeyDictionary[Any, BackupNode] = weakref.WeakKeyDictionary()


def node_of(context: Any) -> BackupNode:
    """The :class:`BackupNode` of a running plugin's context (made on first use)."""
    node = _NODES.get(context)
    if node is None:
        node = _NODES[context] = BackupNode(context)
    return node


# --- hooks ---------------------------------------------------------------------------------


@hookimpl
async def startup(context: Any) -> None:
    node = node_of(context)
    context.logger.info("backups go to %s (keep %d, every %s min)", node.directory,
                        node.keep, node.interval_minutes or "-")


@hookimpl
def register_services(context: Any) -> dict[str, Any]:
    return {"backup_target": node_of(context)}


@hookimpl
def register_background_tasks(context: Any) -> list[BackgroundTask]:
    return [BackgroundTask("scheduled_backup", node_of(context).run_schedule)]


@hookimpl
async def config_changed(context: Any) -> None:
    node_of(context).wake()


@hookimpl
def register_health_checks(context: Any) -> list[HealthCheck]:
    return [HealthCheck("scheduled_backup", node_of(context).health, kind="liveness")]


class ArchiveView(BaseModel):
    """One archive."""

    name: str = Field(examples=["plexichat-backup-20260102T030000000000Z.zip"])
    size: int = Field(description="Bytes.", examples=[48213])
    created: str = Field(description="When it was made (UTC, ISO 8601).",
                         examples=["2026-01-02T03:00:00Z"])


class BackupResult(BaseModel):
    """A backup just made."""

    reason: str = Field(examples=["manual"])
    archive: ArchiveView
    directory: str = Field(examples=["data/plugins/backup_node/archives"])
    tables: int = Field(description="Database tables archived.", examples=[14])
    files: int = Field(description="Files of the data directory archived.", examples=[3])
    handlers: list[str] = Field(description="Plugin backup handlers that ran.",
                                examples=[["advanced/advanced"]])
    removed: list[str] = Field(description="Older archives removed by retention.",
                               examples=[[]])
    seconds: float = Field(examples=[0.214])


class BackupStatus(BaseModel):
    """The target's settings, schedule and archives."""

    directory: str = Field(examples=["data/plugins/backup_node/archives"])
    keep: int = Field(examples=[7])
    interval_minutes: float = Field(examples=[1440.0])
    next_run: str | None = Field(description="When the next scheduled backup is due.",
                                 examples=["2026-01-03T03:00:00Z"])
    runs: int = Field(examples=[1])
    scheduled_runs: int = Field(examples=[1])
    last_run: dict[str, Any] | None = Field(examples=[{"reason": "scheduled",
                                                       "at": "2026-01-02T03:00:00Z"}])
    last_error: str = Field(examples=[""])
    archives: list[ArchiveView] = Field(description="Newest first.")


@hookimpl
def register_routers(context: Any) -> RouterSpec:
    node = node_of(context)
    router = APIRouter(tags=["backup-node"], dependencies=[Depends(require_admin)],
                       responses={401: {"description": "No admin token was sent"},
                                  403: {"description": "The admin token is not valid"}})

    @router.get("/archives", response_model=BackupStatus, summary="List the archives")
    def list_archives() -> dict[str, Any]:
        return node.status()

    @router.post("/archives", status_code=201, response_model=BackupResult,
                 summary="Back up now")
    async def back_up_now() -> dict[str, Any]:
        try:
            return await node.create(reason="manual")
        except OSError as exc:
            raise HTTPException(500, f"the backup could not be written: {exc}") from None

    @router.get("/archives/{name}", response_class=FileResponse,
                responses={404: {"description": "No such archive"}},
                summary="Download an archive")
    def download(name: str) -> FileResponse:
        archive = node.archive_directory().get(name)
        if archive is None:
            raise HTTPException(404, f"no archive named {name!r}")
        return FileResponse(archive.path, media_type="application/zip", filename=name)

    return RouterSpec(router, prefix="/api/v1/backup-node")


@hookimpl
def self_test(context: Any) -> SelfTestResult:
    node = node_of(context)
    directory = node.directory
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".backup_node-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return SelfTestResult(False, ["directory writable"],
                              f"cannot write to {directory}: {exc}")
    return SelfTestResult(True, ["directory writable"], f"{directory} is writable")
