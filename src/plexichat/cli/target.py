"""Where a CLI command acts: the running host's API, or the host database.

A command that changes state asks :func:`target` first. When a host serves the data
directory (or ``--url`` names one), the change goes through that host's API and applies
at once; otherwise it is written to the database and takes effect at the next start.
Each command says which it did, with :meth:`Target.applied` / :data:`STORED`.

:func:`require_database` keeps the CLI from creating a fresh database silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import click

from ..runtime import DataDir, HostLookup, data_dir, find_running_host

__all__ = ["STORED", "HostError", "Target", "require_database", "target"]

STORED = "stored; takes effect at the next start"


class HostError(click.ClickException):
    """The running host answered an error; :attr:`body` is its JSON (or None)."""

    def __init__(self, method: str, path: str, status: int, detail: str,
                 body: Any) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {detail}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Target:
    """Where a command acts: :attr:`url` is None when no host runs (act on the database)."""

    data_dir: DataDir
    url: str | None
    token: str | None
    lookup: HostLookup | None

    @property
    def live(self) -> bool:
        """True when commands go through a running host's API."""
        return self.url is not None

    def applied(self) -> str:
        """What a command prints after changing the running host."""
        return f"applied to the running host at {self.url}"

    def call(self, method: str, path: str, body: Any = None, *,
             admin: bool = True) -> Any:
        """``method path`` on the host; its JSON. :class:`HostError` on an HTTP error."""
        import httpx

        assert self.url is not None
        headers = {}
        if admin:
            if not self.token:
                raise click.ClickException(
                    f"no admin token for {self.url}: pass --token or set "
                    "PLEXICHAT_ADMIN_TOKEN")
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = httpx.request(method, self.url.rstrip("/") + path, json=body,
                                     headers=headers, timeout=60, trust_env=False)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"{method} {self.url}{path}: {exc}") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            detail = data.get("detail", response.text) if isinstance(data, dict) else (
                response.text)
            raise HostError(method, path, response.status_code, str(detail), data)
        return data


def target(url: str | None = None, token: str | None = None, *,
           announce: bool = True) -> Target:
    """Where to act: ``url`` when given, else the host serving the data directory.

    The token is ``token`` (``--token`` / ``PLEXICHAT_ADMIN_TOKEN``) when given, else
    the CLI token the discovered host wrote for this run — never sent to another URL.
    A stale host record is reported on stderr (``announce``) and ignored.
    """
    directory = data_dir()
    if url:
        lookup = None
        if not token:
            lookup = find_running_host(directory.path)
            if lookup.host is not None and _same(lookup.host.url, url):
                token = lookup.host.token()
        return Target(directory, url.rstrip("/"), token, lookup)
    lookup = find_running_host(directory.path)
    if lookup.ignored and announce:
        click.echo(f"plexichat: ignoring {lookup.ignored}", err=True)
    if lookup.host is None:
        return Target(directory, None, None, lookup)
    return Target(directory, lookup.host.url, token or lookup.host.token(), lookup)


def _same(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def require_database(init: bool) -> None:
    """Refuse to go on when the command would create a new database, unless ``init``.

    Only the embedded SQLite database is checked: an explicit ``PLEXICHAT_DATABASE_URL``
    is the operator's choice.
    """
    if os.environ.get("PLEXICHAT_DATABASE_URL"):
        return
    directory = data_dir()
    path = directory.database_file
    if path.is_file():
        return
    if init:
        click.echo(f"plexichat: creating a new database at {path}", err=True)
        return
    raise click.ClickException(
        f"no PlexiChat database at {path} (data directory from {directory.source}), "
        "and this command would create one. Run it where the host keeps its data, set "
        "PLEXICHAT_DATA_DIR to that directory, or pass --init to create a new database "
        "there.")
