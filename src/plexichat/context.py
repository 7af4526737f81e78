"""PluginContext: what the host hands one plugin."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = ["PluginContext"]


@dataclass
class PluginContext:
    """The host, as one plugin sees it.

    ``logger`` is namespaced ``plexichat.plugins.<name>``; ``data_dir`` is the plugin's
    own directory under the host's data directory, created on first use of the context.
    """

    plugin_name: str
    manifest: Mapping[str, Any]
    data_dir: Path
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        self.logger = logging.getLogger(f"plexichat.plugins.{self.plugin_name}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
