"""A real ``plexichat serve`` subprocess on 127.0.0.1, its log written to a file."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class Served:
    """A running server: its base URL, process and log file (stdout and stderr)."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything the server wrote so far."""
        return self.log_path.read_text(errors="replace")

    def client(self) -> httpx.Client:
        """An HTTP client of the server (never through a proxy)."""
        return httpx.Client(base_url=self.url, trust_env=False, timeout=10)

    def wait_ready(self, within: float = 30.0) -> None:
        """Wait until ``/api/v1/health/ready`` answers 200 (plugins started)."""
        deadline = time.monotonic() + within
        with self.client() as client:
            while True:
                assert self.proc.poll() is None, (
                    f"server exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    if client.get("/api/v1/health/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"not ready in {within} s:\n{self.log()}"
                time.sleep(0.1)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _capped(limit: int) -> Callable[[], None]:
    """What the child runs before ``exec``: cap its address space at ``limit`` bytes."""
    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return cap


@contextlib.contextmanager
def serve(site: Path, workdir: Path, *args: str,
          env: Mapping[str, str] | None = None,
          address_space: int | None = None,
          python: Path | None = None) -> Iterator[Served]:
    """``python -m plexichat serve ARGS`` with the plugins written into ``site``.

    ``env`` adds to (or, with an empty value, removes from) the environment.
    ``address_space`` caps the server's virtual memory (``RLIMIT_AS``, in bytes), so a
    plugin allocating without bound meets ``MemoryError`` instead of the machine's
    limits. ``python`` is the interpreter (default: the one running the tests), e.g. a
    throwaway environment's (:class:`support.wheels.Env`) that installs may change.
    Stopped on exit; the log stays in ``workdir/server.log``.
    """
    port = free_port()
    environment = dict(os.environ)
    environment.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), environment.get("PYTHONPATH")])),
        PLEXICHAT_DATA_DIR=str(workdir / "served-data"),
    )
    for key, value in (env or {}).items():
        if value:
            environment[key] = value
        else:
            environment.pop(key, None)
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(python or sys.executable), "-m", "plexichat", "serve", "--host", "127.0.0.1",
             "--port", str(port), *args],
            env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
            preexec_fn=None if address_space is None else _capped(address_space))
        try:
            yield Served(f"http://127.0.0.1:{port}", proc, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
