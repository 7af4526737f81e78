"""Backup and restore of a whole host: database rows, plugin data, plugin handlers.

An archive is a zip file:

- ``backup.json`` — format, host version, time, database dialect, table list;
- ``db/<table>.json`` — every row of every table in the host database (core tables and
  the tables plugins contributed);
- ``files/<path>`` — everything under the data directory except the SQLite file and the
  secret key file (``secret.key``);
- ``handlers/<plugin>/<handler>.json`` (or ``.bin``) — what each plugin's backup
  handler returned.

Restoring needs the plugins started (their tables exist once they are enabled, and
their restore handlers run); :meth:`BackupService.restore` replaces each table's rows
in one transaction per table.

The secrets the database holds (secret plugin settings, webhook signing secrets) go into
the archive sealed, as stored; the key that opens them never does. Restoring into
another data directory needs that key (the key file, or ``PLEXICHAT_SECRET_KEY``).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import inspect
import json
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .. import __version__
from ..storage.sealing import KEY_FILE_NAME

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..storage import Database
    from ..wiring import Contributions

__all__ = ["BackupError", "BackupReport", "BackupService"]

FORMAT = 1
Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``."""


class BackupError(Exception):
    """The archive cannot be written or read; the message says what and where."""


@dataclass
class BackupReport:
    """What a backup or restore covered."""

    path: Path
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    handlers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _encode(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return {"$t": type(value).__name__, "v": value.isoformat()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$t": "bytes", "v": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, decimal.Decimal):
        return {"$t": "decimal", "v": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$t", "v"}:
        kind, raw = value["$t"], value["v"]
        if kind == "datetime":
            return dt.datetime.fromisoformat(raw)
        if kind == "date":
            return dt.date.fromisoformat(raw)
        if kind == "time":
            return dt.time.fromisoformat(raw)
        if kind == "bytes":
            return base64.b64decode(raw)
        if kind == "decimal":
            return decimal.Decimal(raw)
    return value


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class BackupService:
    """Creates and restores archives of one host."""

    def __init__(self, database: Database, data_dir: Path,
                 contributions: Mapping[str, Contributions]) -> None:
        self.database = database
        self.data_dir = data_dir
        """The host's data directory: plugin data goes into the archive."""
        self.contributions = contributions
        """What each started plugin contributed, its backup handlers among them."""

    def _sqlite_files(self) -> set[Path]:
        url = self.database.url
        if not url.startswith("sqlite"):
            return set()
        db = Path(url.split("///", 1)[-1]).resolve()
        return {db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")}

    async def create(self, path: Path, progress: Progress | None = None, *,
                     exclude: Iterable[Path] = ()) -> BackupReport:
        """Write an archive of the host to ``path`` (replaced only when complete).

        Files under the directories in ``exclude`` are left out (e.g. where earlier
        archives are kept, when that is inside the data directory).
        """
        progress = progress or (lambda *_: None)
        path = Path(path)
        report = BackupReport(path)
        engine = self.database.engine
        meta = sa.MetaData()
        meta.reflect(engine)
        tables = sorted(meta.tables.values(), key=lambda t: t.name)
        data_dir = Path(self.data_dir).resolve()
        skip = self._sqlite_files() | {(Path(self.data_dir) / KEY_FILE_NAME).resolve()}
        skip_dirs = [Path(d).resolve() for d in exclude]
        files = [p for p in sorted(data_dir.rglob("*"))
                 if p.is_file() and p.resolve() not in skip
                 and not any(p.resolve().is_relative_to(d) for d in skip_dirs)
                 ] if data_dir.exists() else []
        handlers = [(name, h) for name, c in sorted(self.contributions.items())
                    for h in c.backup_handlers]
        total = len(tables) + len(files) + len(handlers)
        done = 0
        tmp = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                with engine.connect() as conn:
                    for table in tables:
                        rows = [{k: _encode(v) for k, v in row._mapping.items()}
                                for row in conn.execute(sa.select(table))]
                        zf.writestr(f"db/{table.name}.json", json.dumps(rows))
                        report.tables[table.name] = len(rows)
                        done += 1
                        progress(f"table {table.name}", done, total)
                for file in files:
                    rel = file.relative_to(data_dir).as_posix()
                    zf.write(file, f"files/{rel}")
                    report.files += 1
                    done += 1
                    progress(f"file {rel}", done, total)
                for plugin, handler in handlers:
                    value = await _maybe_await(handler.backup())
                    base = f"handlers/{plugin}/{handler.name}"
                    if isinstance(value, (bytes, bytearray)):
                        zf.writestr(base + ".bin", bytes(value))
                    else:
                        zf.writestr(base + ".json", json.dumps(value, default=str))
                    report.handlers.append(f"{plugin}/{handler.name}")
                    done += 1
                    progress(f"plugin {plugin}", done, total)
                zf.writestr("backup.json", json.dumps({
                    "format": FORMAT, "host_version": __version__, "created": time.time(),
                    "dialect": self.database.dialect, "tables": report.tables,
                    "handlers": report.handlers, "files": report.files}))
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return report

    async def restore(self, path: Path, progress: Progress | None = None) -> BackupReport:
        """Bring the host back to what ``path`` holds."""
        progress = progress or (lambda *_: None)
        path = Path(path)
        report = BackupReport(path)
        try:
            zf = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise BackupError(f"{path}: not a PlexiChat backup archive ({exc})") from None
        with zf:
            names = zf.namelist()
            if "backup.json" not in names:
                raise BackupError(f"{path}: backup.json is missing; not a PlexiChat backup")
            header = json.loads(zf.read("backup.json"))
            if header.get("format") != FORMAT:
                raise BackupError(f"{path}: backup.json: format {header.get('format')!r} is "
                                  f"not supported (expected {FORMAT})")
            table_files = sorted(n for n in names if n.startswith("db/"))
            file_entries = sorted(n for n in names if n.startswith("files/") and
                                  not n.endswith("/"))
            handler_files = sorted(n for n in names if n.startswith("handlers/"))
            total = len(table_files) + len(file_entries) + len(handler_files)
            done = 0
            engine = self.database.engine
            meta = sa.MetaData()
            meta.reflect(engine)
            for entry in table_files:
                name = entry[len("db/"):-len(".json")]
                table = meta.tables.get(name)
                done += 1
                if table is None:
                    report.warnings.append(f"table {name} does not exist in this host "
                                           "(is its plugin installed and enabled?); skipped")
                    progress(f"table {name} (skipped)", done, total)
                    continue
                rows = [{k: _decode(v) for k, v in row.items()}
                        for row in json.loads(zf.read(entry))]
                with engine.begin() as conn:
                    conn.execute(sa.delete(table))
                    if rows:
                        conn.execute(sa.insert(table), rows)
                report.tables[name] = len(rows)
                progress(f"table {name}", done, total)
            data_dir = Path(self.data_dir).resolve()
            for entry in file_entries:
                rel = entry[len("files/"):]
                target = (data_dir / rel).resolve()
                if data_dir not in target.parents:
                    raise BackupError(f"{path}: {entry}: refuses to write outside the data "
                                      "directory")
                if target == data_dir / KEY_FILE_NAME:
                    done += 1
                    report.warnings.append(f"{entry}: the secret key file is never restored "
                                           "from an archive (it would replace this host's "
                                           "key); skipped")
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(entry))
                report.files += 1
                done += 1
                progress(f"file {rel}", done, total)
            live = {(p, h.name): h for p, c in self.contributions.items()
                    for h in c.backup_handlers}
            for entry in handler_files:
                plugin, _, rest = entry[len("handlers/"):].partition("/")
                handler_name, _, ext = rest.rpartition(".")
                done += 1
                handler = live.get((plugin, handler_name))
                if handler is None or handler.restore is None:
                    report.warnings.append(f"{plugin}/{handler_name}: no restore handler in "
                                           "this host; skipped")
                    progress(f"plugin {plugin} (skipped)", done, total)
                    continue
                raw = zf.read(entry)
                await _maybe_await(handler.restore(raw if ext == "bin" else json.loads(raw)))
                report.handlers.append(f"{plugin}/{handler_name}")
                progress(f"plugin {plugin}", done, total)
        return report
