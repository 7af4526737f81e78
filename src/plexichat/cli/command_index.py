"""The command index: the plugins' CLI commands as recorded, one file per environment.

It lives beside the discovery index (:func:`plexichat.kernel.discovery.index_path`) and
holds, for the plugins that resolved, each command they add (a
:class:`~plexichat.cli.recorded.CommandRecord`, with the plugin that added it) and the
warnings collecting them printed. Its key (:func:`index_key`) covers the host version,
the modification times of the ``sys.path`` directories (any install or uninstall changes
them), and each resolved plugin's name, distribution, version, entry point and the
modification time of its entry-point module: when any of those changes, or a plugin is
enabled, disabled, added or removed, the key changes and the index is rebuilt.

Reading it needs :mod:`json` and the standard library only. A file that cannot be read
or does not parse is ignored (and rewritten by the next collection).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..kernel.files import write_atomically
from .recorded import CommandRecord

if TYPE_CHECKING:
    from ..kernel.discovery import PluginCandidate

__all__ = ["CommandIndex", "PluginCommandRecord", "forget_index", "index_file", "index_key",
           "read_index", "write_index"]

_FORMAT = 2  # 2: command records carry the guide's command fields
_FILTER_VARIABLES = ("PLEXICHAT_LOAD_PLUGINS", "PLEXICHAT_DISABLE_PLUGINS")


@dataclass
class PluginCommandRecord:
    """A command a plugin added, as recorded."""

    plugin: str
    record: CommandRecord


@dataclass
class CommandIndex:
    """What one collection of the plugins' commands found."""

    key: str
    commands: list[PluginCommandRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What collecting them reported on stderr, in order."""
    failed: list[str] = field(default_factory=list)
    """Plugins that did not load or add commands: their commands are not known."""


def index_file() -> Path:
    """Where this environment's command index lives (beside the discovery index)."""
    from ..kernel.discovery import index_path

    discovery = index_path()
    return discovery.with_name(discovery.name.replace("discovery-", "commands-", 1))


def index_key(candidates: Iterable[PluginCandidate], environ: Mapping[str, str],
              operator: Mapping[str, bool]) -> str:
    """The key an index must carry for what decides which plugins load and what they are.

    That is the host version, the ``sys.path`` directories' modification times, every
    discovered plugin (distribution, version, entry point, manifest, and the
    modification time of its entry-point module), the plugin filter of ``environ`` and
    the ``operator``'s decisions: the inputs of the resolver, so the set of resolved
    plugins is covered without running it.
    """
    facts = {
        "host": __version__,
        "paths": {p: _stamp(p or os.getcwd()) for p in sys.path},
        "plugins": [_facts(c) for c in candidates],
        "filter": [environ.get(name) for name in _FILTER_VARIABLES],
        "operator": dict(operator),
    }
    text = json.dumps(facts, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()


def read_index(key: str) -> CommandIndex | None:
    """The index on disk if it carries ``key``; None if absent, stale or unreadable."""
    try:
        with open(index_file(), encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("format") != _FORMAT or data.get("key") != key:
            return None
        return CommandIndex(
            key=key,
            commands=[PluginCommandRecord(str(item["plugin"]),
                                          CommandRecord.from_json(item["record"]))
                      for item in data["commands"]],
            warnings=[str(w) for w in data["warnings"]],
            failed=[str(name) for name in data["failed"]],
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_index(index: CommandIndex) -> None:
    """Write ``index`` (atomically); an unwritable cache directory only costs speed."""
    target = index_file()
    payload = {
        "format": _FORMAT,
        "key": index.key,
        "commands": [{"plugin": c.plugin, "record": c.record.to_json()}
                     for c in index.commands],
        "warnings": index.warnings,
        "failed": index.failed,
    }
    try:
        write_atomically(target, json.dumps(payload), durable=False)
    except (OSError, TypeError, ValueError):
        pass


def forget_index() -> None:
    """Remove the index (a recorded command its plugin no longer adds)."""
    try:
        index_file().unlink()
    except OSError:
        pass


def _facts(candidate: PluginCandidate) -> list[object]:
    """What of ``candidate`` decides whether and how it loads (its manifest as JSON:
    the typed manifest is not built for this)."""
    return [candidate.name, candidate.distribution, candidate.distribution_version,
            candidate.entry_point, candidate.manifest_file, candidate.manifest_json(),
            candidate.problems, candidate.warnings, _stamp(_module_file(candidate))]


def _plain(value: object) -> object:
    """JSON for what ``json`` cannot write itself (a typed manifest, say)."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else repr(value)


def _module_file(candidate: PluginCandidate) -> str:
    """The file of the entry point's module, found without importing anything."""
    if not candidate.package_dir:
        return ""
    parts = candidate.module.split(".")[1:]
    base = os.path.join(candidate.package_dir, *parts)
    if not parts:
        return os.path.join(base, "__init__.py")
    module = base + ".py"
    return module if os.path.exists(module) else os.path.join(base, "__init__.py")


def _stamp(path: str) -> int:
    if not path:
        return -1
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1
