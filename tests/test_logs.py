"""Logging configured in one place: level and format from the command line or environment."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from pydantic import ValidationError

from plexichat.config import HostSettings
from plexichat.logs import JsonFormatter, logging_config


def record(name, message, *, exc_info=None, **extra):
    made = logging.LogRecord(name, logging.WARNING, __file__, 1, message, (), exc_info)
    made.__dict__.update(extra)
    return made


def test_level_and_format_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PLEXICHAT_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("PLEXICHAT_LOG_FORMAT", "json")
    settings = HostSettings()
    assert (settings.log_level, settings.log_format) == ("debug", "json")


def test_an_unknown_level_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("PLEXICHAT_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError, match="log_level"):
        HostSettings()


def test_an_unknown_level_or_format_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown log level 'loud'; use one of: critical"):
        logging_config("loud")
    with pytest.raises(ValueError, match="unknown log format 'xml'; use one of: text, json"):
        logging_config("info", "xml")


def test_uvicorn_loggers_hand_their_records_to_the_one_handler():
    config = logging_config("warning", "text")
    assert config["root"] == {"level": "WARNING", "handlers": ["plexichat"]}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name] == {"handlers": [], "propagate": True,
                                           "level": "WARNING"}


def test_json_lines_name_the_plugin_of_its_logger():
    line = JsonFormatter().format(record("plexichat.plugins.hello", "hi there"))
    parsed = json.loads(line)
    assert parsed == {**parsed, "level": "WARNING", "logger": "plexichat.plugins.hello",
                      "message": "hi there", "plugin": "hello"}
    assert parsed["time"].endswith("Z")


def test_json_lines_carry_the_plugin_a_host_record_is_about_and_the_traceback():
    try:
        raise KeyError("missing")
    except KeyError:
        exc_info = sys.exc_info()
    parsed = json.loads(JsonFormatter().format(
        record("plexichat.host", "plugin x failed", exc_info=exc_info, plugin="x")))
    assert parsed["plugin"] == "x"
    assert parsed["exc_info"].startswith("Traceback (most recent call last)")
    assert parsed["exc_info"].endswith("KeyError: 'missing'")
    assert "plugin" not in json.loads(JsonFormatter().format(record("uvicorn.error", "up")))
