"""Time to the first ``200`` of ``/api/v1/health/ready`` with 200 trivial plugins, against
a bare FastAPI app under uvicorn answering its first ``200``.

    python bench/bench_ready.py [--plugins 200] [--runs 3]

Writes ``--plugins`` trivial plugin wheels (the ones of ``bench_discovery.py``: a
package with ``plugin.json`` and one ``startup`` hook, an entry point in
``plexichat.plugins``) and installs them with ``pip install --target`` into a temporary
directory, so each is a real distribution with its ``RECORD`` and entry point; that
directory goes on ``PYTHONPATH``. Then, ``--runs`` times, interleaved, it starts

- the host: ``uvicorn --factory plexichat.web:create_app`` with a fresh data directory,
  loading exactly the generated plugins, and times from the process start to the
  first ``200`` of ``/api/v1/health/ready`` (every plugin started);
- the baseline: ``uvicorn bare_app:app`` (one route), timed from the process start to
  its first ``200``,

both on 127.0.0.1 under uvicorn's defaults, polled every 5 ms, and prints both medians
and **the ratio host/bare (goal: <= 1.5)**.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_discovery import plugin_wheel  # noqa: E402
from bench_requests import BARE_APP, free_port, serving, wait_for  # noqa: E402


def install_plugins(work: Path, count: int) -> Path:
    """``count`` generated plugins installed into ``work/site``; returns that directory."""
    wheels = work / "wheels"
    wheels.mkdir()
    site = work / "site"
    paths = [str(plugin_wheel(wheels, i)) for i in range(count)]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                    "--no-deps", "--disable-pip-version-check", "--target", str(site),
                    *paths], check=True)
    print(f"installed {count} plugin wheels ({time.perf_counter() - started:.0f} s)",
          flush=True)
    return site


def time_to_ready(args: list[str], url: str, port: int, cwd: Path,
                  env: dict[str, str]) -> float:
    """Seconds from starting ``uvicorn ARGS`` to the first 200 of ``url``."""
    started = time.perf_counter()
    with serving(args, port, cwd, env):
        wait_for(url, timeout=300)
        return time.perf_counter() - started


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plexichat-bench-ready-") as tmp:
        work = Path(tmp)
        site = install_plugins(work, options.plugins)
        (work / "bare_app.py").write_text(BARE_APP)
        names = ",".join(f"bench_plugin_{i:03d}" for i in range(options.plugins))
        path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
        base_env = {**os.environ, "PYTHONPATH": path, "PLEXICHAT_LOAD_PLUGINS": names}
        hosts: list[float] = []
        bares: list[float] = []
        for n in range(options.runs):
            env = {**base_env, "PLEXICHAT_DATA_DIR": str(work / f"data-{n}")}
            port = free_port()
            hosts.append(time_to_ready(["--factory", "plexichat.web:create_app"],
                                       f"http://127.0.0.1:{port}/api/v1/health/ready",
                                       port, work, env))
            port = free_port()
            bares.append(time_to_ready(["bare_app:app"],
                                       f"http://127.0.0.1:{port}/api/v1/hello",
                                       port, work, env))
            print(f"run {n + 1}: host ready {hosts[-1]:.2f} s   bare FastAPI "
                  f"{bares[-1]:.2f} s", flush=True)
    host = statistics.median(hosts)
    bare = statistics.median(bares)
    print(f"{options.plugins} plugins, {options.runs} runs interleaved (medians)")
    print(f"host, first 200 of /api/v1/health/ready: {host:.2f} s")
    print(f"bare FastAPI app, first 200:            {bare:.2f} s")
    print(f"ratio host/bare: {host / bare:.2f}x (goal: <= 1.5)")
    from _results import record

    record("ready", {"plugins": options.plugins, "host_ready_s": round(host, 2),
                     "bare_ready_s": round(bare, 2)},
           "host ready <= 1.5 x a bare FastAPI app's first 200", host / bare <= 1.5,
           ratio=round(host / bare, 2), goal_ratio=1.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
