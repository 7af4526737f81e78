"""What a plugin distribution ships, read without installing or importing it: a built
wheel (:class:`WheelContents`) or an installed distribution (:class:`InstalledContents`),
and :func:`build_wheel` to get a project's wheel. Used by the packaging check and the
catalog builder."""

from __future__ import annotations

import abc
import configparser
import email.parser
import importlib.metadata as md
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from email.message import Message
from pathlib import Path

from ..markers import ENTRY_POINT_GROUP

__all__ = ["CheckFailed", "Contents", "InstalledContents", "WheelContents", "build_wheel"]

GROUP = ENTRY_POINT_GROUP


class CheckFailed(Exception):
    """The target cannot be checked at all (no such path, build failed ...)."""


class Contents(abc.ABC):
    """The files and metadata of a distribution, however it is stored."""

    metadata: Message
    names: set[str]
    entry_points_file: str
    metadata_file: str

    @abc.abstractmethod
    def read_text(self, name: str) -> str | None:
        """The text of the file ``name`` of the distribution, or None when absent."""

    def entry_points(self) -> list[tuple[str, str]]:
        """``(name, value)`` of every entry point in the ``plexichat.plugins`` group."""
        text = self.read_text(self.entry_points_file)
        if text is None:
            return []
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(text)
        if not parser.has_section(GROUP):
            return []
        return [(k.strip(), v.strip()) for k, v in parser.items(GROUP)]

    def has_dir(self, path: str) -> bool:
        prefix = path.strip("/") + "/"
        return any(n.startswith(prefix) for n in self.names)

    def has(self, path: str) -> bool:
        return path.strip("/") in self.names or self.has_dir(path)


class WheelContents(Contents):
    """A ``.whl`` file, read as the zip archive it is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise CheckFailed(f"{path} is not a readable wheel: {exc}") from None
        self.names = {n for n in self._zip.namelist() if not n.endswith("/")}
        infos = sorted(n for n in self.names
                       if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        if not infos:
            raise CheckFailed(f"{path} has no *.dist-info/METADATA: not a wheel")
        self.dist_info = infos[0].split("/")[0]
        self.metadata = email.parser.Parser().parsestr(
            self._zip.read(infos[0]).decode("utf-8", "replace"))
        self.entry_points_file = f"{self.dist_info}/entry_points.txt"
        self.metadata_file = infos[0]

    def read_text(self, name: str) -> str | None:
        try:
            return self._zip.read(name).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            return None


class InstalledContents(Contents):
    """A distribution installed in this environment (its RECORD, or its package
    directories when it is an editable install)."""

    def __init__(self, dist: md.Distribution) -> None:
        self.dist = dist
        self.metadata = dist.metadata  # type: ignore[assignment]
        self._paths: dict[str, Path] = {}
        for f in dist.files or ():
            self._paths[str(f).replace("\\", "/")] = Path(str(dist.locate_file(f)))
        self.entry_points_file = next(
            (n for n in self._paths if n.endswith(".dist-info/entry_points.txt")),
            "entry_points.txt")
        self.metadata_file = next(
            (n for n in self._paths if n.endswith(".dist-info/METADATA")), "METADATA")
        for _, value in self.entry_points():
            top = value.partition(":")[0].strip().split(".")[0]
            if any(n.startswith(top + "/") or n == f"{top}.py" for n in self._paths):
                continue
            try:  # editable install: the package lives elsewhere; find it, do not import
                spec = importlib.util.find_spec(top)
            except (ImportError, ValueError):
                spec = None
            for location in (spec.submodule_search_locations or []) if spec else []:
                for dirpath, _, filenames in os.walk(location):
                    for filename in filenames:
                        full = Path(dirpath) / filename
                        rel = f"{top}/{full.relative_to(location).as_posix()}"
                        self._paths.setdefault(rel, full)
        self.names = set(self._paths)

    def read_text(self, name: str) -> str | None:
        if name == self.entry_points_file and name not in self._paths:
            return self.dist.read_text("entry_points.txt")
        path = self._paths.get(name)
        try:
            return path.read_text(encoding="utf-8") if path else None
        except (OSError, UnicodeDecodeError):
            return None


# --- building a project's wheel --------------------------------------------------------


def build_wheel(project: Path, outdir: Path) -> tuple[Path, str]:
    """Build ``project``'s wheel into ``outdir``; return it and how it was built.

    Hatchling projects are built in-process when hatchling is importable (fast, no
    network); otherwise ``python -m build --wheel`` or ``pip wheel --no-deps`` builds
    it in an isolated environment. Raises :class:`CheckFailed` with the build output.
    """
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    if re.search(r"""build-backend\s*=\s*["']hatchling\.build["']""", text) and \
            importlib.util.find_spec("hatchling") is not None:
        try:
            from hatchling.builders.wheel import WheelBuilder

            built = list(WheelBuilder(str(project)).build(directory=str(outdir),
                                                          versions=["standard"]))
            return Path(built[0]), "hatchling (in-process)"
        except Exception as exc:  # e.g. a build hook that is not installed here
            first_error = f"{type(exc).__name__}: {exc}"
    else:
        first_error = ""
    if importlib.util.find_spec("build") is not None:
        cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(project)]
        how = "python -m build --wheel"
    else:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(outdir),
               str(project)]
        how = "pip wheel --no-deps"
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wheels = sorted(outdir.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise CheckFailed(f"building the wheel of {project} failed ({how}):\n"
                          + (f"{first_error}\n" if first_error else "") + tail)
    return wheels[0], how
