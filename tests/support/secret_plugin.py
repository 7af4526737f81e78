"""A plugin whose settings hold secrets at every depth (``vault``), its clear values, and
byte-level searches for them in the host's files."""

from __future__ import annotations

import json
from pathlib import Path

API_KEY = "apikey-CLEAR-4f9a1c0b"
NESTED = "nested-CLEAR-77d2e0aa"
MAP_SECRET = "mapped-CLEAR-0c1d2e3f"

MANIFEST = {
    "name": "vault",
    "type": "feature",
    "settings_schema": {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "default": "calm"},
            "api_key": {"type": "string", "writeOnly": True},
            "upstreams": {"type": "array", "items": {
                "type": "object",
                "properties": {"url": {"type": "string"},
                               "token": {"type": "string", "format": "password"}}}},
            "extra": {"type": "object",
                      "additionalProperties": {"type": "string", "writeOnly": True}},
        },
    },
}

CODE = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    @hookimpl
    def register_routers(context):
        router = APIRouter()

        @router.get("/api/v1/vault/config")
        def config():
            return dict(context.config)

        return router
"""

SETTINGS = {"mode": "calm", "api_key": API_KEY,
            "upstreams": [{"url": "https://a.example", "token": NESTED}],
            "extra": {"x": MAP_SECRET}}


def secrets_in(blob: bytes, secrets: list[str]) -> list[str]:
    """The ``secrets`` found in ``blob`` (also as JSON-escaped text)."""
    return [s for s in secrets if s.encode() in blob or json.dumps(s).encode() in blob]


def database_bytes(data_dir: Path) -> dict[str, bytes]:
    """The SQLite file and its ``-wal``/``-shm`` companions, as they are on disk."""
    return {p.name: p.read_bytes() for p in data_dir.glob("plexichat.db*")}


