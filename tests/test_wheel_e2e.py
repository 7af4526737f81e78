"""The whole path of a plugin, for real: built as a wheel, installed into a fresh virtual
environment, discovered, its route served by ``plexichat serve`` under uvicorn.

The checks themselves live in scripts/e2e_check.py (``nox -s e2e`` runs the same ones
against dist/); this test builds its own wheels of the host and of the hello plugin.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
HELLO = ROOT / "example_plugins" / "hello"


def _load_checks() -> ModuleType:
    path = ROOT / "scripts" / "e2e_check.py"
    spec = importlib.util.spec_from_file_location("plexichat_e2e_check", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _outer_env() -> dict[str, str]:
    """Our environment without anything that would leak this interpreter's packages
    (or a source tree) into the processes that build and install."""
    return {k: v for k, v in os.environ.items()
            if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"}}


def _run_all(commands: dict[str, list[str]], cwd: Path, timeout: float) -> None:
    """Run ``commands`` concurrently; fail with the output of any that fails."""
    procs = {
        what: subprocess.Popen(cmd, cwd=cwd, env=_outer_env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for what, cmd in commands.items()
    }
    failures = []
    try:
        for what, proc in procs.items():
            out, _ = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                failures.append(f"{what} ({' '.join(commands[what])}) exited "
                                f"{proc.returncode}:\n{out[-4000:]}")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert not failures, "\n\n".join(failures)


@pytest.mark.e2e
def test_hello_wheel_installs_into_a_fresh_venv_and_serves(tmp_path: Path) -> None:
    checks = _load_checks()
    started = time.monotonic()
    wheels, venv = tmp_path / "wheels", tmp_path / "venv"

    # The two wheels and the virtual environment, all at once.
    _run_all(
        {
            "building the host wheel": [sys.executable, "-m", "build", "--wheel",
                                        "--outdir", str(wheels), str(ROOT)],
            "building the hello wheel": [sys.executable, "-m", "build", "--wheel",
                                         "--outdir", str(wheels), str(HELLO)],
            "creating the venv": [sys.executable, "-m", "venv", str(venv)],
        },
        cwd=tmp_path, timeout=300,
    )
    built = sorted(p.name for p in wheels.glob("*.whl"))
    assert len(built) == 2 and any(n.startswith("plexichat_hello-") for n in built), built

    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    # Only the two wheels; their dependencies come from the index (through pip's cache).
    _run_all(
        {"installing the wheels": [str(checks.python_of(bin_dir)), "-m", "pip", "install",
                                   "--quiet", "--disable-pip-version-check",
                                   *map(str, sorted(wheels.glob("*.whl")))]},
        cwd=tmp_path, timeout=600,
    )

    env = checks.clean_env(tmp_path / "work")
    installed = checks.check_installed_from_wheels(bin_dir, env)
    assert set(installed["dists"]) == {"plexichat", "plexichat-hello"}, installed

    listing = checks.check_static_listing(bin_dir, env, ["hello"])
    hello = next(item for item in listing if item["name"] == "hello")
    assert hello["distribution"] == "plexichat-hello"

    with checks.serve(bin_dir, env, tmp_path / "work" / "logs") as server:
        checks.check_live(server, ["hello"], [])
        assert checks.get_json(server.base_url + "/api/v1/hello") == (
            200, {"message": "Hello from PlexiChat!"}
        ), server.log()
        status, detail = checks.get_json(server.base_url + "/api/v1/plugins/hello")
        assert status == 200, detail
        assert detail["distribution"] == "plexichat-hello"
        assert {"path": "/api/v1/hello", "methods": ["GET"], "name": "hello"} in detail[
            "routes"
        ]
        # This interpreter (not the venv's) is the client: the venv must serve the
        # WebSocket with what the wheels alone brought.
        checks.check_websocket(server, Path(sys.executable), say=lambda _: None)
        process = server.process
    assert process.poll() is not None, "the server is still running"
    assert "Application shutdown complete" in server.log(), server.log()
    print(f"wheel end-to-end: {time.monotonic() - started:.1f} s")
