"""The running host of a data directory: how a served host announces itself there, and
how the CLI finds it again.

``plexichat serve`` writes two files into its data directory while it runs:

- ``host.json``: where it listens (``url``), its ``pid``, the ``python`` it runs, when it
  started, its data directory and database URL (password masked). Written atomically at
  startup, removed at a clean shutdown.
- ``cli-token`` (mode 0600): a token issued for this run only, which the host accepts as
  its admin token, so the CLI of the same user can act on it without knowing the admin
  token (stored only as a hash when generated). A new one each start.

A ``host.json`` left behind by a host that died is *stale*: its pid is gone, or nothing
answers at its URL. :func:`find_running_host` ignores it and says why.

The data directory follows one rule for server and CLI (:func:`data_dir`):
``PLEXICHAT_DATA_DIR``, else ``./data`` in the current directory.

This module is light on purpose (no pydantic, FastAPI or SQLAlchemy): ``plexichat
plugins list`` uses it.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .kernel.files import write_atomically

__all__ = [
    "DATA_DIR_VARIABLE",
    "HOST_FILE",
    "TOKEN_FILE",
    "DataDir",
    "HostAnnouncement",
    "HostLookup",
    "HostRecord",
    "RunningHost",
    "data_dir",
    "find_running_host",
    "mask_database_url",
]

DATA_DIR_VARIABLE = "PLEXICHAT_DATA_DIR"
DEFAULT_DATA_DIR = "data"
HOST_FILE = "host.json"
TOKEN_FILE = "cli-token"
DATABASE_FILE = "plexichat.db"


@dataclass(frozen=True)
class DataDir:
    """The data directory in use, and which rule chose it."""

    path: Path
    """Absolute path."""
    source: str
    """``PLEXICHAT_DATA_DIR`` or ``the default ./data of the current directory``."""

    @property
    def database_file(self) -> Path:
        """The embedded SQLite database (used unless ``PLEXICHAT_DATABASE_URL`` is set)."""
        return self.path / DATABASE_FILE


def data_dir(environ: Mapping[str, str] | None = None) -> DataDir:
    """The data directory: ``PLEXICHAT_DATA_DIR``, else ``./data`` of the current directory.

    The same rule as :attr:`plexichat.config.HostSettings.data_dir`, for server and CLI.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(DATA_DIR_VARIABLE)
    if value:
        return DataDir(Path(value).expanduser().resolve(), DATA_DIR_VARIABLE)
    return DataDir(Path(DEFAULT_DATA_DIR).resolve(),
                   "the default ./data of the current directory")


def mask_database_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@", 1)[-1] if "@" in url else url


@dataclass(frozen=True)
class HostRecord:
    """The content of ``host.json``: where one served host listens."""

    url: str
    pid: int
    python: str
    started_at: float
    """Seconds since the epoch."""
    data_dir: str
    database_url: str
    """Password masked."""

    @classmethod
    def from_json(cls, data: Any) -> HostRecord:
        """Parse ``host.json``; ``ValueError`` naming the field when it does not fit."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        values: dict[str, Any] = {}
        for name, kind in (("url", str), ("pid", int), ("python", str),
                           ("started_at", (int, float)), ("data_dir", str),
                           ("database_url", str)):
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"field {name!r} is missing or has the wrong type")
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class RunningHost:
    """A host that serves a data directory and answers at :attr:`url`."""

    record: HostRecord
    token_file: Path

    @property
    def url(self) -> str:
        """Base URL of the host, e.g. ``http://127.0.0.1:8000``."""
        return self.record.url

    @property
    def pid(self) -> int:
        """Process id of the host."""
        return self.record.pid

    def token(self) -> str | None:
        """The CLI token of this run, or None when this user cannot read it."""
        try:
            return self.token_file.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None


@dataclass(frozen=True)
class HostLookup:
    """What :func:`find_running_host` found for one data directory."""

    data_dir: Path
    host: RunningHost | None
    """The running host, or None."""
    ignored: str = ""
    """Why a ``host.json`` there was ignored (stale, unreadable); empty otherwise."""


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except OSError:
        return False
    return True


def _answers(url: str, timeout: float) -> str:
    """Empty when ``url`` answers ``/api/v1/health/live``; otherwise what went wrong."""
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/api/v1/health/live", timeout=timeout,
                             trust_env=False)
    except httpx.HTTPError as exc:
        return f"nothing answers at {url} ({type(exc).__name__})"
    if response.status_code != 200:
        return f"{url}/api/v1/health/live answered HTTP {response.status_code}"
    return ""


def find_running_host(directory: Path | None = None, *, timeout: float = 2.0) -> HostLookup:
    """The host serving ``directory`` (default: :func:`data_dir`), if one runs.

    Reads ``host.json``; a record whose pid is gone, or whose URL does not answer
    ``GET /api/v1/health/live`` within ``timeout`` seconds, is stale: ignored, with the
    reason in :attr:`HostLookup.ignored`.
    """
    directory = (directory or data_dir().path).resolve()
    path = directory / HOST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return HostLookup(directory, None)
    except OSError as exc:
        return HostLookup(directory, None, f"cannot read {path}: {exc.strerror or exc}")
    try:
        record = HostRecord.from_json(json.loads(text))
    except ValueError as exc:
        return HostLookup(directory, None, f"{path} is not a host record: {exc}")
    if not _pid_alive(record.pid):
        return HostLookup(directory, None,
                          f"stale {path}: pid {record.pid} is not running")
    problem = _answers(record.url, timeout)
    if problem:
        return HostLookup(directory, None, f"stale {path} (pid {record.pid}): {problem}")
    return HostLookup(directory, RunningHost(record, directory / TOKEN_FILE))


class HostAnnouncement:
    """The served host's side: writes ``host.json`` and ``cli-token``, removes them."""

    def __init__(self, directory: Path, url: str, database_url: str) -> None:
        self.directory = Path(directory).resolve()
        self.record = HostRecord(url=url, pid=os.getpid(), python=sys.executable,
                                 started_at=time.time(), data_dir=str(self.directory),
                                 database_url=database_url)
        self.token = secrets.token_urlsafe(32)

    @property
    def host_file(self) -> Path:
        """``<data dir>/host.json``."""
        return self.directory / HOST_FILE

    @property
    def token_file(self) -> Path:
        """``<data dir>/cli-token``."""
        return self.directory / TOKEN_FILE

    def publish(self) -> str:
        """Write the token (0600) and then the record; returns a warning when another
        live host already announced itself here (its record is replaced), else ``""``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        other = find_running_host(self.directory, timeout=1.0).host
        write_atomically(self.token_file, self.token + "\n", mode=0o600)
        write_atomically(self.host_file, json.dumps(asdict(self.record), indent=2) + "\n",
                         mode=0o644)
        if other is not None and other.pid != self.record.pid:
            return (f"another host (pid {other.pid}, {other.url}) serves {self.directory} "
                    "too; the CLI now talks to this one")
        return ""

    def withdraw(self) -> None:
        """Remove both files, unless another host has announced itself there since."""
        try:
            current = json.loads(self.host_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = None
        if isinstance(current, dict) and current.get("pid") not in (None, self.record.pid):
            return
        for path in (self.host_file, self.token_file):
            path.unlink(missing_ok=True)
