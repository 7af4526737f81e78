"""What an install spec is: a URL, an existing local path, or a requirement.

``plexichat plugins install`` and ``POST /api/v1/plugins/install`` take the same specs.
Each is classified by what it *is* — a URL by its scheme, a path by existing on disk, a
requirement by parsing as one (:class:`packaging.requirements.Requirement`) — never by
the characters it happens to contain, so ``http://host/x-1.0-py3-none-any.whl`` is a
URL pip downloads, not a missing file.
"""

from __future__ import annotations

import enum
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

__all__ = ["InstallSpec", "SpecError", "SpecKind", "classify_spec"]

URL_SCHEMES = ("http", "https")
"""URLs pip downloads itself (``file:`` URLs are read as the local path they name)."""
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
"""pip's version-control URLs (``git+https://…``), handed to pip as they are."""
HASH_FRAGMENTS = ("sha256=", "sha384=", "sha512=")
"""``file:`` URL fragments giving the archive's digest, which pip verifies."""
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".zip")

EXPECTED = ("an http(s):// or file:// URL, an existing wheel, sdist, project directory, "
            "folder plugin or .zip of one, or a requirement such as 'plexichat-hello>=1.0'")


class SpecError(ValueError):
    """The spec is none of the things that can be installed; the message says which
    spec and what was expected."""


class SpecKind(enum.Enum):
    """What an install spec turned out to be."""

    URL = "url"
    """An http(s) URL (a wheel or sdist) or a VCS URL: pip fetches it."""
    ARCHIVE = "archive"
    """A local wheel or sdist (a path, or a ``file:`` URL with a ``#sha256=`` digest pip
    checks)."""
    PROJECT = "project"
    """A local directory with ``pyproject.toml`` or ``setup.py``."""
    FOLDER_PLUGIN = "folder plugin"
    """A guide-style folder with ``plugin.json``: converted to a distribution first."""
    ZIP = "zip"
    """A local ``.zip`` (of a folder plugin or of a project): unpacked first."""
    REQUIREMENT = "requirement"
    """A requirement pip resolves from its index: ``name``, ``name>=1``, ``name @ URL``."""


@dataclass(frozen=True)
class InstallSpec:
    """One classified install spec."""

    spec: str
    """As given."""
    kind: SpecKind
    target: str
    """What pip (or the converter) gets: the URL, the absolute path or the requirement."""
    distribution: str | None = None
    """The distribution it installs, when that is known before pip runs (a requirement's
    name, a wheel's or sdist's file name), canonicalized."""

    @property
    def path(self) -> Path:
        """``target`` as a path (for the local kinds)."""
        return Path(self.target)


def classify_spec(spec: str) -> InstallSpec:
    """Classify ``spec``; raise :class:`SpecError` when it is nothing installable."""
    text = spec.strip()
    if not text:
        raise SpecError(f"an empty install spec; expected {EXPECTED}")
    parsed = urllib.parse.urlsplit(text)
    scheme = parsed.scheme.lower()
    if scheme in URL_SCHEMES or scheme.startswith(VCS_PREFIXES):
        if not parsed.netloc:
            raise SpecError(f"{spec}: a URL with no host; expected {EXPECTED}")
        filename = urllib.parse.unquote(parsed.path.rsplit("/", 1)[-1])
        return InstallSpec(spec, SpecKind.URL, text, _distribution_of_file(filename))
    if scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        if not path.exists():
            raise SpecError(f"{spec}: no such file or directory ({path}); expected "
                            f"{EXPECTED}")
        local = _local(spec, path)
        if parsed.fragment.startswith(HASH_FRAGMENTS) and local.kind is SpecKind.ARCHIVE:
            # pip checks the archive against the digest: keep the URL with it
            return InstallSpec(spec, SpecKind.ARCHIVE, path.resolve().as_uri() + "#"
                               + parsed.fragment, local.distribution)
        return local
    path = Path(text).expanduser()
    if path.exists():
        try:
            return _local(spec, path)
        except SpecError:
            requirement = _requirement(text)
            if requirement is None or _looks_like_path(text):
                raise
            return requirement  # a bare name that is also a folder in the cwd
    requirement = _requirement(text)
    if requirement is not None:
        return requirement
    if _looks_like_path(text):
        raise SpecError(f"{spec}: no such file or directory; expected {EXPECTED}")
    raise SpecError(f"{spec!r} is not installable: not a URL, not an existing path, and "
                    f"not a valid requirement; expected {EXPECTED}")


def _requirement(text: str) -> InstallSpec | None:
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    if req.name.lower().endswith(ARCHIVE_SUFFIXES):
        return None  # "hello-1.0-py3-none-any.whl": a file that is not there
    return InstallSpec(text, SpecKind.REQUIREMENT, text, canonicalize_name(req.name))


def _looks_like_path(text: str) -> bool:
    """Only used to word the error for something that exists nowhere."""
    return ("/" in text or "\\" in text or text.startswith((".", "~"))
            or text.lower().endswith(ARCHIVE_SUFFIXES))


def _is_project(path: Path) -> bool:
    return (path / "pyproject.toml").is_file() or (path / "setup.py").is_file()


def _local(spec: str, path: Path) -> InstallSpec:
    resolved = str(path.resolve())
    if path.is_dir():
        if _is_project(path):
            return InstallSpec(spec, SpecKind.PROJECT, resolved, _project_name(path))
        if (path / "plugin.json").is_file():
            return InstallSpec(spec, SpecKind.FOLDER_PLUGIN, resolved)
        raise SpecError(f"{spec} is a directory with neither pyproject.toml nor plugin.json: "
                        f"not something to install; expected {EXPECTED}")
    name = path.name.lower()
    if name.endswith(".zip"):
        return InstallSpec(spec, SpecKind.ZIP, resolved)
    if name.endswith(ARCHIVE_SUFFIXES):
        return InstallSpec(spec, SpecKind.ARCHIVE, resolved, _distribution_of_file(path.name))
    raise SpecError(f"{spec} is neither a wheel, an sdist nor a .zip; expected {EXPECTED}")


def _distribution_of_file(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return canonicalize_name(parse_wheel_filename(filename)[0])
        if filename.endswith((".tar.gz", ".zip")):
            return canonicalize_name(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _project_name(path: Path) -> str | None:
    try:
        import tomllib
    except ImportError:  # Python 3.10: the name is learnt after pip instead
        return None
    try:
        with open(path / "pyproject.toml", "rb") as fh:
            name = tomllib.load(fh).get("project", {}).get("name")
    except (OSError, ValueError):
        return None
    return canonicalize_name(name) if isinstance(name, str) else None
