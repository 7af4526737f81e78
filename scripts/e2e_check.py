"""End-to-end check of an environment where PlexiChat was installed from wheels.

Run it with the Python of the environment under test::

    .venv/bin/python scripts/e2e_check.py [--plugin hello] [--get /api/v1/hello]

It checks that the host and every installed plugin come from real (non-editable)
installs, that ``plexichat plugins list --json`` shows each plugin ``available`` and that
the plugins' CLI commands work (:data:`CLI_CHECKS`), then starts a real ``plexichat
serve`` on a free 127.0.0.1 port with its data in a temporary directory, waits for
``/api/v1/health/ready``, checks that ``/api/v1/plugins`` shows each plugin ``started``,
that each example plugin's routes answer 2xx (:data:`ROUTE_CHECKS`) and the given routes
200, then uninstalls one plugin through ``plexichat plugins uninstall --url`` and sees it
vanish from ``/api/v1/plugins`` without a restart, installs it back from its wheel
(``--wheel-dir``) and sees it started again, and stops the server (always, even when a
check fails). With ``--check-lock`` it then writes ``plexichat plugins lock`` of the
environment and reproduces it in a fresh virtual environment with ``pip install
--require-hashes --no-index --find-links WHEEL_DIR -r plugins.lock``.

A plugin of the tables that is not installed (its wheel was not built) is skipped with a
line saying so; one that is installed must pass.

Only the standard library is used, so the environment needs nothing but the wheels.
The functions are also used by ``tests/test_wheel_e2e.py``, which runs them from the
test's own interpreter against the ``bin`` directory of a fresh virtual environment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
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
    "CLI_CHECKS",
    "ROUTE_CHECKS",
    "CliCheck",
    "E2EFailure",
    "RouteCheck",
    "Server",
    "check_cli",
    "check_installed_from_wheels",
    "check_live",
    "check_lock",
    "check_plugin_routes",
    "check_reinstall",
    "check_static_listing",
    "check_websocket",
    "clean_env",
    "free_port",
    "get_json",
    "request",
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


_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Answer:
    """What one request got back."""

    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def request(url: str, method: str = "GET", body: Any = None, token: str | None = None,
            timeout: float = 30.0) -> Answer:
    """One request to the server under test, never through a proxy: JSON ``body``,
    ``token`` as the bearer token."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _no_proxy.open(req, timeout=timeout) as response:
            status, got, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, got, raw = exc.code, dict(exc.headers), exc.read()
    return Answer(status, {k.lower(): v for k, v in got.items()},
                  raw.decode("utf-8", "replace"))


# --- what each example plugin must do ----------------------------------------------


@dataclass(frozen=True)
class RouteCheck:
    """One request a started plugin must answer with 2xx, and what the answer must show.

    ``method`` ``CHAT`` posts ``path`` as a chat message of a new user in a new channel
    and needs a reply from the plugin's bot user.
    """

    plugin: str
    method: str
    path: str
    body: Any = None
    admin: bool = False
    expect: Any = None
    """``expect(answer)`` is true when the :class:`Answer` shows the plugin at work."""
    what: str = ""


def _json_has(**wanted: Any) -> Any:
    def check(answer: Answer) -> bool:
        body = answer.json()
        return all(body.get(k) == v for k, v in wanted.items())
    return check


ROUTE_CHECKS: tuple[RouteCheck, ...] = (
    RouteCheck("hello", "GET", "/api/v1/hello",
               expect=_json_has(message="Hello from PlexiChat!")),
    RouteCheck("my_awesome_plugin", "GET", "/api/v1/awesome/status",
               expect=_json_has(status="awesome")),
    RouteCheck("my_awesome_plugin", "POST", "/api/v1/awesome/action",
               expect=_json_has(success=True)),
    RouteCheck("my_awesome_plugin", "GET", "/plugins/my_awesome_plugin/ui/dashboard/",
               expect=lambda a: "<title>Awesome Dashboard</title>" in a.text,
               what="its dashboard page"),
    RouteCheck("advanced", "GET", "/api/v1/health/live",
               expect=lambda a: a.headers.get("x-advanced-plugin") == "api",
               what="its api middleware stamps X-Advanced-Plugin"),
    RouteCheck("services_demo", "GET", "/api/v1/services-demo/last",
               expect=lambda a: str(a.json().get("result", "")).startswith("[")),
    RouteCheck("moderation", "GET", "/api/v1/plugins/moderation/health",
               expect=_json_has(healthy=True)),
    RouteCheck("echo_bot", "CHAT", "/echo e2e",
               expect=lambda a: [(r["author"], r["text"]) for r in a.json()["replies"]]
               == [("bot:echo_bot", "e2e")], what="answered by bot:echo_bot"),
    RouteCheck("ai_node", "GET", "/api/v1/ai-node", expect=_json_has(active=True),
               what="it provides the host's ai service"),
    RouteCheck("ai_node", "POST", "/api/v1/ai-node/respond", {"prompt": "hello"},
               expect=lambda a: a.json()["answer"].startswith("[plexichat-ai-node] ")),
    RouteCheck("backup_node", "POST", "/api/v1/backup-node/archives", admin=True,
               expect=lambda a: a.json()["archive"]["name"].endswith(".zip")),
    RouteCheck("backup_node", "GET", "/api/v1/backup-node/archives", admin=True,
               expect=lambda a: len(a.json()["archives"]) == 1),
    RouteCheck("theme_dark", "GET", "/theme/theme_dark.css",
               expect=lambda a: "--plx-bg" in a.text),
    RouteCheck("theme_dark", "GET", "/",
               expect=lambda a: 'href="/theme/theme_dark.css"' in a.text,
               what="every page links the theme"),
    RouteCheck("mega_cli", "GET", "/api/v1/mega/commands"),
)
"""Plugin → requests its started plugin must answer (see :class:`RouteCheck`)."""


@dataclass(frozen=True)
class CliCheck:
    """A ``plexichat`` command that must exit 0 (``plugin`` None: always run)."""

    plugin: str | None
    args: tuple[str, ...]
    expect: Any = None
    """``expect(stdout)`` is true when the output shows the command worked."""
    what: str = ""


def _all_self_tests_pass(out: str) -> bool:
    results = json.loads(out)
    return bool(results) and all(r["passed"] for r in results)


CLI_CHECKS: tuple[CliCheck, ...] = (
    # The first command in this fresh data directory: --init lets it create the database.
    CliCheck(None, ("plugins", "selftest", "--json", "--init"), _all_self_tests_pass,
             "every plugin's self-test passed"),
    CliCheck("mega_cli", ("dev", "dev_cmd_1", "--help"),
             lambda out: "dev_cmd_1" in out),
)
"""Commands of the ``plexichat`` CLI the installed plugins must serve."""


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
test_only = sorted(n for n in TEST_ONLY if importlib.util.find_spec(n) is not None)
json.dump({"prefix": sys.prefix, "dists": out, "test_only": test_only}, sys.stdout)
"""

TEST_ONLY = ("pytest", "playwright", "psycopg")
"""Modules only the test extra brings: the product must work without them, so the
environment under test must not have them (they would hide what the product lacks)."""


def check_installed_from_wheels(bin_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The host and every plugin distribution were installed from wheel files (not
    editable, not from a source tree) and are imported from the environment's
    site-packages."""
    proc = subprocess.run(
        [str(python_of(bin_dir)), "-c", f"TEST_ONLY = {TEST_ONLY!r}\n{_INSTALLED_PROBE}"],
        env=dict(env), capture_output=True, text=True, timeout=60,
    )
    expect(proc.returncode == 0, f"probing the environment failed:\n{proc.stderr}")
    report: dict[str, Any] = json.loads(proc.stdout)
    dists = report["dists"]
    expect("plexichat" in dists, f"plexichat is not installed in {report['prefix']}")
    expect(not report["test_only"],
           f"{report['prefix']} has test-only packages ({', '.join(report['test_only'])}): "
           "install the wheels without the test extra, as an operator does")
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


def _skip_absent(plugin: str | None, installed: Sequence[str], skipped: set[str],
                 say: Any) -> bool:
    if plugin is None or plugin in installed:
        return False
    if plugin not in skipped:
        skipped.add(plugin)
        say(f"skip {plugin}: not installed (no wheel of it was built); its checks skipped")
    return True


def check_cli(bin_dir: Path, env: Mapping[str, str], installed: Sequence[str], *,
              checks: Sequence[CliCheck] = CLI_CHECKS, say: Any = print) -> None:
    """Each of ``checks`` whose plugin is installed exits 0 and shows it worked."""
    skipped: set[str] = set()
    for check in checks:
        if _skip_absent(check.plugin, installed, skipped, say):
            continue
        command = ["plexichat", *check.args]
        proc = subprocess.run([str(script(bin_dir, "plexichat")), *check.args],
                              env=dict(env), capture_output=True, text=True, timeout=120)
        expect(proc.returncode == 0, f"`{' '.join(command)}` exited {proc.returncode}:\n"
                                     f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        try:
            shown = check.expect is None or check.expect(proc.stdout)
        except (ValueError, KeyError, TypeError) as exc:
            shown, proc.stderr = False, f"{proc.stderr}\n({type(exc).__name__}: {exc})"
        expect(shown, f"`{' '.join(command)}` did not show {check.what or 'what it should'}"
                      f":\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        say(f"ok  `{' '.join(command)}`" + (f": {check.what}" if check.what else ""))


def _new_member(server: Server) -> tuple[str, int]:
    """A new user in a new channel: (the user's token, the channel's id)."""
    base = server.base_url
    credentials = {"name": f"e2e{secrets.token_hex(4)}", "password": "e2e-password-1"}
    created = request(base + "/api/v1/users", "POST", credentials)
    if created.status != 201:
        raise server.fail(f"POST /api/v1/users answered {created.status}: {created.text}")
    login = request(base + "/api/v1/users/login", "POST", credentials)
    if login.status != 200:
        raise server.fail(f"login answered {login.status}: {login.text}")
    token = login.json()["token"]
    channel = request(base + "/api/v1/channels", "POST",
                      {"name": f"e2e-{secrets.token_hex(4)}"}, token)
    if channel.status != 201:
        raise server.fail(f"POST /api/v1/channels answered {channel.status}: {channel.text}")
    return token, int(channel.json()["id"])


def _chat(server: Server, text: str) -> Answer:
    """Post ``text`` as a new user in a new channel: the answer to the message."""
    token, channel = _new_member(server)
    return request(f"{server.base_url}/api/v1/channels/{channel}/messages", "POST",
                   {"text": text}, token)


_WS_CLIENT = r"""
import json, sys
from websockets.sync.client import connect

url, token, text = sys.argv[1:4]
with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, proxy=None,
             open_timeout=10) as ws:
    print(ws.recv(timeout=10), flush=True)
    while True:
        event = json.loads(ws.recv(timeout=20))
        if event.get("type") == "message.created" and event["message"]["text"] == text:
            print(json.dumps(event), flush=True)
            break
"""


def check_websocket(server: Server, client_python: Path, *, say: Any = print) -> None:
    """A ``websockets`` client running in ``client_python`` (an environment other than
    the host's) connects to ``/api/v1/ws`` with a user token and receives the message
    that user then posts over REST."""
    token, channel = _new_member(server)
    text = f"e2e over the websocket {secrets.token_hex(4)}"
    url = server.base_url.replace("http://", "ws://", 1) + "/api/v1/ws"
    client = subprocess.Popen([str(client_python), "-c", _WS_CLIENT, url, token, text],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert client.stdout is not None
        ready = client.stdout.readline()  # the client's own timeouts bound this
        if '"ready"' not in ready:
            client.wait(timeout=30)
            raise server.fail(f"the WebSocket client got no 'ready' event from {url} "
                              f"(exit {client.returncode}): {ready}{client.stderr.read()}")
        posted = request(f"{server.base_url}/api/v1/channels/{channel}/messages", "POST",
                         {"text": text}, token)
        if posted.status != 201:
            raise server.fail(f"posting answered {posted.status}: {posted.text}")
        out, err = client.communicate(timeout=30)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    if client.returncode != 0 or text not in out:
        raise server.fail(f"the WebSocket client did not receive the posted message "
                          f"(exit {client.returncode}):\n{out}\n{err}")
    say(f"ok  WebSocket {url}: a websockets client outside the host's environment "
        "received the posted message")


def check_plugin_routes(server: Server, installed: Sequence[str], token: str | None, *,
                        checks: Sequence[RouteCheck] = ROUTE_CHECKS,
                        say: Any = print) -> None:
    """Each of ``checks`` whose plugin is installed answers 2xx and shows it worked."""
    skipped: set[str] = set()
    for check in checks:
        if _skip_absent(check.plugin, installed, skipped, say):
            continue
        label = f"{check.method} {check.path}"
        if check.method == "CHAT":
            answer = _chat(server, check.path)
            label = f"chat message {check.path!r}"
        else:
            answer = request(server.base_url + check.path, check.method, check.body,
                             token if check.admin else None)
        if not 200 <= answer.status < 300:
            raise server.fail(f"{check.plugin}: {label} answered {answer.status}: "
                              f"{answer.text[:2000]}")
        try:
            shown = check.expect is None or check.expect(answer)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            shown = False
            answer = Answer(answer.status, answer.headers,
                            f"{answer.text[:2000]} ({type(exc).__name__}: {exc})")
        if not shown:
            raise server.fail(f"{check.plugin}: {label} answered {answer.status} but not as "
                              f"expected ({check.what or 'see the check'}): "
                              f"{answer.text[:2000]}")
        say(f"ok  {check.plugin}: {label} answered {answer.status}"
            + (f", {check.what}" if check.what else ""))


def _listing(server: Server) -> dict[str, dict[str, Any]]:
    status, listing = get_json(server.base_url + "/api/v1/plugins")
    if status != 200 or not isinstance(listing, list):
        raise server.fail(f"GET /api/v1/plugins answered {status}: {listing}")
    return {item["name"]: item for item in listing}


def _wheel_of(wheel_dir: Path, distribution: str) -> Path:
    stem = re.sub(r"[-_.]+", "_", distribution).lower()
    found = sorted(p for p in wheel_dir.glob("*.whl")
                   if p.name.lower().split("-", 1)[0] == stem)
    expect(found, f"no wheel of {distribution} in {wheel_dir}")
    return found[-1]


def check_reinstall(bin_dir: Path, env: Mapping[str, str], server: Server, name: str,
                    wheel_dir: Path, token: str, *, say: Any = print) -> None:
    """Uninstall plugin ``name`` through the CLI: it leaves ``/api/v1/plugins`` of the
    running server; install it back from its wheel: it is started again."""
    status, detail = get_json(f"{server.base_url}/api/v1/plugins/{name}")
    if status != 200:
        raise server.fail(f"GET /api/v1/plugins/{name} answered {status}: {detail}")
    wheel = _wheel_of(wheel_dir, detail["distribution"])
    routes = [r["path"] for r in detail.get("routes", [])
              if "GET" in r.get("methods", []) and "{" not in r["path"]]
    cli = str(script(bin_dir, "plexichat"))
    live = ["--url", server.base_url, "--token", token, "--quiet"]

    def run(*args: str) -> None:
        proc = subprocess.run([cli, "plugins", *args, *live], env=dict(env),
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise server.fail(f"`plexichat plugins {' '.join(args)}` exited "
                              f"{proc.returncode}:\n{proc.stdout}\n{proc.stderr}")

    run("uninstall", name)
    if name in _listing(server):
        raise server.fail(f"{name} is still in /api/v1/plugins after `plexichat plugins "
                          f"uninstall {name} --url ...`: {_listing(server)[name]}")
    for route in routes[:1]:
        status, _ = get_json(server.base_url + route)
        if status != 404:
            raise server.fail(f"GET {route} answered {status} after {name} was uninstalled")
    say(f"ok  `plexichat plugins uninstall {name} --url ...`: gone from /api/v1/plugins"
        + (f", GET {routes[0]} 404" if routes else "") + ", no restart")

    run("install", str(wheel))
    item = _listing(server).get(name)
    if item is None or item["state"] != "started":
        raise server.fail(f"{name} is not started after `plexichat plugins install "
                          f"{wheel.name} --url ...`: {item}")
    for route in routes[:1]:
        status, _ = get_json(server.base_url + route)
        if status != 200:
            raise server.fail(f"GET {route} answered {status} after {name} came back")
    say(f"ok  `plexichat plugins install {wheel.name} --url ...`: {name} started again"
        + (f", GET {routes[0]} 200" if routes else ""))


def _plugin_versions(bin_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``plexichat plugins list --json --static`` of ``bin_dir``'s environment as
    {plugin: distribution version}."""
    proc = subprocess.run([str(script(bin_dir, "plexichat")), "plugins", "list", "--json",
                           "--static"], env=dict(env), capture_output=True, text=True,
                          timeout=120)
    expect(proc.returncode == 0, f"`plexichat plugins list --json --static` exited "
                                 f"{proc.returncode}:\n{proc.stderr}")
    return {p["name"]: p["distribution_version"] for p in json.loads(proc.stdout)}


def check_lock(bin_dir: Path, env: Mapping[str, str], wheel_dir: Path, workdir: Path, *,
               say: Any = print) -> None:
    """``plexichat plugins lock`` in the environment of ``bin_dir`` (digests from the
    wheels in ``wheel_dir``), then, in a fresh virtual environment with the same host
    version, ``pip install --require-hashes --no-index --find-links WHEEL_DIR -r LOCK``:
    the same plugins at the same versions."""
    lock = workdir / "plugins.lock"
    proc = subprocess.run([str(script(bin_dir, "plexichat")), "plugins", "lock", "-o",
                           str(lock), "--wheel-dir", str(wheel_dir)], env=dict(env),
                          capture_output=True, text=True, timeout=120)
    expect(proc.returncode == 0, f"`plexichat plugins lock` exited {proc.returncode}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
    text = lock.read_text(encoding="utf-8")
    pins = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
    expect(pins and "--hash=sha256:" in text, f"the lock pins nothing with a digest:\n{text}")
    wanted = _plugin_versions(bin_dir, env)
    host = subprocess.run([str(python_of(bin_dir)), "-c", "import plexichat; "
                           "print(plexichat.__version__)"], env=dict(env),
                          capture_output=True, text=True, timeout=60).stdout.strip()
    fresh = workdir / "lock-venv"
    subprocess.run([str(python_of(bin_dir)), "-m", "venv", "--clear", str(fresh)],
                   env=dict(env), check=True, capture_output=True, timeout=300)
    fresh_bin = fresh / ("Scripts" if os.name == "nt" else "bin")

    def pip(*args: str) -> None:
        run = subprocess.run([str(python_of(fresh_bin)), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", *args], env=dict(env),
                             capture_output=True, text=True, timeout=600)
        expect(run.returncode == 0, f"pip install {' '.join(args)} in {fresh} exited "
                                    f"{run.returncode}:\n{run.stdout}\n{run.stderr}")

    pip(str(_wheel_of(wheel_dir, "plexichat")))  # the base: the host's wheel alone
    expect(_plugin_versions(fresh_bin, env) == {}, f"{fresh} has plugins before the lock")
    pip("--require-hashes", "--no-index", "--find-links", str(wheel_dir), "-r", str(lock))
    got = _plugin_versions(fresh_bin, env)
    expect(got == wanted, f"the lock reproduced {got}, not {wanted}")
    say(f"ok  `plexichat plugins lock`: {len(pins)} pinned with sha256; a fresh venv "
        f"with PlexiChat {host} + `pip install --require-hashes --no-index -r "
        f"plugins.lock` has the same {len(got)} plugins")


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
    wheel_dir: Path | None = None,
    reinstall: str | None = None,
    ws_client_python: Path,
    lock: bool = False,
    say: Any = print,
) -> None:
    """Every check, in order. ``plugins`` defaults to every installed plugin.

    ``ws_client_python`` is the Python of another environment, with ``websockets``
    installed, that receives a chat message over the WebSocket.

    With ``wheel_dir`` (where the installed wheels came from), plugin ``reinstall`` is
    uninstalled through the CLI and installed back from its wheel while the server
    runs, and with ``lock`` too the plugin set is locked and reproduced in a fresh
    environment (:func:`check_lock`).
    """
    token = secrets.token_urlsafe(24)
    env = clean_env(workdir, {"PLEXICHAT_ADMIN_TOKEN": token})
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
    check_cli(bin_dir, env, installed, say=say)

    started = time.monotonic()
    with serve(bin_dir, env, workdir / "logs") as server:
        say(f"ok  {server.base_url}/api/v1/health/ready after "
            f"{time.monotonic() - started:.1f} s")
        check_live(server, plugins, routes)
        say(f"ok  /api/v1/plugins: {', '.join(plugins)} started")
        for route in routes:
            say(f"ok  GET {route} answered 200")
        check_websocket(server, ws_client_python, say=say)
        check_plugin_routes(server, [p for p in installed if p in plugins], token, say=say)
        if wheel_dir is not None and reinstall:
            expect(reinstall in installed, f"cannot reinstall {reinstall}: not installed")
            check_reinstall(bin_dir, env, server, reinstall, wheel_dir, token, say=say)
            check_installed_from_wheels(bin_dir, env)
            say(f"ok  {reinstall} is installed from its wheel again")
    # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is clean too.
    code = server.process.returncode
    expect(
        code in (0, -signal.SIGTERM) and "Application shutdown complete" in server.log(),
        f"the server did not shut down cleanly (exit {code}):\n{server.log()}",
    )
    say("ok  the server shut down cleanly on SIGTERM")
    if lock:
        expect(wheel_dir is not None, "checking the lock needs --wheel-dir")
        assert wheel_dir is not None
        check_lock(bin_dir, env, wheel_dir, workdir, say=say)


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
    parser.add_argument("--wheel-dir", type=Path, default=None,
                        help="the wheels the environment was installed from; with it, "
                             "--reinstall's plugin is uninstalled and installed back live")
    parser.add_argument("--reinstall", default="hello", metavar="PLUGIN",
                        help="the plugin to uninstall and install back (default: hello)")
    parser.add_argument("--ws-client-python", type=Path, required=True,
                        help="the Python of another environment with `websockets` "
                             "installed, which opens the chat WebSocket of the served host")
    parser.add_argument("--check-lock", action="store_true",
                        help="also lock the plugin set (`plexichat plugins lock`) and "
                             "reproduce it in a fresh venv with --require-hashes from "
                             "--wheel-dir")
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
            run_checks(args.bin_dir, workdir, args.plugins, routes,
                       wheel_dir=args.wheel_dir, reinstall=args.reinstall,
                       ws_client_python=args.ws_client_python, lock=args.check_lock)
        except E2EFailure as exc:
            print(f"FAIL {exc}", file=sys.stderr)
            return 1
    print("e2e: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
