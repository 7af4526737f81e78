"""The install history: the plugin set before each install, upgrade, uninstall and
rollback, kept in the data directory.

Each step is one JSON object on a line of ``<data directory>/plugin-history.jsonl``::

    {"step": 3, "time": "2026-12-01T02:30:00+00:00", "action": "upgrade",
     "command": ["plexichat", "plugins", "upgrade", "hello"],
     "before": [{"distribution": "plexichat-hello", "version": "1.0.0",
                 "plugins": ["hello"], "sha256": ["…"]}]}

Steps are only ever added, never changed; each addition rewrites the file through a
temporary file and a rename, so a crash leaves the previous history whole.
:func:`rollback_changes` says what pip must do to go back to the set before a step.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .plugin_set import PluginDistribution, installed_plugin_set

__all__ = ["HISTORY_FILE", "HistoryError", "HistoryStep", "RollbackChanges", "find_step",
           "read_history", "record_step", "rollback_changes"]

HISTORY_FILE = "plugin-history.jsonl"


class HistoryError(Exception):
    """The history cannot be read or has no such step; the message says which."""


@dataclass(frozen=True)
class HistoryStep:
    """One recorded change: the plugin set before it, and what changed it."""

    step: int
    time: str
    action: str
    """``install``, ``upgrade``, ``uninstall`` or ``rollback``."""
    command: list[str]
    before: list[PluginDistribution] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data (one line of the history file)."""
        return {"step": self.step, "time": self.time, "action": self.action,
                "command": list(self.command), "before": [p.as_dict() for p in self.before]}


def _path(data_dir: Path | None) -> Path:
    if data_dir is None:
        from ..runtime import data_dir as current

        data_dir = current().path
    return data_dir / HISTORY_FILE


def read_history(data_dir: Path | None = None) -> list[HistoryStep]:
    """Every recorded step, oldest first (none when there is no history file). Raises
    :class:`HistoryError` naming the file and line of a damaged entry."""
    path = _path(data_dir)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise HistoryError(f"cannot read the install history {path}: {exc}") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            out.append(HistoryStep(int(data["step"]), str(data["time"]), str(data["action"]),
                                   [str(c) for c in data["command"]],
                                   [PluginDistribution.from_dict(p) for p in data["before"]]))
        except (ValueError, KeyError, TypeError) as exc:
            raise HistoryError(f"{path}:{number}: not an install history entry ({exc}); "
                               "fix or remove that line") from None
    return out


def record_step(action: str, command: list[str] | None = None,
                data_dir: Path | None = None,
                before: list[PluginDistribution] | None = None) -> HistoryStep:
    """Add a step recording the plugin set installed now (or ``before``), before
    ``action`` changes it. ``command`` defaults to this process's command line."""
    from ..kernel.files import write_atomically

    path = _path(data_dir)
    steps = read_history(data_dir)
    step = HistoryStep(
        step=(steps[-1].step + 1) if steps else 1,
        time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        action=action,
        command=list(command if command is not None else _this_command()),
        before=before if before is not None else installed_plugin_set())
    text = "".join(json.dumps(s.as_dict()) + "\n" for s in [*steps, step])
    write_atomically(path, text)
    return step


def _this_command() -> list[str]:
    """This process's command line, ``plexichat …`` however it was started."""
    program = Path(sys.argv[0]).name
    if program in ("__main__.py", "-m", "-c", ""):
        program = "plexichat"
    return [program, *sys.argv[1:]]


def find_step(steps: list[HistoryStep], number: int | None) -> HistoryStep:
    """Step ``number`` (None: the last). Raises :class:`HistoryError`."""
    if not steps:
        raise HistoryError("the install history is empty: nothing to roll back")
    if number is None:
        return steps[-1]
    for step in steps:
        if step.step == number:
            return step
    raise HistoryError(f"no step {number} in the install history (steps "
                       f"{steps[0].step}–{steps[-1].step}; see `plexichat plugins history`)")


@dataclass
class RollbackChanges:
    """What pip does to go back to a recorded set."""

    install: list[str] = field(default_factory=list)
    """``distribution==version`` of each distribution to install or move back."""
    uninstall: list[str] = field(default_factory=list)
    """Distributions installed since, to remove."""

    @property
    def empty(self) -> bool:
        """The environment already holds the recorded set."""
        return not self.install and not self.uninstall


def rollback_changes(target: list[PluginDistribution],
                     current: list[PluginDistribution]) -> RollbackChanges:
    """The pip changes turning the ``current`` plugin set into ``target``."""
    now = {p.key: p for p in current}
    wanted = {p.key: p for p in target}
    out = RollbackChanges()
    for key, plugin in sorted(wanted.items()):
        if key not in now or now[key].version != plugin.version:
            out.install.append(f"{plugin.distribution}=={plugin.version}")
    out.uninstall = [now[key].distribution for key in sorted(now) if key not in wanted]
    return out
