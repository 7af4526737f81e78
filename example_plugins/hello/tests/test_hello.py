"""The hello plugin, served by a real PlexiChat app with only this plugin loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture
def client(plexichat_client):
    return plexichat_client(plugins=["hello"])


def test_hello_is_started(client):
    info = client.get("/api/v1/plugins/hello").json()
    assert info["state"] == "started", info["reason"]
    assert info["distribution"] == "plexichat-hello"
    assert {"path": "/api/v1/hello", "methods": ["GET"], "name": "hello"} in info["routes"]


def test_hello_route(client):
    assert client.get("/api/v1/hello").json() == {"message": "Hello from PlexiChat!"}
    assert client.get("/api/v1/hello/Ada").json() == {"message": "Hello, Ada!"}


def test_hello_is_listed_without_being_imported(tmp_path):
    """The static view reads hello's plugin.json without running its code."""
    code = (
        "import json, sys\n"
        "from plexichat.listing import static_listing\n"
        "items = [i.as_dict() for i in static_listing() if i.name == 'hello']\n"
        "json.dump({'items': items, 'imported': 'plexichat_hello' in sys.modules},"
        " sys.stdout)\n"
    )
    env = {**os.environ, "PLEXICHAT_CACHE_DIR": str(tmp_path / "cache"),
           "PLEXICHAT_DATA_DIR": str(tmp_path / "data")}
    for var in ("PLEXICHAT_LOAD_PLUGINS", "PLEXICHAT_DISABLE_PLUGINS"):
        env.pop(var, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    seen = json.loads(out)
    assert not seen["imported"], "listing plugins imported plexichat_hello"
    [hello] = seen["items"]
    assert hello["state"] == "available", hello["reason"]
    assert (hello["version"], hello["type"], hello["distribution"]) == (
        "1.0.0", "feature", "plexichat-hello"
    )
