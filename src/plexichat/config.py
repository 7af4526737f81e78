"""Host settings, read from ``PLEXICHAT_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .resolver import PluginFilter

__all__ = ["HostSettings"]


class HostSettings(BaseSettings):
    """Settings of one PlexiChat host.

    Every field may be set by the environment variable ``PLEXICHAT_<FIELD>``.
    """

    model_config = SettingsConfigDict(env_prefix="PLEXICHAT_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="Where the host keeps its database and each plugin's data.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the host database; default: SQLite under data_dir.",
    )
    load_plugins: str | None = Field(
        default=None,
        description="Comma list of the only plugins to load; empty string loads none.",
    )
    disable_plugins: str = Field(default="", description="Comma list of plugins not to load.")
    startup_timeout: float = Field(default=10.0, gt=0, description="Seconds one plugin may "
                                   "take to import and start.")
    shutdown_timeout: float = Field(default=5.0, gt=0, description="Seconds one plugin may "
                                    "take to stop.")
    fault_budget: int = Field(default=5, ge=1, description="Consecutive failures that "
                              "quarantine a plugin.")

    def plugin_filter(self, disabled: dict[str, str] | None = None) -> PluginFilter:
        """The operator's load/disable choices as a :class:`PluginFilter`."""
        return PluginFilter.from_values(self.load_plugins, self.disable_plugins, disabled)
