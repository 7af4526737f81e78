"""Real wheels written by hand, and a throwaway environment pip installs them into.

The wheels land in a local find-links directory; every pip run the tests cause is
pointed there with ``PIP_NO_INDEX=1``, so no index is ever asked. The environment is a
venv without pip of its own whose ``.pth`` file puts this tree's ``src`` and the test
interpreter's site-packages (pip, the host's dependencies) behind its own
site-packages: pip installs into the venv, never into the interpreter running the tests.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plexichat.kernel.discovery import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["Env", "make_env", "serve_in", "write_wheel"]


def write_wheel(directory: Path, distribution: str, version: str, *,
                requires: Iterable[str] = (), plugin: str | None = None,
                code: str = "") -> Path:
    """Write ``distribution``'s wheel into ``directory``: one package (its name,
    underscored; ``code`` appended to its ``__init__.py``) and, when ``plugin`` is
    given, that plugin's entry point and ``plugin.json``."""
    package = distribution.replace("-", "_")
    info = f"{package}-{version}.dist-info"
    files = {f"{package}/__init__.py": f"VERSION = {version!r}\n{code}"}
    if plugin is not None:
        files[f"{package}/plugin.json"] = f'{{"name": "{plugin}", "type": "feature"}}'
        files[f"{info}/entry_points.txt"] = f"[{ENTRY_POINT_GROUP}]\n{plugin} = {package}\n"
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {distribution}\n"
                                 f"Version: {version}\n"
                                 + "".join(f"Requires-Dist: {r}\n" for r in requires))
    files[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: plexichat-tests\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
        record.append(f"{name},sha256={digest.rstrip(b'=').decode()},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{package}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return wheel


@dataclass
class Env:
    """A throwaway environment sharing the test interpreter's packages (read-only)."""

    root: Path
    find_links: Path

    @property
    def python(self) -> Path:
        return self.root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Our environment, pip confined to the find-links directory."""
        env = {k: v for k, v in os.environ.items()
               if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"}}
        env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(self.find_links),
                   PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONUNBUFFERED="1")
        env.update(extra or {})
        return env

    def run(self, *args: Any, env: Mapping[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run this environment's python with ``args``."""
        proc = subprocess.run([str(self.python), *map(str, args)], env=self.environ(env),
                              cwd=self.root, capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{args} exited {proc.returncode}:\n{proc.stdout}\n"
                                 f"{proc.stderr}")
        return proc

    def pip(self, *args: Any) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "pip", *args)

    def freeze(self) -> str:
        """``pip freeze`` of the environment (its own and the shared packages)."""
        return self.pip("freeze", "--all").stdout


def make_env(root: Path, find_links: Path) -> Env:
    """A venv at ``root`` (no pip of its own) seeing this tree's ``src`` first, then the
    test interpreter's site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True,
                   capture_output=True)
    env = Env(root, find_links)
    purelib = env.run("-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                      check=True).stdout.strip()
    shared = sysconfig.get_path("purelib")
    Path(purelib, "zz_plexichat_tests.pth").write_text(
        f"{ROOT / 'src'}\nimport site; site.addsitedir({shared!r})\n", encoding="utf-8")
    return env


@contextlib.contextmanager
def serve_in(env: Env, workdir: Path, extra: Mapping[str, str] | None = None) -> Iterator[Any]:
    """``plexichat serve`` on 127.0.0.1 with ``env``'s interpreter, so the installs it
    runs go into ``env`` (pip confined to its find-links directory), its data and log
    under ``workdir``; ready (plugins started) when the block begins."""
    from .served import serve

    site = workdir / "site"
    site.mkdir(parents=True, exist_ok=True)
    pip = {k: v for k, v in env.environ().items() if k.startswith("PIP_")}
    with serve(site, workdir, "--log-level", "warning", python=env.python, env={
            **pip, "PLEXICHAT_DATABASE_URL": "", "PLEXICHAT_LOAD_PLUGINS": "",
            "PLEXICHAT_CACHE_DIR": str(workdir / "cache"), **(extra or {})}) as served:
        served.wait_ready(60)
        yield served
