"""``tox -e lint`` runs what the ``lint`` dependency group installs, and CI runs it."""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _tox_lint() -> configparser.SectionProxy:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini", encoding="utf-8")
    return tox["testenv:lint"]


def test_tox_lint_installs_the_lint_dependency_group():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert sorted(_tox_lint()["deps"].split()) == sorted(pyproject["dependency-groups"]["lint"])


def test_tox_lint_runs_ruff_and_the_import_contracts():
    commands = [line.split()[0] for line in _tox_lint()["commands"].strip().splitlines()]
    assert commands == ["ruff", "lint-imports"]


def test_ci_lints_before_the_tests():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert script.index("tox -e lint") < script.index("tox -e py")
