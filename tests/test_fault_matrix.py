"""The fault matrix: every way a plugin can break, each in a real served host.

Every broken plugin of :mod:`support.faulty` is a real distribution; all of them are
written once into one site directory, and real ``plexichat serve`` processes on
127.0.0.1 hold them: one host holds nearly all of them side by side with the example
plugins and a healthy fixture plugin, a second (under a 1 GiB address-space cap) holds
the ones that must be alone. For each kind of fault the test provokes it as a user or
operator would, then checks that the host still answers, that every healthy plugin
still serves, and that the broken plugin's state and reason (and its kept traceback,
where there is one) tell an operator what went wrong.

:data:`CASES` is the matrix; ``scripts/gen_reliability_doc.py`` writes it into
docs/RELIABILITY.md.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.api import AUTH, TOKEN, eventually
from support.chat import Chatter
from support.faulty import FAULTY, install_faulty
from support.served import Served, serve


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: a broken plugin and what the host makes of it."""

    kind: str
    """What is wrong with the plugin."""
    plugin: str
    """Its name (a key of :data:`support.faulty.FAULTY`)."""
    state: str
    """The state the host leaves it in."""
    reason: str
    """A fragment of what the host shows: in the plugin's ``reason``, or in its
    ``warnings`` when ``shown`` says so."""
    where: str | None = None
    """Where its kept failure happened (the failure's ``hook``, a prefix of it), with the
    traceback of the plugin's code; None when there is no failure to keep."""
    act: str = ""
    """What provokes the fault after the host started (see :data:`ACTS`)."""
    shown: str = "reason"
    """``reason`` or ``warnings``."""
    host: str = "shared"
    """``shared``, or ``alone`` for a fault that must not share a host."""


BUDGET = 3
"""PLEXICHAT_FAULT_BUDGET of the hosts: consecutive failures before quarantine."""

CASES: tuple[Fault, ...] = (
    Fault("import error", "import_error", "failed",
          "import failed: ModuleNotFoundError: No module named "
          "'plx_this_module_is_not_installed'", "import"),
    Fault("syntax error", "syntax_error", "failed",
          "import failed: SyntaxError: invalid syntax (__init__.py, line 1)", "import"),
    Fault("entry point names a missing object", "missing_target", "failed",
          "import failed: AttributeError: module 'plx_missing_target.main' has no "
          "attribute 'plugin'", "import"),
    Fault("invalid manifest (plugin.json not JSON)", "invalid_manifest", "rejected",
          "plx_invalid_manifest/plugin.json: (root): invalid JSON at line 1"),
    Fault("manifest name differs from the entry-point name", "name_mismatch", "rejected",
          "name: 'another_name' differs from the entry-point name 'name_mismatch'"),
    Fault("two distributions claim one plugin name", "duplicate", "rejected",
          "plugin name 'duplicate' is claimed by more than one distribution "
          "(plx-dup-first 1.0.0, plx-dup-second 1.0.0); uninstall all but one"),
    Fault("dependency not installed", "missing_dep", "rejected",
          "requires 'plx_not_installed_anywhere', which is not installed"),
    Fault("dependency cycle", "cycle", "rejected",
          "dependency cycle: cycle -> cycle_partner -> cycle"),
    Fault("min_plexichat_version above the host's", "too_new", "rejected",
          "needs PlexiChat >= 99.0, but this host is"),
    Fault("unsupported api_version", "future_api", "rejected",
          "needs plugin API 99, but this host implements 1.0"),
    Fault("startup raises", "raising_startup", "failed",
          "startup raised ConnectionError: database at db.invalid refused", "startup"),
    Fault("startup hangs", "hanging_startup", "failed",
          "startup did not finish within 5 s (PLEXICHAT_STARTUP_TIMEOUT)", "startup"),
    Fault("startup calls sys.exit", "exiting_startup", "failed",
          "startup raised PluginExit: SystemExit: no licence key", "startup",
          host="alone"),
    Fault("sync hook raises (message_will_post)", "raising_sync_hook", "quarantined",
          f"fault budget spent: {BUDGET} consecutive failures; last in message_will_post: "
          "KeyError: 'spam list'", "message_will_post", act="post"),
    Fault("async hook raises (message_posted)", "raising_async_hook", "quarantined",
          f"fault budget spent: {BUDGET} consecutive failures; last in message_posted: "
          "LookupError: no such archive", "message_posted", act="post"),
    Fault("hook hangs", "hanging_hook", "quarantined",
          "last in message_will_post: HookTimeout: did not finish within 0.5 s",
          "message_will_post", act="post"),
    Fault("hook returns the wrong type", "wrong_type_hook", "quarantined",
          "last in message_will_post: TypeError: message_will_post: returned int; "
          "expected MessageDraft, Reject or None", act="post"),
    Fault("background task crash-loops", "crashing_task", "quarantined",
          "last in task:sync_inbox: OSError: inbox unreachable", "task:sync_inbox",
          act="task"),
    Fault("request middleware raises", "raising_middleware", "quarantined",
          "last in middleware: RuntimeError: header table corrupt", "middleware",
          act="middleware"),
    Fault("request middleware never answers (504)", "hanging_middleware", "quarantined",
          "last in middleware: HookTimeout: middleware neither answered nor called "
          "call_next within 1 s", "middleware", act="hang"),
    Fault("route raises (500)", "raising_route", "quarantined",
          "last in route:GET /api/v1/raising-route: ZeroDivisionError: no samples yet",
          "route:GET /api/v1/raising-route", act="route"),
    Fault("route collides with a served route", "route_collision", "started",
          "route GET /api/v1/healthy refused: already served by plugin 'healthy'",
          shown="warnings"),
    Fault("shutdown raises", "raising_shutdown", "disabled", "disabled by the operator",
          "shutdown", act="disable"),
    Fault("shutdown hangs", "hanging_shutdown", "disabled", "disabled by the operator",
          "shutdown", act="disable"),
    Fault("uses a service without the permission", "no_permission", "failed",
          "startup raised PermissionDenied: plugin 'no_permission' may not use "
          "context.chat: it needs the 'chat:read' permission", "startup"),
    Fault("invalid settings schema", "bad_schema", "failed",
          "the settings schema of plugin 'bad_schema' is not a valid JSON Schema "
          "(Draft 2020-12; from its manifest's settings_schema and its config_schema "
          "hook): $schema.properties.level.type"),
    Fault("config_changed rejects new settings (409)", "refuses_settings", "started",
          "", "config_changed", act="settings"),
    Fault("thread and task left running at disable", "leaks_at_disable", "disabled",
          "left running after its shutdown: thread 'leaky-poller' (still running",
          act="disable", shown="warnings"),
    Fault("route allocates memory without bound (500)", "memory_hog", "started", "",
          "route:GET /api/v1/memory-hog", act="memory", host="alone"),
)
"""The matrix: one row per kind of fault."""

ENV = {
    "PLEXICHAT_STARTUP_TIMEOUT": "5",
    "PLEXICHAT_SHUTDOWN_TIMEOUT": "1",
    "PLEXICHAT_FILTER_TIMEOUT": "0.5",
    "PLEXICHAT_MIDDLEWARE_TIMEOUT": "1",
    "PLEXICHAT_FAULT_BUDGET": str(BUDGET),
    "PLEXICHAT_ADMIN_TOKEN": TOKEN,
    "PLEXICHAT_PASSWORD_HASH_TIME_COST": "1",
    "PLEXICHAT_PASSWORD_HASH_MEMORY_KIB": "64",
    "MALLOC_ARENA_MAX": "2",  # a predictable address space under the cap
}
ALONE_CAP = 1 << 30
"""RLIMIT_AS of the ``alone`` host: what a plugin allocating without bound runs into."""


def test_every_broken_plugin_has_one_row():
    assert sorted(c.plugin for c in CASES) == sorted(FAULTY)
    assert len({c.kind for c in CASES}) == len(CASES) >= 25


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Every broken distribution, written once."""
    path = tmp_path_factory.mktemp("faulty-site")
    install_faulty(path, list(FAULTY))
    return path


@dataclass
class Host:
    """A served host of the matrix, and a chat user of it (made on first use)."""

    served: Served
    client: httpx.Client
    user: Chatter | None = None
    channel: int = 0

    def chatter(self) -> tuple[Chatter, int]:
        if self.user is None:
            self.user = Chatter(self.client, "faults")  # type: ignore[arg-type]
            self.channel = self.user.create_channel()
        return self.user, self.channel


@pytest.fixture(scope="module")
def hosts(site, tmp_path_factory) -> Iterator[dict[str, Host]]:
    """The ``shared`` and the ``alone`` host, started side by side."""
    with _host(site, tmp_path_factory.mktemp("shared"), "shared") as shared, \
            _host(site, tmp_path_factory.mktemp("alone"), "alone") as alone:
        yield {"shared": shared, "alone": alone}


def _host(site: Path, workdir: Path, name: str) -> Any:
    @contextlib.contextmanager
    def running() -> Iterator[Host]:
        alone = sorted(c.plugin for c in CASES if c.host == "alone")
        hidden = alone if name == "shared" else sorted(set(FAULTY) - set(alone))
        # the other host's plugins are kept out by the operator's switch
        env = {**ENV, "PLEXICHAT_DISABLE_PLUGINS": ",".join(hidden)}
        with serve(site, workdir, "--log-level", "warning", env=env,
                   address_space=ALONE_CAP if name == "alone" else None) as served:
            served.wait_ready(within=90)
            with served.client() as client:
                yield Host(served, client)
            served.proc.terminate()
            served.proc.wait(timeout=20)  # leaked threads and hung hooks do not hold it
            assert served.proc.returncode in (0, -signal.SIGTERM), served.log()[-3000:]
    return running()


# --- what provokes each fault --------------------------------------------------------

def _post(host: Host) -> None:
    """Messages go through the broken filters and are stored all the same."""
    user, channel = host.chatter()
    for n in range(BUDGET):
        user.say(channel, f"message {n}")


def _wait_for_task(host: Host) -> None:
    pass  # the task crashes by itself; the state is polled below


def _through_middleware(host: Host) -> None:
    for _ in range(BUDGET):  # the raising middleware is skipped
        assert host.client.get("/api/v1/healthy").json() == {"ok": "healthy"}


def _hang(host: Host) -> None:
    """Requests the hanging middleware holds are cut at its deadline with 504, and
    others are served meanwhile."""
    def plain_request(answers: list[int]) -> None:
        with host.served.client() as other_client:
            answers.append(other_client.get("/api/v1/healthy").status_code)

    for _ in range(BUDGET):
        served_meanwhile: list[int] = []
        other = threading.Thread(target=plain_request, args=(served_meanwhile,))
        began = time.monotonic()
        other.start()
        response = host.client.get("/api/v1/healthy", headers={"x-audit": "1"})
        other.join()
        assert response.status_code == 504, response.text
        assert "hanging_middleware" in response.json()["detail"]
        assert time.monotonic() - began < 5
        assert served_meanwhile == [200]


def _route(host: Host) -> None:
    for _ in range(BUDGET):  # one connection throughout: it stays usable
        response = host.client.get("/api/v1/raising-route")
        assert response.status_code == 500
        assert "plugin 'raising_route' failed" in response.json()["detail"]


def _disable(plugin: str) -> Callable[[Host], None]:
    def disable(host: Host) -> None:
        began = time.monotonic()
        response = host.client.post(f"/api/v1/plugins/{plugin}/disable", headers=AUTH)
        assert response.status_code == 200, response.text
        assert time.monotonic() - began < 5  # a hanging shutdown is cut at 1 s
    return disable


def _settings(host: Host) -> None:
    path = "/api/v1/plugins/refuses_settings/settings"
    response = host.client.put(path, headers=AUTH, json={"level": 5})
    assert response.status_code == 409, response.text
    assert "refused the new settings: ValueError: level 5 is above 3" in response.text
    assert host.client.get(path, headers=AUTH).json()["settings"] == {"level": 1}


def _memory(host: Host) -> None:
    response = host.client.get("/api/v1/memory-hog")
    assert response.status_code == 500
    assert "(MemoryError)" in response.json()["detail"]


ACTS: dict[str, Callable[[Host], None]] = {
    "": lambda host: None, "post": _post, "task": _wait_for_task,
    "middleware": _through_middleware, "hang": _hang, "route": _route,
    "settings": _settings, "memory": _memory,
}


def _act(case: Fault) -> Callable[[Host], None]:
    return _disable(case.plugin) if case.act == "disable" else ACTS[case.act]


# --- the matrix ------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.plugin for c in CASES])
def test_fault(hosts, case):
    host = hosts[case.host]
    client = host.client
    _act(case)(host)
    info = eventually(lambda: _in_state(client, case), timeout=15,
                      what=f"{case.plugin} {case.state}")
    shown = info["reason"] if case.shown == "reason" else " | ".join(info["warnings"])
    assert case.reason in shown, info
    if case.where is not None:
        kept = [f for f in info["failures"] if f["hook"].startswith(case.where)]
        assert kept, info["failures"]
        assert kept[-1]["traceback"].startswith("Traceback (most recent call last)")
        assert f"plx_{case.plugin}" in kept[-1]["traceback"]  # the plugin's own code
    assert_healthy_plugins_serve(client)


def _in_state(client: httpx.Client, case: Fault) -> dict[str, Any] | None:
    response = client.get(f"/api/v1/plugins/{case.plugin}")
    assert response.status_code == 200, response.text
    info = response.json()
    return info if info["state"] == case.state else None


def assert_healthy_plugins_serve(client: httpx.Client) -> None:
    """The host answers, and every plugin that is not broken is started and serving."""
    assert client.get("/api/v1/health/live").json()["status"] == "ok"
    listed = client.get("/api/v1/plugins").json()
    broken = set(FAULTY) | {"cycle_partner"}
    healthy = {p["name"]: p["state"] for p in listed if p["name"] not in broken}
    assert "healthy" in healthy and "hello" in healthy  # the fixture and an example
    assert set(healthy.values()) == {"started"}, healthy
    assert client.get("/api/v1/healthy").json() == {"ok": "healthy"}
    assert client.get("/api/v1/hello").json() == {"message": "Hello from PlexiChat!"}
