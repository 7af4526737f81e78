"""The README's first command, checked as a new user runs it.

Run from a checkout (CI runs it on a fresh clone)::

    python3 scripts/demo_check.py

It runs ``nox -s demo`` on a free 127.0.0.1 port with its data in a temporary directory,
waits for ``/api/v1/health/ready``, lets a ``websockets`` client from an environment of
its own (not the demo's) receive a chat message over ``/api/v1/ws``, stops the demo, and
starts it a second time to show how long a reused environment takes to answer. Both
times are printed; nothing is timed as a pass/fail condition.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _e2e() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plexichat_e2e_check",
                                                  ROOT / "scripts" / "e2e_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


e2e = _e2e()


def client_python(where: Path) -> Path:
    """A virtual environment with only ``websockets`` in it: the chat client."""
    python = where / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "websockets>=15.0"], check=True)
    return python


def run_demo(workdir: Path, attempt: str, timeout: float) -> tuple[e2e.Server, float]:
    """``nox -s demo -- --port P`` in its own process group; (server, seconds to ready)."""
    port = e2e.free_port()
    log_file = workdir / f"demo-{attempt}.log"
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV"} and not k.startswith("PLEXICHAT_")}
    env["PLEXICHAT_DATA_DIR"] = str(workdir / "data")
    started = time.monotonic()
    with open(log_file, "wb") as log:
        process = subprocess.Popen(["nox", "-s", "demo", "--", "--port", str(port)],
                                   cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = e2e.Server(process, f"http://127.0.0.1:{port}", log_file)
    try:
        e2e._wait_ready(server, timeout)
    except BaseException:
        stop(server)
        raise
    return server, time.monotonic() - started


def stop(server: e2e.Server) -> None:
    """SIGTERM to the demo's whole process group (nox and the server), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.process.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds the first start may take (it installs the demo's "
                             "environment)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="plexichat-demo-") as tmp:
        workdir = Path(tmp)
        client = client_python(workdir / "ws-client")
        try:
            server, first = run_demo(workdir, "first", args.timeout)
            try:
                print(f"ok  `nox -s demo` answered after {first:.1f} s")
                e2e.check_websocket(server, client)
            finally:
                stop(server)
            server, second = run_demo(workdir, "second", args.timeout)
            stop(server)
            print(f"ok  `nox -s demo` again (environment reused) answered after "
                  f"{second:.1f} s")
        except e2e.E2EFailure as exc:
            print(f"FAIL {exc}", file=sys.stderr)
            return 1
    print("demo: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
