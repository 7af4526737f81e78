"""A new plugin distribution, ready to test, check and publish (``plexichat plugins new``).

:func:`scaffold` writes the project; the templates are the strings below, with
``__NAME__``-style placeholders (GitHub's ``${{ }}`` expressions need no escaping).
What it writes, for ``plexichat plugins new demo_plugin``::

    demo_plugin/
      pyproject.toml                    hatchling; entry point demo_plugin = "plexichat_demo_plugin"
      README.md                         for developers: test, check, build, publish
      .gitignore
      src/plexichat_demo_plugin/
        __init__.py                     a startup hook and GET /api/v1/demo_plugin/status
        plugin.json                     the manifest (type, api_version, min_plexichat_version)
        docs/README.md                  for users; ships in the wheel, shown by the host
      tests/test_demo_plugin.py         the installed entry point; the testing kit's host
                                        with only this plugin
      .github/workflows/ci.yml          tests on every push
      .github/workflows/release.yml     build, check, publish to PyPI (trusted publishing)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from . import placeholders

__all__ = ["PluginProject", "ScaffoldError", "plugin_types", "scaffold", "validate_name"]

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED = {"core_system", "plexichat"}


class ScaffoldError(ValueError):
    """The plugin cannot be created as asked; the message says why and what to do."""


@dataclass(frozen=True)
class PluginProject:
    """The names one plugin goes by."""

    name: str
    """Plugin name: the entry-point name and the manifest's ``name``."""
    type: str = "feature"

    @property
    def package(self) -> str:
        """The import package (``plexichat_<name>``, lower case)."""
        lower = self.name.lower()
        return lower if lower.startswith("plexichat_") else f"plexichat_{lower}"

    @property
    def distribution(self) -> str:
        """The distribution name on PyPI (``plexichat-<name>``)."""
        return self.package.replace("_", "-")

    @property
    def route(self) -> str:
        """The route prefix the generated router is served under."""
        return f"/api/v1/{self.name}"


def validate_name(name: str) -> str:
    """Return ``name`` when it can be a plugin name, else raise :class:`ScaffoldError`."""
    if not _NAME_RE.match(name):
        raise ScaffoldError(
            f"{name!r} is not a valid plugin name: it must start with a letter and contain "
            "only letters, digits and underscores (e.g. 'demo_plugin'), because it is the "
            "entry-point name, the manifest's name and part of the package name")
    if name.lower() in _RESERVED:
        raise ScaffoldError(f"{name!r} is reserved by the PlexiChat host; choose another name")
    return name


def plugin_types() -> list[str]:
    """The plugin types a project can be created with (the manifest's ``type`` values)."""
    from ..manifest import PluginType

    return [t.value for t in PluginType]


def _host_requirement() -> str:
    major, minor = (__version__.split(".") + ["0"])[:2]
    return f"plexichat>={major}.{minor}"


def scaffold(name: str, directory: Path | None = None, plugin_type: str = "feature",
             *, force: bool = False) -> tuple[Path, list[Path]]:
    """Write a new plugin project; return its directory and the files written.

    ``directory`` defaults to ``./<name>``; it must not exist or be empty (unless
    ``force``). Raises :class:`ScaffoldError`.
    """
    validate_name(name)
    types = plugin_types()
    if plugin_type not in types:
        raise ScaffoldError(f"unknown plugin type {plugin_type!r}; choose one of: "
                            f"{', '.join(types)}")
    project = PluginProject(name, plugin_type)
    root = Path(directory) if directory is not None else Path.cwd() / name
    if root.exists() and not root.is_dir():
        raise ScaffoldError(f"{root} exists and is not a directory")
    if root.is_dir() and any(root.iterdir()) and not force:
        raise ScaffoldError(f"{root} already exists and is not empty; choose another "
                            "directory with --dir (or --force to write into it)")
    written = []
    for rel, text in render(project).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return root, written


def render(project: PluginProject) -> dict[str, str]:
    """Every file of the project: relative path -> content."""
    values = {
        "__NAME__": project.name,
        "__PACKAGE__": project.package,
        "__DISTRIBUTION__": project.distribution,
        "__TYPE__": project.type,
        "__ROUTE__": project.route,
        "__HOST_REQUIREMENT__": _host_requirement(),
        "__HOST_VERSION__": __version__,
        "__DESCRIPTION__": placeholders.DESCRIPTION.format(name=project.name),
        "__AUTHOR_NAME__": placeholders.AUTHOR_NAME,
        "__AUTHOR_EMAIL__": placeholders.AUTHOR_EMAIL,
        "__HOMEPAGE__": placeholders.HOMEPAGE.format(distribution=project.distribution),
    }

    def fill(template: str) -> str:
        for key, value in values.items():
            template = template.replace(key, value)
        return template

    pkg = f"src/{project.package}"
    return {
        "pyproject.toml": fill(PYPROJECT),
        "README.md": fill(README),
        ".gitignore": GITIGNORE,
        f"{pkg}/__init__.py": fill(INIT),
        f"{pkg}/plugin.json": manifest_text(project),
        f"{pkg}/docs/README.md": fill(DOCS),
        f"tests/test_{project.name.lower()}.py": fill(TEST),
        ".github/workflows/ci.yml": fill(CI),
        ".github/workflows/release.yml": fill(RELEASE),
    }


def manifest_text(project: PluginProject) -> str:
    """The generated ``plugin.json``. Version, description, author and license are left
    to the distribution's metadata (pyproject.toml), so they cannot disagree."""
    manifest = {
        "name": project.name,
        "type": project.type,
        "dependencies": ["core_system"],
        "permissions": [],
        "api_version": "1.0",
        "min_plexichat_version": __version__,
        "tags": [project.type],
        "api_endpoints": [f"{project.route}/status"],
    }
    return json.dumps(manifest, indent=2) + "\n"


# --- templates -----------------------------------------------------------------------

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "__DISTRIBUTION__"
version = "0.1.0"
# Placeholders to replace before publishing: description, authors and [project.urls]
# (`plexichat plugins check .` names any that are left).
description = "__DESCRIPTION__"
readme = "README.md"
requires-python = ">=3.10"
authors = [{ name = "__AUTHOR_NAME__", email = "__AUTHOR_EMAIL__" }]
classifiers = ["Framework :: FastAPI", "Programming Language :: Python :: 3"]
dependencies = ["__HOST_REQUIREMENT__"]

[project.urls]
Homepage = "__HOMEPAGE__"

[project.optional-dependencies]
test = ["pytest>=8.0", "httpx>=0.27"]

# The entry-point name is the plugin's name; it must equal "name" in plugin.json.
[project.entry-points."plexichat.plugins"]
__NAME__ = "__PACKAGE__"

[tool.hatch.build.targets.wheel]
packages = ["src/__PACKAGE__"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

INIT = '''\
"""__NAME__: a PlexiChat plugin.

Hooks are plain functions decorated with ``@hookimpl``; every hook PlexiChat offers is
documented in ``plexichat.hookspecs``. Any of them may be ``async def``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from plexichat import hookimpl

router = APIRouter(tags=["__NAME__"])


@router.get("/status")
async def status() -> dict[str, str]:
    """Say that __NAME__ is up."""
    return {"plugin": "__NAME__", "status": "ok"}


@hookimpl
def startup(context: Any) -> None:
    """Runs once when the host starts the plugin (``context`` is its PluginContext)."""
    context.logger.info("__NAME__ started")


@hookimpl
def register_routers() -> dict[str, APIRouter]:
    """Serve ``router`` under __ROUTE__."""
    return {"__ROUTE__": router}
'''

TEST = '''\
"""Lets the tests run before this project is installed.

PlexiChat finds plugins through the ``plexichat.plugins`` entry point of installed
distributions. When __NAME__ is not installed yet (straight after ``plexichat plugins
new``), this registers it for the test session only: ``src/`` goes on ``sys.path`` and a
temporary ``*.dist-info`` declares the entry point. Once the project is installed
(``pip install -e .`` or a wheel), the installed distribution is what the tests use.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.metadata as md
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

NAME = "__NAME__"
PACKAGE = "__PACKAGE__"
DISTRIBUTION = "__DISTRIBUTION__"


def _installed() -> bool:
    return any(ep.name == NAME for ep in md.entry_points(group="plexichat.plugins"))


if not _installed():
    root = Path(__file__).resolve().parents[1]
    found = re.search(r\'^version\\s*=\\s*"([^"]+)"\', (root / "pyproject.toml").read_text(),
                      re.MULTILINE)
    site = Path(tempfile.mkdtemp(prefix=f"{NAME}-tests-"))
    atexit.register(shutil.rmtree, site, True)
    info = site / f"{DISTRIBUTION.replace(\'-\', \'_\')}-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\\nName: {DISTRIBUTION}\\n"
        f"Version: {found.group(1) if found else \'0\'}\\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[plexichat.plugins]\\n{NAME} = {PACKAGE}\\n", encoding="utf-8")
    sys.path[:0] = [str(root / "src"), str(site)]
    os.environ.setdefault("PLEXICHAT_CACHE_DIR", str(site / "cache"))
    importlib.invalidate_caches()
'''

TEST = '''\
"""__NAME__, found as the host finds it and served by a real PlexiChat app.

The fixtures come from PlexiChat's testing kit (the pytest plugin installed with
``plexichat``; see plexichat.testing). Nothing here registers the plugin: the host finds
it through the ``plexichat.plugins`` entry point of the installed distribution, so run
``pip install -e '.[test]'`` first, and again after changing pyproject.toml.
"""

from __future__ import annotations

import pytest

NAME = "__NAME__"
DISTRIBUTION = "__DISTRIBUTION__"
PACKAGE = "__PACKAGE__"


@pytest.fixture
def client(plexichat_entry_point, plexichat_client):
    """A host with only this plugin, started and ready (/api/v1/health/ready)."""
    plexichat_entry_point(NAME, distribution=DISTRIBUTION, target=PACKAGE)
    return plexichat_client(plugins=[NAME])


def test_installed_with_its_entry_point(plexichat_entry_point):
    """pyproject.toml declares the entry point the host discovers the plugin by."""
    entry_point = plexichat_entry_point(NAME, distribution=DISTRIBUTION, target=PACKAGE)
    assert entry_point.value == PACKAGE


def test_plugin_is_started(client):
    info = client.get(f"/api/v1/plugins/{NAME}").json()
    assert info["state"] == "started", info["reason"]
    assert info["type"] == "__TYPE__"
    assert "startup" in info["hooks"]


def test_status_route(client):
    response = client.get("__ROUTE__/status")
    assert response.status_code == 200
    assert response.json() == {"plugin": "__NAME__", "status": "ok"}
'''

README = """\
# __DISTRIBUTION__

__NAME__ is a [PlexiChat](https://pypi.org/project/plexichat/) plugin (type
`__TYPE__`). It answers `GET __ROUTE__/status` with `{"plugin": "__NAME__", "status": "ok"}`.

```bash
pip install __DISTRIBUTION__
plexichat plugins info __NAME__       # read from plugin.json; nothing imported
plexichat serve                       # then: curl http://127.0.0.1:8000__ROUTE__/status
```

## Layout

- `pyproject.toml`: the distribution. The entry point `__NAME__ = "__PACKAGE__"` in the
  `plexichat.plugins` group is what makes it a plugin; its name is the plugin's name.
  Version, description, authors, urls and license live here, not in `plugin.json`;
  replace the placeholders `plexichat plugins new` wrote (description, authors,
  `[project.urls]`) before publishing — `plexichat plugins check .` names any left.
- `src/__PACKAGE__/plugin.json`: the manifest the host validates before importing
  anything (type, permissions, plugin dependencies, `api_version`,
  `min_plexichat_version`, settings schema, UI pages ...).
- `src/__PACKAGE__/__init__.py`: the hook implementations (`startup`,
  `register_routers`). Every hook is documented in `plexichat.hookspecs`.
- `src/__PACKAGE__/docs/`: user documentation, shipped inside the wheel.
- `tests/`: the installed entry point (`plexichat_entry_point`), then a PlexiChat app
  with only this plugin loaded, in-process (`plexichat_client`), through the fixtures
  of PlexiChat's testing kit (`plexichat.testing`). The tests find the plugin as the
  host does, through the installed distribution: install the project first.

## Develop

```bash
pip install -e ".[test]"      # first, and again after editing pyproject.toml
pytest
plexichat plugins check .     # manifest, entry point, wheel contents, versions,
                              # permissions, placeholder metadata
plexichat plugins install . --url http://127.0.0.1:8000 --token $PLEXICHAT_ADMIN_TOKEN
                              # into a running host, without restarting it
```

## Publish

`.github/workflows/release.yml` builds, checks and uploads to PyPI when a GitHub release
is published, using [trusted publishing](https://docs.pypi.org/trusted-publishers/): on
PyPI, add a trusted publisher for this repository, workflow `release.yml`, environment
`pypi`. No token is stored anywhere.
"""

DOCS = """\
# __NAME__

A PlexiChat plugin of type `__TYPE__`.

## Endpoints

| method | path | answer |
|---|---|---|
| GET | `__ROUTE__/status` | `{"plugin": "__NAME__", "status": "ok"}` |

## Settings

None yet. Add a JSON Schema as `settings_schema` in `plugin.json`; operators then change
the settings with `plexichat plugins config set __NAME__ KEY VALUE` or
`PUT /api/v1/plugins/__NAME__/settings`.
"""

GITIGNORE = """\
__pycache__/
*.py[cod]
.venv/
build/
dist/
*.egg-info/
.pytest_cache/
"""

CI = """\
name: CI

on:
  push:
  pull_request:

jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        python-version: ["3.10", "3.11", "3.12", "3.13"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python-version }}
      - name: Install
        run: python -m pip install ".[test]" build
      - name: Test
        run: python -m pytest
      - name: Check the plugin before it is published
        run: plexichat plugins check .
"""

RELEASE = """\
name: Release

on:
  release:
    types: [published]

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Build the wheel and the sdist
        run: |
          python -m pip install build "__HOST_REQUIREMENT__"
          python -m build
      - name: Check the built wheel
        run: plexichat plugins check dist/*.whl
      - uses: actions/upload-artifact@v4
        with:
          name: dist
          path: dist/

  publish:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: pypi
      url: https://pypi.org/p/__DISTRIBUTION__
    permissions:
      id-token: write  # PyPI trusted publishing: no API token is stored
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: dist
          path: dist/
      - uses: pypa/gh-action-pypi-publish@release/v1
"""
