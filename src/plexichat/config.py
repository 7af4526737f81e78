"""Host settings, read from ``PLEXICHAT_*`` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .kernel.resolver import PluginFilter
from .logs import LogFormat, LogLevel

__all__ = ["HostSettings"]


class HostSettings(BaseSettings):
    """Settings of one PlexiChat host.

    Every field may be set by the environment variable ``PLEXICHAT_<FIELD>``.
    """

    model_config = SettingsConfigDict(env_prefix="PLEXICHAT_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),  # the rule of plexichat.runtime.data_dir, for server and CLI
        description="Where the host keeps its database and each plugin's data, and where "
        "`plexichat serve` records its URL for the CLI. Unset: `./data` of the current "
        "directory, for `serve` and every CLI command alike.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the host database; default: SQLite under data_dir.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL (`redis://127.0.0.1:6379/0`) of the cluster this replica "
        "joins: change signals, fan-out and ephemeral state between replicas sharing one "
        "database (needs `pip install 'plexichat[cluster]'`). Unset: one process, "
        "everything in memory and the database.",
    )
    cluster_poll_interval: float = Field(
        default=3.0, gt=0, description="Seconds between a clustered replica's checks of the "
        "desired-state generation in the database: how fast it catches up when Redis "
        "signals are lost.",
    )
    cluster_heartbeat_interval: float = Field(
        default=2.0, gt=0, description="Seconds between a clustered replica's heartbeats "
        "(its version and plugins, shown by `GET /api/v1/cluster`).",
    )
    cluster_stale_after: float = Field(
        default=15.0, gt=0, description="Seconds without a heartbeat after which a replica "
        "counts as gone.",
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
    slow_start_warning: float = Field(
        default=2.0, gt=0,
        description="Seconds past which a plugin's start earns a warning naming its "
                    "slowest step (import, settings, startup hook, contributions, routes).")
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for mutating endpoints; generated on first start when unset.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) sealing the secrets the database holds (secret plugin "
        "settings, webhook signing secrets): one key, or several comma-separated, newest "
        "first (the newest seals, every one unseals). Unset: the key file `secret.key` in "
        "the data directory, created on first start (mode 0600). Back the key up apart "
        "from the backups: they hold the sealed values only.")
    strict_permissions: bool = Field(
        default=False,
        description="Grant plugins only what the operator granted explicitly.",
    )
    health_timeout: float = Field(default=5.0, gt=0, description="Seconds one health check or "
                                  "self-test may take.")
    fault_budget: int = Field(default=5, ge=1, description="Consecutive failures that "
                              "quarantine a plugin.")
    filter_timeout: float = Field(default=2.0, gt=0, description="Seconds one plugin's "
                                  "message filter (or after-the-fact chat hook) may take.")
    event_timeout: float = Field(default=5.0, gt=0, description="Seconds one plugin's async "
                                 "event handler may take.")
    command_timeout: float = Field(default=5.0, gt=0, description="Seconds one slash "
                                   "command may take to answer.")
    middleware_timeout: float = Field(default=10.0, gt=0, description="Seconds one "
                                      "plugin's request middleware may take on its own "
                                      "(not counting the rest of the app it calls) before "
                                      "the request is answered 504 and the failure is "
                                      "counted against the plugin.")
    password_hash_time_cost: int = Field(default=3, ge=1, description="Argon2id passes "
                                         "per password hash.")
    password_hash_memory_kib: int = Field(default=65536, ge=64, description="Argon2id "
                                          "memory per password hash, in KiB.")
    task_lease_seconds: float = Field(
        default=10.0, gt=0, description="Seconds a replica's lease on a `singleton` "
        "background task lasts without renewal (renewed every third of it): the longest "
        "a dead holder's task waits before another replica takes it over. Used when "
        "replicas share Redis (`PLEXICHAT_REDIS_URL`) or PostgreSQL.")
    sqlite_synchronous: Literal["normal", "full"] = Field(
        default="normal", description="How a commit to the embedded SQLite database "
        "waits for the disk (SQLite's `synchronous` in WAL mode). `normal`: a committed "
        "write survives the host process dying (kill -9, out of memory) and the file is "
        "never corrupted, but the last commits may be lost if the machine loses power or "
        "its kernel crashes; commits do not wait for the disk. `full`: every commit waits "
        "for the disk (a few milliseconds each), so it survives power loss too. Not used "
        "with PostgreSQL.")
    database_threads: int = Field(
        default=8, ge=1, description="Worker threads the chat service's database calls "
        "run in at once, off the event loop.")
    token_ttl: int = Field(
        default=30 * 24 * 3600, ge=1, description="Seconds a user's bearer token (from "
        "`POST /api/v1/users/login`) stays valid; afterwards requests with it get 401 "
        "\"token expired; log in again\". Logging out revokes it at once.")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins (chat login, admin UI login form) per "
        "user name and per client address within 15 minutes of the first, after which "
        "every attempt, the right password too, gets 429 with `Retry-After` (2 s, doubling "
        "with each further failure, at most 10 min).")
    webhook_poll_interval: float = Field(
        default=2.0, gt=0, description="Most seconds between two looks at the webhook "
        "outbox (recording an event wakes the delivery worker at once).")
    webhook_timeout: float = Field(default=10.0, gt=0, description="Seconds one webhook "
                                   "request may take.")
    webhook_max_attempts: int = Field(default=8, ge=1, description="Attempts per webhook "
                                      "delivery before it is marked failed.")
    webhook_backoff_base: float = Field(default=5.0, gt=0, description="Seconds before the "
                                        "first retry of a webhook; doubled after each failure.")
    webhook_backoff_cap: float = Field(default=3600.0, gt=0, description="Longest wait in "
                                       "seconds between two attempts of a webhook.")
    webhook_concurrency: int = Field(default=10, ge=1, description="Webhook requests in "
                                     "flight at once.")
    webhook_retention_days: float = Field(
        default=30.0, gt=0, description="Days a delivered or failed webhook delivery stays "
        "in the delivery log; an hourly job then deletes it, and the events no delivery "
        "refers to any more.")
    webhook_secret_overlap: float = Field(
        default=86400.0, ge=0, description="Seconds a webhook's previous signing secret "
        "keeps signing after a rotation (default for `POST "
        "/api/v1/webhooks/{id}/rotate-secret`): deliveries carry both signatures until "
        "then.")
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhook targets on loopback, private, link-local, "
        "multicast and reserved addresses. Unset, a target whose host is (or resolves to) "
        "one is refused when subscribing and again before each delivery.")
    webhook_allowed_networks: str = Field(
        default="", description="Comma list of networks (CIDR, e.g. `127.0.0.1/32,"
        "10.20.0.0/16`) webhook targets may be in although they are not public.")

    audit_retention_days: int = Field(
        default=0, ge=0, description="Days the audit trail (`GET /api/v1/audit`) keeps a "
        "row; older rows are deleted by an hourly retention job, which records each "
        "deletion as an `audit.pruned` row. 0 (the default) keeps every row forever.")

    log_level: LogLevel = Field(
        default="info", description="Least severe log level `plexichat serve` shows "
        "(`critical`, `error`, `warning`, `info`, `debug`); `serve --log-level` overrides it.")
    log_format: LogFormat = Field(
        default="text", description="`text`: time, level, logger name and message per line; "
        "`json`: one JSON object per line (`time`, `level`, `logger`, `message`, `plugin`, "
        "`exc_info`) for log collectors.")

    catalog: str | None = Field(
        default=None,
        description="The plugin catalog `plexichat plugins search` reads and `plugins "
        "install NAME` installs from: a JSON index or a PEP 503 simple index, by path or "
        "http(s) URL.")

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        networks = []
        for item in filter(None, (i.strip() for i in value.split(","))):
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP network in CIDR form, such as "
                                 "127.0.0.1/32 or 10.0.0.0/8") from None
        return ",".join(networks)

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    def plugin_filter(self, operator: dict[str, bool] | None = None) -> PluginFilter:
        """The operator's load/disable choices as a :class:`PluginFilter`.

        ``operator`` holds the enable/disable decisions stored in the host database;
        the versions a plugin catalog blocks (``blocked-versions.json`` in the data
        directory) are rejected.
        """
        from .kernel.blocklist import blocked_versions

        return PluginFilter.from_values(self.load_plugins, self.disable_plugins,
                                        operator=operator,
                                        blocked=blocked_versions(self.data_dir))

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite under the data directory."""
        from .storage.database import default_url

        return self.database_url or default_url(self.data_dir)
