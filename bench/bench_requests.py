"""Requests per second of ``GET /api/v1/hello``: the host with every installed plugin
against a bare FastAPI app serving the same route, both under uvicorn's defaults.

    python bench/bench_requests.py [--rounds 3] [--seconds 5] [--connections 32]

Both servers listen on 127.0.0.1 (free ports); ``wrk -t1 -cN -dS`` loads one, then
the other, for ``--rounds`` interleaved rounds, and the script prints each round's
requests per second, the medians and their ratio host/bare (goal: >= 0.9). The host is
served by ``uvicorn --factory plexichat.web:create_app`` with a fresh data directory;
it must have the ``hello`` example plugin (``nox -s bench`` installs every example
plugin). Needs ``wrk`` on the PATH; without it the script says so and exits 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROUTE = "/api/v1/hello"

BARE_APP = textwrap.dedent('''
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    app = FastAPI()


    class Greeting(BaseModel):
        message: str = Field(examples=["Hello from PlexiChat!"])


    @app.get("/api/v1/hello", response_model=Greeting)
    async def hello() -> Greeting:
        return Greeting(message="Hello from PlexiChat!")
''')


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0) -> float:
    """Poll ``url`` until it answers 200; the seconds that took."""
    started = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"{url} did not answer 200 within {timeout:g} s")
        time.sleep(0.005)


@contextlib.contextmanager
def serving(args: list[str], port: int, cwd: Path, env: dict[str, str]) -> Iterator[None]:
    """``python -m uvicorn ARGS`` on 127.0.0.1:``port`` (uvicorn's defaults otherwise)."""
    command = [sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1",
               "--port", str(port)]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load(url: str, seconds: float, connections: int) -> float:
    """Requests per second ``wrk`` measured on ``url``; refuses non-2xx answers."""
    result = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", url],
                            capture_output=True, text=True, check=True)
    if "Non-2xx" in result.stdout:
        raise SystemExit(f"{url} answered errors under load:\n{result.stdout}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if match is None:
        raise SystemExit(f"cannot read wrk's output:\n{result.stdout}")
    return float(match.group(1))


def main() -> int:
    """Run the benchmark; the exit status is 2 when wrk is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (e.g. `apt-get install -y wrk`); this benchmark "
              "needs it to load the servers", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="plexichat-bench-requests-") as tmp:
        work = Path(tmp)
        (work / "bare_app.py").write_text(BARE_APP)
        env = {**os.environ, "PLEXICHAT_DATA_DIR": str(work / "data")}
        host_port, bare_port = free_port(), free_port()
        host_url = f"http://127.0.0.1:{host_port}{ROUTE}"
        bare_url = f"http://127.0.0.1:{bare_port}{ROUTE}"
        with serving(["--factory", "plexichat.web:create_app"], host_port, work, env), \
                serving(["bare_app:app"], bare_port, work, env):
            wait_for(f"http://127.0.0.1:{host_port}/api/v1/health/ready")
            wait_for(host_url)
            wait_for(bare_url)
            load(host_url, 1, options.connections)  # warm-up, not counted
            load(bare_url, 1, options.connections)
            host_rates: list[float] = []
            bare_rates: list[float] = []
            for n in range(options.rounds):
                host_rates.append(load(host_url, options.seconds, options.connections))
                bare_rates.append(load(bare_url, options.seconds, options.connections))
                print(f"round {n + 1}: host {host_rates[-1]:8.0f} req/s   "
                      f"bare FastAPI {bare_rates[-1]:8.0f} req/s")
    host = statistics.median(host_rates)
    bare = statistics.median(bare_rates)
    print(f"GET {ROUTE}, wrk -t1 -c{options.connections}, {options.rounds} x "
          f"{options.seconds:g} s interleaved (medians)")
    print(f"host (every installed plugin): {host:8.0f} req/s")
    print(f"bare FastAPI app:              {bare:8.0f} req/s")
    print(f"ratio host/bare: {host / bare:.2f}x (goal: >= 0.9)")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import record

    record("requests", {"host_req_per_s": round(host), "bare_req_per_s": round(bare)},
           "host req/s >= 0.9 x a bare FastAPI app's", host / bare >= 0.9,
           ratio=round(host / bare, 2), goal_ratio=0.9)
    return 0


if __name__ == "__main__":
    sys.exit(main())
