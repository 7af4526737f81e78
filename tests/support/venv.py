"""One fresh virtual environment per test session with the host installed from its wheel
(not editable), shared by the end-to-end tests that install plugins into it.

Creating it costs a venv, an in-process hatchling build of the host and one
``pip install`` (served from pip's cache after the first run); every e2e module asks
for it through :func:`shared_host_venv` and gets the same one. Tests that install a
plugin into it uninstall it again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

_VENVS: dict[Path, Venv] = {}
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def clean_env(work: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment minus anything that would leak this interpreter's packages or
    plugin settings into the venv's processes; data and caches under ``work``."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP",
                        "PIP_REQUIRE_VIRTUALENV", "PIP_NO_CACHE_DIR"}
           and not k.startswith("PLEXICHAT_")}
    env.update(PLEXICHAT_DATA_DIR=str(work / "data"), PLEXICHAT_CACHE_DIR=str(work / "cache"),
               PYTHONUNBUFFERED="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra or {})
    return env


@dataclass
class Venv:
    """A virtual environment with the PlexiChat host installed."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / ("python.exe" if os.name == "nt" else "python")

    @property
    def plexichat(self) -> Path:
        return self.bin / ("plexichat.exe" if os.name == "nt" else "plexichat")

    def run(self, *args: Any, cwd: Path, env: Mapping[str, str] | None = None,
            timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command (``python``/``plexichat`` are this venv's); fail with its output."""
        cmd = [str(a) for a in args]
        if cmd[0] in ("python", "plexichat"):
            cmd[0] = str(self.python if cmd[0] == "python" else self.plexichat)
        proc = subprocess.run(cmd, cwd=cwd, env=dict(env or clean_env(cwd)),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-6000:]}\n"
                        f"{proc.stderr[-6000:]}")
        return proc

    def pip(self, *args: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
        return self.run("python", "-m", "pip", *args, cwd=cwd)

    def dists(self, cwd: Path) -> set[str]:
        out = self.run("python", "-c", "import importlib.metadata as md; "
                       "print('\\n'.join(d.metadata['Name'] for d in md.distributions()))",
                       cwd=cwd).stdout
        return set(out.split())


def shared_host_venv(factory: pytest.TempPathFactory) -> Venv:
    """The session's venv with the host wheel, pytest and httpx installed."""
    base = factory.getbasetemp()
    if base in _VENVS:
        return _VENVS[base]
    from hatchling.builders.wheel import WheelBuilder

    work = base / "host-venv-build"
    work.mkdir(exist_ok=True)
    started = time.monotonic()
    venv = subprocess.Popen([sys.executable, "-m", "venv", str(base / "host-venv")],
                            env=clean_env(work), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    [wheel] = WheelBuilder(str(ROOT)).build(directory=str(work / "wheels"),
                                            versions=["standard"])
    out, _ = venv.communicate(timeout=300)
    assert venv.returncode == 0, out
    env = Venv(base / "host-venv")
    env.pip("install", "--quiet", wheel, "pytest>=8", "httpx>=0.27", cwd=work)
    print(f"host venv ready in {time.monotonic() - started:.1f} s")
    _VENVS[base] = env
    return env


# --- a served host -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """``GET url`` without any proxy: (status, JSON body or text)."""
    import json

    try:
        with _opener.open(url, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("utf-8", "replace")


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text("utf-8", "replace")[-6000:]


@contextlib.contextmanager
def serve(venv: Venv, work: Path, env: Mapping[str, str],
          timeout: float = 60) -> Iterator[Served]:
    """``plexichat serve`` of ``venv`` on a free 127.0.0.1 port, ready; always stopped."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_file = work / f"server-{port}.log"
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            [str(venv.plexichat), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=work, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT)
    server = Served(f"http://127.0.0.1:{port}", process, log_file)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"the server exited:\n{server.log()}"
            with contextlib.suppress(OSError):
                if get(server.url + "/api/v1/health/ready", timeout=2)[0] == 200:
                    break
            assert time.monotonic() < deadline, f"never ready:\n{server.log()}"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def wait_for(check: Any, timeout: float = 20, what: str = "") -> Any:
    """Poll ``check()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.1)
