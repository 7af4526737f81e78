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

Then once more with one more plugin whose ``startup`` never returns: readiness waits for
it (up to the startup timeout), but no other plugin depends on it, so the others must
not. The host's ``/api/v1/health/live`` and ``GET /api/v1/plugins`` are polled and it
prints the seconds from the first ``200`` of ``live`` to every other plugin ``started``
(**goal: <= 2 s**) and from the process start to that moment against the bare app's
median (the same <= 1.5 bound).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_discovery import plugin_wheel  # noqa: E402
from bench_requests import BARE_APP, free_port, serving, wait_for  # noqa: E402

from plexichat.testing.dists import make_plugin  # noqa: E402

HANGING = "bench_hangs_at_startup"
"""The plugin of the second part: its ``startup`` never returns."""

ADMIN_TOKEN = "plexichat-bench-admin-token"


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


def others_started(base: str, expected: int) -> bool:
    """Whether every plugin but the hanging one is ``started`` (``GET /api/v1/plugins``)."""
    request = urllib.request.Request(f"{base}/api/v1/plugins",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        items = json.load(response)
    started = [i for i in items if i["name"] != HANGING and i["state"] == "started"]
    return len(started) == expected


def with_a_hanging_plugin(work: Path, env: dict[str, str], count: int) -> tuple[float, float]:
    """Serve ``count`` plugins plus one whose startup hangs; the seconds from the process
    start to the first 200 of ``/api/v1/health/live``, and from there to every other
    plugin ``started``."""
    make_plugin(work / "site", HANGING, code="""
        import asyncio

        from plexichat import hookimpl


        @hookimpl
        async def startup(context):
            await asyncio.Event().wait()
    """)
    env = {**env, "PLEXICHAT_DATA_DIR": str(work / "data-hang"),
           "PLEXICHAT_ADMIN_TOKEN": ADMIN_TOKEN,
           "PLEXICHAT_LOAD_PLUGINS": env["PLEXICHAT_LOAD_PLUGINS"] + "," + HANGING}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    with serving(["--factory", "plexichat.web:create_app"], port, work, env):
        wait_for(f"{base}/api/v1/health/live", timeout=300)
        live = time.perf_counter()
        while not others_started(base, count):
            if time.perf_counter() - live > 60:
                raise SystemExit("the other plugins were not started within 60 s")
            time.sleep(0.005)
        return live - started, time.perf_counter() - live


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
        to_live, live_to_others = with_a_hanging_plugin(work, base_env, options.plugins)
    host = statistics.median(hosts)
    bare = statistics.median(bares)
    others = to_live + live_to_others
    print(f"{options.plugins} plugins, {options.runs} runs interleaved (medians)")
    print(f"host, first 200 of /api/v1/health/ready: {host:.2f} s")
    print(f"bare FastAPI app, first 200:            {bare:.2f} s")
    print(f"ratio host/bare: {host / bare:.2f}x (goal: <= 1.5)")
    print(f"with one plugin whose startup never returns: /api/v1/health/live after "
          f"{to_live:.2f} s, the other {options.plugins} started {live_to_others:.2f} s "
          f"later (goal: <= 2 s); {others:.2f} s from the start = {others / bare:.2f}x "
          "the bare app (goal: <= 1.5)")
    from _results import record

    record("ready", {"plugins": options.plugins, "host_ready_s": round(host, 2),
                     "bare_ready_s": round(bare, 2),
                     "hanging_live_to_others_started_s": round(live_to_others, 2),
                     "hanging_others_started_ratio": round(others / bare, 2)},
           "host ready <= 1.5 x a bare FastAPI app's first 200; with one hanging plugin, "
           "the others started <= 2 s after live", host / bare <= 1.5 and live_to_others <= 2,
           ratio=round(host / bare, 2), goal_ratio=1.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
