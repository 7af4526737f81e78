"""Logging of a served host, configured in one place.

``plexichat serve`` calls :func:`configure_logging` once, before anything logs. Every
logger goes through one handler on the root logger, writing to standard error: the
host's (``plexichat.*``), each plugin's (``plexichat.plugins.<name>``, the logger a
plugin's context hands out), uvicorn's (``uvicorn.error``, ``uvicorn.access``) and any
library's. Two formats:

``text`` (the default)
    ``2026-01-31 12:00:00,123 INFO     plexichat.plugins.hello: hello started``
``json``
    one JSON object per line, for log collectors: ``time`` (ISO 8601, UTC), ``level``,
    ``logger``, ``message``, ``plugin`` (when the record concerns one plugin) and
    ``exc_info`` (the traceback as text, when there is one).

The level and the format come from ``serve --log-level`` or ``PLEXICHAT_LOG_LEVEL``,
and ``PLEXICHAT_LOG_FORMAT`` (see :class:`plexichat.config.HostSettings`).
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any, Literal

__all__ = ["FORMATS", "LEVELS", "JsonFormatter", "configure_logging", "logging_config",
           "plugin_of"]

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
LogFormat = Literal["text", "json"]

LEVELS: tuple[str, ...] = ("critical", "error", "warning", "info", "debug")
"""Accepted log levels, most severe first."""
FORMATS: tuple[str, ...] = ("text", "json")
"""Accepted log formats."""

TEXT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"

_PLUGIN_LOGGERS = "plexichat.plugins."


def plugin_of(record: logging.LogRecord) -> str | None:
    """The plugin a log record concerns: its ``plugin`` extra, else its logger's name."""
    plugin = getattr(record, "plugin", None)
    if plugin:
        return str(plugin)
    if record.name.startswith(_PLUGIN_LOGGERS):
        return record.name[len(_PLUGIN_LOGGERS):].split(".", 1)[0] or None
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """``{"time", "level", "logger", "message"[, "plugin"][, "exc_info"]}``."""
        moment = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        out: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        plugin = plugin_of(record)
        if plugin:
            out["plugin"] = plugin
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc_info"] = record.exc_text
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def _checked(value: str, allowed: tuple[str, ...], what: str) -> str:
    chosen = value.strip().lower()
    if chosen not in allowed:
        raise ValueError(f"unknown log {what} {value!r}; use one of: {', '.join(allowed)}")
    return chosen


def logging_config(level: str = "info", fmt: str = "text") -> dict[str, Any]:
    """The :func:`logging.config.dictConfig` document of :func:`configure_logging`."""
    level = _checked(level, LEVELS, "level").upper()
    fmt = _checked(fmt, FORMATS, "format")
    formatter: dict[str, Any] = ({"()": f"{__name__}.JsonFormatter"} if fmt == "json"
                                 else {"format": TEXT_FORMAT})
    # uvicorn's loggers hand their records to the root logger's handler
    uvicorn = {"handlers": [], "propagate": True, "level": level}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plexichat": formatter},
        "handlers": {"plexichat": {"class": "logging.StreamHandler",
                                   "formatter": "plexichat",
                                   "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["plexichat"]},
        "loggers": {name: dict(uvicorn)
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def configure_logging(level: str = "info", fmt: str = "text") -> str:
    """Configure every logger of the process; returns the level, lower case (for uvicorn).

    Raises ``ValueError`` for a level not in :data:`LEVELS` or a format not in
    :data:`FORMATS`. Pass ``log_config=None`` to ``uvicorn.run`` so that uvicorn keeps
    this configuration.
    """
    import logging.config

    logging.config.dictConfig(logging_config(level, fmt))
    logging.captureWarnings(True)  # Python warnings too, as "py.warnings" records
    return level.strip().lower()
