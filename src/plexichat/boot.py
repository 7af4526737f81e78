"""The boot record: how many starts in a row failed, and so whether to start in safe mode.

A host whose plugin kills it while importing (``os._exit``, a segfault in an extension
module) never gets far enough to isolate that plugin; a supervisor restarting it would
crash it again forever. So ``plexichat serve`` keeps a count in the data directory
(``boot.json``, written atomically: a temporary file renamed over it):

- every normal start adds one *before* any plugin is imported;
- a start whose plugins finished starting (the host is *ready*) within
  :data:`READY_WITHIN` seconds sets it back to zero: that start did not fail;
- when a start finds :data:`SAFE_MODE_AFTER` or more failed starts in a row, the host
  starts in **safe mode**: no third-party plugin is imported, the web UI, the plugin API
  and the CLI work, and every plugin is listed ``disabled`` with the reason
  ``safe mode: not loaded``;
- safe mode lasts, restart after restart, until the operator clears the count with
  ``plexichat safe-mode clear`` (after disabling, uninstalling or rolling back the
  plugin at fault); a safe-mode start neither adds to nor clears it.

``plexichat serve --safe-mode`` starts in safe mode once, whatever the count, and leaves
the count alone. The plugin commands of the CLI are not collected either while the count
says safe mode (:func:`safe_mode_reason`), so ``plexichat --help`` never imports the
plugin at fault.

This module imports only the standard library: the CLI reads it on every run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .kernel.files import write_atomically

__all__ = ["BOOT_FILE", "READY_WITHIN", "SAFE_MODE_AFTER", "BootRecord", "read_boot_record",
           "safe_mode_reason"]

BOOT_FILE = "boot.json"
"""The boot record's file in the data directory."""

SAFE_MODE_AFTER = 3
"""Failed starts in a row after which the host starts in safe mode."""

READY_WITHIN = 600.0
"""Seconds a start has to reach ready to count as a good start (ten minutes)."""


@dataclass
class BootRecord:
    """The boot record of one data directory."""

    directory: Path
    failed_starts: int = 0
    """Starts in a row that did not reach ready within :data:`READY_WITHIN` seconds
    (the one running now included, until it is ready)."""
    last_start: float = 0.0
    """When the last normal start began (Unix time); 0: never."""

    @property
    def path(self) -> Path:
        """The record's file."""
        return self.directory / BOOT_FILE

    @property
    def safe_mode(self) -> bool:
        """Whether the next start is in safe mode."""
        return self.failed_starts >= SAFE_MODE_AFTER

    def reason(self) -> str:
        """Why the next start is in safe mode, for the log, the UI and the API; empty
        when it is not."""
        if not self.safe_mode:
            return ""
        return (f"the last {self.failed_starts} starts did not reach ready within "
                f"{READY_WITHIN / 60:g} minutes; run 'plexichat safe-mode clear' to leave "
                "safe mode")

    def begin(self) -> None:
        """Count the start beginning now as failed until :meth:`reached_ready` says not."""
        self.failed_starts += 1
        self.last_start = time.time()
        self._write()

    def reached_ready(self, seconds: float) -> bool:
        """The start became ready after ``seconds``: within :data:`READY_WITHIN` the
        count goes back to zero (True); a later ready leaves it as it is (False)."""
        if seconds > READY_WITHIN:
            return False
        self.clear()
        return True

    def clear(self) -> None:
        """Set the count back to zero: the next start is a normal one."""
        self.failed_starts = 0
        self._write()

    def _write(self) -> None:
        """Write the record atomically: readers see the old or the new one, never half."""
        data = {k: v for k, v in asdict(self).items() if k != "directory"}
        write_atomically(self.path, json.dumps(data))


def read_boot_record(directory: Path) -> BootRecord:
    """The boot record of ``directory``; a fresh one when there is none.

    A record that cannot be read or parsed counts as no failed start (and is rewritten by
    the next start): a damaged file must not lock the host in safe mode.
    """
    try:
        data = json.loads((directory / BOOT_FILE).read_text(encoding="utf-8"))
        failed, last = data["failed_starts"], data.get("last_start", 0.0)
        if not isinstance(failed, int) or isinstance(failed, bool) or failed < 0:
            raise ValueError("failed_starts")
        return BootRecord(directory, failed, float(last))
    except (OSError, ValueError, KeyError, TypeError):
        return BootRecord(directory)


def safe_mode_reason(directory: Path) -> str:
    """Why a host of ``directory`` starts in safe mode now; empty when it does not."""
    return read_boot_record(directory).reason()
