"""Shared fixtures of the host's own tests."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path, monkeypatch):
    """Each test gets its own discovery index and no inherited plugin filters."""
    monkeypatch.setenv("PLEXICHAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path / "data"))
    for var in ("PLEXICHAT_LOAD_PLUGINS", "PLEXICHAT_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A fresh ``sys.path`` entry to install test distributions into."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    importlib.invalidate_caches()
    yield path
    for name in [m for m in sys.modules if m.startswith("plx_")]:
        del sys.modules[name]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI a skipped test fails: a skip there hides a service CI must provide."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must provide what it needs: {report.longrepr}"
