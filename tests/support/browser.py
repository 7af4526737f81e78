"""Debian's Chromium under Playwright, for the browser tests.

Chromium is ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it);
no browser is ever downloaded. When it cannot start, the test fails saying why.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
TIMEOUT_MS = 10_000


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """Headless Chromium (``--no-sandbox``), closed when the block ends."""
    from playwright import sync_api

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} does not exist: install Debian's Chromium with "
                    "`apt-get install -y chromium` (.ci/run does)", pytrace=False)
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox"])
        except Exception as exc:
            pytest.fail(f"Chromium at {CHROMIUM} could not be launched by Playwright: "
                        f"{type(exc).__name__}: {exc}", pytrace=False)
        try:
            yield browser
        finally:
            browser.close()


def shot(page: Any, name: str) -> None:
    """A full-page PNG screenshot under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
