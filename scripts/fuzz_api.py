"""Fuzz the whole HTTP API with Schemathesis against a served host.

Run from a checkout, in an environment with PlexiChat, the example plugins and
``schemathesis>=4`` installed (``tox -e fuzz`` makes one)::

    python scripts/fuzz_api.py [--max-examples N] [--seed S]

It serves the host (``plexichat serve``: real uvicorn on 127.0.0.1) with every
installed plugin and its data in a temporary directory, registers a user, and runs
``schemathesis run`` over ``/api/openapi.json`` twice: with the admin token and with
the user's token (``scripts/fuzz/auth_hooks.py``). Every phase runs, stateful links
included; the checks are ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance`` and ``response_schema_conformance``. It prints a summary
of both runs and exits non-zero when either found a failure.

The served host has ``PIP_NO_INDEX=1``, no find-links and no pip configuration file,
so the generated names that ``POST /api/v1/plugins/install`` receives can only fail
locally: pip never asks an index for them. Webhook deliveries to the targets the fuzzer
subscribes go through a proxy on a closed port of 127.0.0.1 and fail there; loopback
and private targets are refused by the host itself. The host runs through
``scripts/fuzz/loopback_only.py``: no made-up host name is ever sent to a DNS server.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")
ROLES = ("user", "admin")
"""The user first: the admin run disables plugins (their routes go with them)."""
_CLOSED_PROXY = "http://127.0.0.1:9"
"""The discard port of loopback: nothing listens there, so a request sent through it
fails at once without leaving the machine."""

# Never through a proxy: this talks to the server it started, nothing else.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class RunResult:
    """One Schemathesis run: the role whose token it sent and how it ended."""

    role: str
    exit_code: int
    seconds: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _send(method: str, url: str, payload: object = None,
          token: str | None = None) -> tuple[int, object]:
    """``(status, decoded JSON or None)`` of one request to the served host."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with _opener.open(request, timeout=10) as response:
            return int(response.status), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _lift_rate_limit(base: str, admin_token: str) -> None:
    """The moderation plugin allows 30 messages a minute per user by default: raise it,
    so posting messages (and the links from them) is exercised rather than refused."""
    code, current = _send("GET", base + "/api/v1/plugins/moderation/settings",
                          token=admin_token)
    if code != 200 or not isinstance(current, dict):
        return  # the moderation plugin is not installed
    settings = {**current.get("settings", {}), "rate_limit_per_minute": 10000}
    _send("PUT", base + "/api/v1/plugins/moderation/settings", settings, admin_token)


def _server_env(data_dir: Path, admin_token: str) -> dict[str, str]:
    """The served host's environment: no index, no find-links, no way out for webhooks,
    cheap password hashes."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PLEXICHAT_", "PIP_"))
           and k.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}}
    env.update(PLEXICHAT_DATA_DIR=str(data_dir), PLEXICHAT_ADMIN_TOKEN=admin_token,
               # webhook deliveries to the targets the fuzzer subscribes (example.com...)
               # go to a closed local port and fail there
               HTTP_PROXY=_CLOSED_PROXY, HTTPS_PROXY=_CLOSED_PROXY, ALL_PROXY=_CLOSED_PROXY,
               PLEXICHAT_PASSWORD_HASH_TIME_COST="1",
               PLEXICHAT_PASSWORD_HASH_MEMORY_KIB="64",
               # the fuzzer's own failed logins must not lock its user out
               PLEXICHAT_LOGIN_MAX_FAILURES="1000000",
               PLEXICHAT_WEBHOOK_MAX_ATTEMPTS="1",
               # no index, and no pip configuration file (one may name find-links)
               PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull,
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _wait_ready(base: str, server: subprocess.Popen[bytes], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while True:
        if server.poll() is not None:
            raise SystemExit(f"the host exited with {server.returncode} before it was ready")
        try:
            with _opener.open(base + "/api/v1/health/ready", timeout=5) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the host was not ready within {within:g} s")
        time.sleep(0.2)


def _schemathesis(base: str, role: str, env: dict[str, str], args: argparse.Namespace,
                  report_dir: Path) -> RunResult:
    """``schemathesis run`` over the whole schema with ``role``'s token."""
    command = [sys.executable, "-m", "schemathesis.cli", "run", base + "/api/openapi.json",
               "--checks", args.checks, "--max-examples", str(args.max_examples),
               "--workers", "1", "--request-timeout", "30",
               "--suppress-health-check", "all", "--report", "junit",
               "--report-dir", str(report_dir / role)]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    run_env = {**env, "PLEXICHAT_FUZZ_ROLE": role,
               "SCHEMATHESIS_HOOKS": "auth_hooks",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "scripts" / "fuzz"),
                                                          env.get("PYTHONPATH")]))}
    print(f"\n=== schemathesis as {role} ===", flush=True)
    started = time.monotonic()
    code = subprocess.call(command, env=run_env)
    return RunResult(role, code, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    """Serve the host, fuzz it as admin and as a user, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=10,
                        help="test cases per operation and phase (default 10)")
    parser.add_argument("--checks", default=CHECKS,
                        help=f"Schemathesis checks (default {CHECKS}; 'all' for every one)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (server log, reports)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="plexichat-fuzz-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    admin_token = secrets.token_urlsafe(24)
    user, password = "fuzzer", secrets.token_urlsafe(16)
    server_env = _server_env(workdir / "data", admin_token)
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "fuzz" / "loopback_only.py"),
             "serve", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=server_env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    results: list[RunResult] = []
    try:
        _wait_ready(base, server)
        registered, _ = _send("POST", base + "/api/v1/users",
                              {"name": user, "password": password})
        if registered != 201:
            raise SystemExit(f"registering the fuzz user answered {registered}")
        fuzz_env = {k: v for k, v in os.environ.items() if not k.startswith("PLEXICHAT_")}
        fuzz_env.update(PLEXICHAT_FUZZ_URL=base, PLEXICHAT_FUZZ_USER=user,
                        PLEXICHAT_FUZZ_PASSWORD=password,
                        PLEXICHAT_FUZZ_ADMIN_TOKEN=admin_token)
        for role in ROLES:
            _lift_rate_limit(base, admin_token)  # before each run: fuzzing changes settings
            results.append(_schemathesis(base, role, fuzz_env, args, workdir / "reports"))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    failed = [r for r in results if r.exit_code != 0]
    print("\n=== fuzz summary ===")
    for r in results:
        print(f"  {r.role:<6} {'ok' if r.exit_code == 0 else 'FAILED':<7} "
              f"({r.seconds:.0f} s, exit code {r.exit_code})")
    print(f"  checks: {args.checks}; at most {args.max_examples} examples per operation")
    if failed or args.keep:
        print(f"  server log and JUnit reports kept in {workdir}")
        if failed:
            print("  server log tail:")
            for line in log_path.read_text(errors="replace").splitlines()[-40:]:
                print("   ", line)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
