"""The operator's path with a real server: ``python -m plexichat serve`` on 127.0.0.1
stores a plugin's secret settings and a webhook secret sealed (the SQLite file and its
WAL hold neither in clear), ``python -m plexichat secrets rotate`` re-seals them while
it serves, and after a restart the plugin still sees its secrets and deliveries verify
with the subscription's clear secret."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from standardwebhooks import Webhook
from support.api import TOKEN
from support.dists import make_plugin
from support.secret_plugin import (
    API_KEY,
    CODE,
    MANIFEST,
    NESTED,
    SETTINGS,
    database_bytes,
    secrets_in,
)
from support.served import serve
from support.webhook_receiver import receiving

from plexichat.storage.sealing import KEY_FILE_NAME

ENV = {"PLEXICHAT_ADMIN_TOKEN": TOKEN, "PLEXICHAT_LOAD_PLUGINS": "vault",
       "PLEXICHAT_WEBHOOK_POLL_INTERVAL": "0.2", "PLEXICHAT_WEBHOOK_TIMEOUT": "2",
       "PLEXICHAT_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",  # the receiver's loopback
       "PLEXICHAT_DATABASE_URL": "", "PLEXICHAT_SECRET_KEY": ""}
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def rotate(data_dir):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PLEXICHAT_DATABASE_URL", "PLEXICHAT_SECRET_KEY")}
    done = subprocess.run([sys.executable, "-m", "plexichat", "secrets", "rotate", "--json"],
                          env={**env, "PLEXICHAT_DATA_DIR": str(data_dir)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_served_host_keeps_secrets_sealed_and_readable_across_a_rotation(site, tmp_path):
    make_plugin(site, "vault", code=CODE, manifest=MANIFEST)
    data_dir = tmp_path / "served-data"
    with receiving() as receiver:
        with serve(site, tmp_path, env=ENV) as server:
            server.wait_ready()
            with server.client() as client:
                put = client.put("/api/v1/plugins/vault/settings", headers=ADMIN,
                                 json=SETTINGS)
                assert put.status_code == 200, put.text
                created = client.post("/api/v1/webhooks", headers=ADMIN,
                                      json={"url": receiver.url(), "events": ["*"]})
                assert created.status_code == 201, created.text
                secret = created.json()["secret"]
                secrets = [API_KEY, NESTED, secret, secret.removeprefix("whsec_")]
                for name, blob in database_bytes(data_dir).items():
                    assert not secrets_in(blob, secrets), name
                assert "plexichat.db-wal" in database_bytes(data_dir)

                report = rotate(data_dir)  # while the server runs
                assert report["keys"] == 2, report
                assert report["settings"] == 1 and report["webhook_secrets"] == 1
                shown = client.get("/api/v1/plugins/vault/settings", headers=ADMIN)
                assert shown.status_code == 200, shown.text
                assert not secrets_in(shown.content, secrets)
        assert stat.S_IMODE((data_dir / KEY_FILE_NAME).stat().st_mode) == 0o600

        with serve(site, tmp_path, env=ENV) as server:
            server.wait_ready()
            with server.client() as client:
                assert client.get("/api/v1/vault/config").json() == SETTINGS
                # a chat message: its events reach the receiver signed with the clear secret
                assert client.post("/api/v1/users", json={
                    "name": "ann", "password": "pw-123456"}).status_code == 201
                token = client.post("/api/v1/users/login", json={
                    "name": "ann", "password": "pw-123456"}).json()["token"]
                user = {"Authorization": f"Bearer {token}"}
                channel = client.post("/api/v1/channels", headers=user,
                                      json={"name": "general", "topic": ""}).json()["id"]
                assert client.post(f"/api/v1/channels/{channel}/messages", headers=user,
                                   json={"text": "hello"}).status_code == 201
            types = set()
            for _ in range(100):
                types = {Webhook(secret).verify(r.body, r.headers)["type"]
                         for r in list(receiver.received)}
                if "message.posted" in types:
                    break
                receiver.wait_for(len(receiver.received) + 1)
            assert "message.posted" in types
        for name, blob in database_bytes(data_dir).items():
            assert not secrets_in(blob, secrets), name
