"""End-to-end check of an environment where PlexiChat was installed from wheels.

Run it with the Python of the environment under test::

    .venv/bin/python scripts/e2e_check.py [--plugin hello] [--get /api/v1/hello]

It checks that the host and every installed plugin come from real (non-editable)
installs, that ``plexichat plugins list --json`` shows each plugin ``available``, then
starts a real ``plexichat serve`` on a free 127.0.0.1 port with its data in a temporary
directory, waits for ``/api/v1/health/ready``, checks that ``/api/v1/plugins`` shows each
plugin ``started`` and that the given routes answer, and stops the server (always, even
when a check fails).

Only the standard library is used, so the environment needs nothing but the wheels.
The functions are also used by ``tests/test_wheel_e2e.py``, which runs them from the
test's own interpreter against the ``bin`` directory of a fresh virtual environment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "E2EFailure",
    "Server",
    "check_installed_from_wheels",
    "check_live",
    "check_static_listing",
    "clean_env",
    "free_port",
    "get_json",
    "run_checks",
    "script",
    "serve",
]

PLUGIN_GROUP = "plexichat.plugins"


class E2EFailure(AssertionError):
    """A check failed; the message says which and shows what was seen."""


def expect(condition: object, message: str) -> None:
    """Raise :class:`E2EFailure` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise E2EFailure(message)


def script(bin_dir: Path, name: str) -> Path:
    """The console script ``name`` of the environment whose scripts live in ``bin_dir``."""
    for candidate in (bin_dir / name, bin_dir / f"{name}.exe"):
        if candidate.exists():
            return candidate
    raise E2EFailure(f"no {name!r} script in {bin_dir}: is the host installed there?")


def python_of(bin_dir: Path) -> Path:
    """The interpreter of the environment whose scripts live in ``bin_dir``."""
    for name in ("python", "python3", "python.exe"):
        if (bin_dir / name).exists():
            return bin_dir / name
    raise E2EFailure(f"no python in {bin_dir}")


def clean_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for the host's processes: ours, minus anything that could make
    them see code other than what is installed, with data and caches under ``data_dir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "__PYVENV_LAUNCHER__"}
        and not (k.startswith("PLEXICHAT_") and k != "PLEXICHAT_TEST_DATABASE_URL")
    }
    env["PLEXICHAT_DATA_DIR"] = str(data_dir / "data")
    env["PLEXICHAT_CACHE_DIR"] = str(data_dir / "cache")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """``GET url``: (status, decoded JSON body or the raw text when it is not JSON)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    text = body.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


# --- what is installed -------------------------------------------------------------

_INSTALLED_PROBE = r"""
import importlib.metadata as md, importlib.util, json, sys, sysconfig
from pathlib import Path

site = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
names = {"plexichat"} | {
    ep.dist.metadata["Name"] for ep in md.entry_points(group="plexichat.plugins")
}
out = {}
for name in sorted(names):
    dist = md.distribution(name)
    direct = json.loads(dist.read_text("direct_url.json") or "null")
    modules = sorted(
        {p.parts[0] for p in dist.files or () if p.suffix == ".py" and len(p.parts) > 1}
    )
    origins = {}
    for module in modules:
        spec = importlib.util.find_spec(module)
        origins[module] = str(Path(spec.origin).resolve()) if spec and spec.origin else None
    out[name] = {
        "version": dist.version,
        "direct_url": direct,
        "origins": origins,
        "in_site": all(
            o is not None and any(Path(o).is_relative_to(s) for s in site)
            for o in origins.values()
        ),
    }
json.dump({"prefix": sys.prefix, "dists": out}, sys.stdout)
"""


def check_installed_from_wheels(bin_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The host and every plugin distribution were installed from wheel files (not
    editable, not from a source tree) and are imported from the environment's
    site-packages."""
    proc = subprocess.run(
        [str(python_of(bin_dir)), "-c", _INSTALLED_PROBE],
        env=dict(env), capture_output=True, text=True, timeout=60,
    )
    expect(proc.returncode == 0, f"probing the environment failed:\n{proc.stderr}")
    report: dict[str, Any] = json.loads(proc.stdout)
    dists = report["dists"]
    expect("plexichat" in dists, f"plexichat is not installed in {report['prefix']}")
    for name, info in dists.items():
        direct = info["direct_url"] or {}
        expect(
            not (direct.get("dir_info") or {}).get("editable"),
            f"{name} is an editable install ({direct.get('url')}); expected a wheel",
        )
        expect(
            "archive_info" in direct and str(direct.get("url", "")).endswith(".whl"),
            f"{name} was not installed from a wheel file (direct_url.json: {direct})",
        )
        expect(
            info["in_site"],
            f"{name} is not imported from {report['prefix']}'s site-packages: "
            f"{info['origins']}",
        )
    return report


# --- the static view ---------------------------------------------------------------


def check_static_listing(
    bin_dir: Path, env: Mapping[str, str], plugins: Sequence[str]
) -> list[dict[str, Any]]:
    """``plexichat plugins list --json`` shows each of ``plugins`` as ``available``."""
    proc = subprocess.run(
        [str(script(bin_dir, "plexichat")), "plugins", "list", "--json"],
        env=dict(env), capture_output=True, text=True, timeout=60,
    )
    expect(
        proc.returncode == 0,
        f"`plexichat plugins list --json` exited {proc.returncode}:\n{proc.stderr}",
    )
    try:
        listing: list[dict[str, Any]] = json.loads(proc.stdout)
    except ValueError as exc:
        raise E2EFailure(f"`plexichat plugins list --json` printed no JSON ({exc}):\n"
                         f"{proc.stdout}\n{proc.stderr}") from None
    by_name = {item["name"]: item for item in listing}
    for name in plugins:
        expect(name in by_name, f"plugin {name!r} not listed; listing: {listing}")
        item = by_name[name]
        expect(
            item["state"] == "available",
            f"plugin {name!r} is {item['state']!r} in the static listing: {item['reason']}",
        )
    return listing


# --- the served host ---------------------------------------------------------------


@dataclass
class Server:
    """A running ``plexichat serve``."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_file: Path

    def log(self, lines: int = 60) -> str:
        """The last ``lines`` lines the server printed."""
        try:
            text = self.log_file.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, message: str) -> E2EFailure:
        """An :class:`E2EFailure` carrying the server's recent output."""
        return E2EFailure(f"{message}\n--- server output ({self.log_file}) ---\n{self.log()}")


def _stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> int | None:
    """Stop the server: a polite SIGTERM first, then SIGKILL. Returns its exit code."""
    if process.poll() is not None:
        return process.returncode
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=timeout)
        return None


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise server.fail(
                f"`plexichat serve` exited with {server.process.returncode} before it "
                "was ready"
            )
        try:
            status, body = get_json(server.base_url + "/api/v1/health/ready", timeout=2)
        except (OSError, urllib.error.URLError) as exc:
            last = repr(exc)
        else:
            if status == 200:
                return
            last = f"{status} {body}"
        time.sleep(0.1)
    raise server.fail(f"/api/v1/health/ready not 200 within {timeout:.0f} s (last: {last})")


@contextlib.contextmanager
def serve(
    bin_dir: Path,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    ready_timeout: float = 60.0,
    attempts: int = 3,
) -> Iterator[Server]:
    """Run ``plexichat serve`` from ``bin_dir`` on a free 127.0.0.1 port until the block
    ends, waiting for readiness first. The server is stopped however the block ends."""
    log_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        port = free_port()
        log_file = log_dir / f"server-{port}.log"
        with open(log_file, "wb") as log:
            process = subprocess.Popen(
                [str(script(bin_dir, "plexichat")), "serve", "--host", "127.0.0.1",
                 "--port", str(port)],
                env=dict(env), cwd=log_dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, f"http://127.0.0.1:{port}", log_file)
        try:
            try:
                _wait_ready(server, ready_timeout)
            except E2EFailure:
                # Someone else took the port between our probe and the bind: try another.
                if attempt < attempts and "address already in use" in server.log().lower():
                    continue
                raise
            yield server
            return
        finally:
            _stop(process)


def check_live(
    server: Server, plugins: Sequence[str], routes: Sequence[str]
) -> list[dict[str, Any]]:
    """``/api/v1/plugins`` shows each of ``plugins`` started; each of ``routes`` answers
    200 with a JSON body."""
    status, listing = get_json(server.base_url + "/api/v1/plugins")
    if status != 200 or not isinstance(listing, list):
        raise server.fail(f"GET /api/v1/plugins answered {status}: {listing}")
    by_name = {item["name"]: item for item in listing}
    for name in plugins:
        if name not in by_name:
            raise server.fail(f"plugin {name!r} missing from /api/v1/plugins: {listing}")
        item = by_name[name]
        if item["state"] != "started":
            raise server.fail(
                f"plugin {name!r} is {item['state']!r}, not 'started': {item['reason']}"
            )
    for route in routes:
        status, body = get_json(server.base_url + route)
        if status != 200:
            raise server.fail(f"GET {route} answered {status}: {body}")
        if not isinstance(body, (dict, list)):
            raise server.fail(f"GET {route} answered no JSON: {body!r}")
    return listing


# --- the whole check ---------------------------------------------------------------


def installed_plugin_names(bin_dir: Path, env: Mapping[str, str]) -> list[str]:
    """Names of every plugin entry point in the environment of ``bin_dir``."""
    code = (
        "import importlib.metadata as md, json, sys;"
        f"json.dump(sorted(ep.name for ep in md.entry_points(group={PLUGIN_GROUP!r})),"
        " sys.stdout)"
    )
    proc = subprocess.run([str(python_of(bin_dir)), "-c", code], env=dict(env),
                          capture_output=True, text=True, timeout=60)
    expect(proc.returncode == 0, f"listing entry points failed:\n{proc.stderr}")
    return list(json.loads(proc.stdout))


def run_checks(
    bin_dir: Path,
    workdir: Path,
    plugins: Sequence[str] = (),
    routes: Sequence[str] = (),
    *,
    say: Any = print,
) -> None:
    """Every check, in order. ``plugins`` defaults to every installed plugin."""
    env = clean_env(workdir)
    installed = installed_plugin_names(bin_dir, env)
    plugins = list(plugins) or installed
    expect(plugins, f"no plugin is installed in {bin_dir.parent}")
    missing = sorted(set(plugins) - set(installed))
    expect(not missing, f"plugins not installed: {missing} (installed: {installed})")

    report = check_installed_from_wheels(bin_dir, env)
    for name, info in sorted(report["dists"].items()):
        say(f"ok  {name} {info['version']} installed from "
            f"{info['direct_url']['url']}")
    check_static_listing(bin_dir, env, plugins)
    say(f"ok  `plexichat plugins list --json`: {', '.join(plugins)} available")

    started = time.monotonic()
    with serve(bin_dir, env, workdir / "logs") as server:
        say(f"ok  {server.base_url}/api/v1/health/ready after "
            f"{time.monotonic() - started:.1f} s")
        check_live(server, plugins, routes)
        say(f"ok  /api/v1/plugins: {', '.join(plugins)} started")
        for route in routes:
            say(f"ok  GET {route} answered 200")
    # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is clean too.
    code = server.process.returncode
    expect(
        code in (0, -signal.SIGTERM) and "Application shutdown complete" in server.log(),
        f"the server did not shut down cleanly (exit {code}):\n{server.log()}",
    )
    say("ok  the server shut down cleanly on SIGTERM")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", type=Path, default=Path(sys.executable).parent,
                        help="scripts directory of the environment (default: this Python's)")
    parser.add_argument("--plugin", action="append", default=[], dest="plugins",
                        help="plugin that must be available and started (repeatable; "
                             "default: every installed plugin, which must include hello)")
    parser.add_argument("--get", action="append", default=[], dest="routes",
                        help="route that must answer 200 (repeatable; "
                             "default: /api/v1/hello)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where data, caches and server logs go (default: a temporary "
                             "directory, removed afterwards)")
    args = parser.parse_args(argv)
    routes = args.routes or ["/api/v1/hello"]
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="plexichat-e2e-"))
        )
        try:
            if not args.plugins:
                env = clean_env(workdir)
                installed = installed_plugin_names(args.bin_dir, env)
                expect("hello" in installed, f"hello is not installed (found {installed})")
            run_checks(args.bin_dir, workdir, args.plugins, routes)
        except E2EFailure as exc:
            print(f"FAIL {exc}", file=sys.stderr)
            return 1
    print("e2e: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
