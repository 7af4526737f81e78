"""Real servers for the benchmarks: ``plexichat serve`` (or a bare FastAPI app under
uvicorn) as a subprocess on 127.0.0.1, with plugins written as real distributions.

The benchmarks measure what a user of a running server feels, so the server runs in
its own process (its own interpreter and event loop) and is reached over loopback TCP.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from plexichat.testing.dists import make_plugin

ADMIN_TOKEN = "plexichat-bench-admin-token"
"""The admin token of the servers the benchmarks start."""

FAST_HASHING = {"PLEXICHAT_PASSWORD_HASH_TIME_COST": "1",
                "PLEXICHAT_PASSWORD_HASH_MEMORY_KIB": "64"}
"""Cheap password hashing: the benchmarks register many users and time no login."""

BARE_APP = textwrap.dedent("""
    import sys

    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/ready")
    async def ready() -> dict:
        return {"status": "ready"}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
""")
"""A bare FastAPI app under uvicorn: the floor the host is compared with."""


@dataclass
class Server:
    """A running server process: its base URL, process and log file."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def rss_kib(self) -> int:
        """The process's resident set size in KiB (VmRSS of /proc/<pid>/status)."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for process {self.proc.pid}")

    def wait_ready(self, path: str = "/api/v1/health/ready", within: float = 60.0) -> None:
        """Wait until ``path`` answers 200; raise with the server's log otherwise."""
        deadline = time.monotonic() + within
        with httpx.Client(base_url=self.url, trust_env=False, timeout=5) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.proc.returncode}:\n"
                                       f"{self.log_path.read_text(errors='replace')}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(path).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server was not ready in {within:g} s:\n"
                                       f"{self.log_path.read_text(errors='replace')}")
                time.sleep(0.05)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_filter_plugins(site: Path, count: int, prefix: str = "bench_filter") -> list[str]:
    """Write ``count`` plugins into ``site``, each a real distribution whose
    ``message_will_post`` passes the message on; return their names."""
    names = []
    for i in range(count):
        name = f"{prefix}_{i}"
        make_plugin(site, name, code="""
            from plexichat import hookimpl


            @hookimpl
            def message_will_post(message, context):
                return None
        """)
        names.append(name)
    return names


def write_trivial_plugins(site: Path, count: int, prefix: str = "bench_trivial") -> list[str]:
    """Write ``count`` plugins into ``site``, each a real distribution with one hook
    (``startup``) that does nothing; return their names."""
    names = []
    for i in range(count):
        name = f"{prefix}_{i}"
        make_plugin(site, name, code="""
            from plexichat import hookimpl


            @hookimpl
            def startup(context):
                return None
        """)
        names.append(name)
    return names


@contextlib.contextmanager
def _process(args: list[str], workdir: Path, env: Mapping[str, str], url: str,
             ) -> Iterator[Server]:
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                                cwd=workdir)
        try:
            yield Server(url, proc, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextlib.contextmanager
def plexichat(workdir: Path, *, plugins: list[str] | None, site: Path | None = None,
              env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """``python -m plexichat serve`` on a free port, its data (SQLite) in ``workdir``,
    loading ``plugins`` only (None: every installed plugin; []: none), with ``site``
    on its path; ready when it is yielded."""
    port = free_port()
    environment = dict(os.environ)
    environment.update(FAST_HASHING)
    environment.update(
        PLEXICHAT_DATA_DIR=str(workdir / "data"),
        PLEXICHAT_ADMIN_TOKEN=ADMIN_TOKEN,
        PLEXICHAT_DISABLE_PLUGINS="",
    )
    environment.pop("PLEXICHAT_DATABASE_URL", None)
    environment.pop("PLEXICHAT_REDIS_URL", None)
    if plugins is None:
        environment.pop("PLEXICHAT_LOAD_PLUGINS", None)
    else:
        environment["PLEXICHAT_LOAD_PLUGINS"] = ",".join(plugins)
    if site is not None:
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(site), environment.get("PYTHONPATH")]))
    environment.update(env or {})
    args = [sys.executable, "-m", "plexichat", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning"]
    with _process(args, workdir, environment, f"http://127.0.0.1:{port}") as server:
        server.wait_ready()
        yield server


@contextlib.contextmanager
def bare_fastapi(workdir: Path) -> Iterator[Server]:
    """A bare FastAPI app with one route under uvicorn, on a free port; ready when it is
    yielded."""
    port = free_port()
    args = [sys.executable, "-c", BARE_APP, str(port)]
    with _process(args, workdir, os.environ, f"http://127.0.0.1:{port}") as server:
        server.wait_ready("/ready")
        yield server


@dataclass
class ChatUser:
    """A registered user with a token."""

    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header of this user."""
        return {"Authorization": f"Bearer {self.token}"}


async def register(client: httpx.AsyncClient, name: str) -> ChatUser:
    """Register ``name`` and log in."""
    credentials = {"name": name, "password": "bench-password-1"}
    response = await client.post("/api/v1/users", json=credentials)
    response.raise_for_status()
    response = await client.post("/api/v1/users/login", json=credentials)
    response.raise_for_status()
    return ChatUser(name, response.json()["token"])


async def create_channel(client: httpx.AsyncClient, owner: ChatUser, name: str) -> int:
    """Create channel ``name`` as ``owner``; return its id."""
    response = await client.post("/api/v1/channels", json={"name": name},
                                 headers=owner.headers)
    response.raise_for_status()
    return int(response.json()["id"])


async def join(client: httpx.AsyncClient, user: ChatUser, channel_id: int) -> None:
    """``user`` joins the channel."""
    response = await client.post(f"/api/v1/channels/{channel_id}/join",
                                 headers=user.headers)
    response.raise_for_status()
