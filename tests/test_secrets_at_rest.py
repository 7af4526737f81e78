"""Secrets at rest: secret plugin settings and webhook signing secrets are sealed in the
host database and its backups, shown masked by the API and the UI, handed in clear to
the plugin and the signer, re-sealed by ``plexichat secrets rotate``, and sealed on start
when an older database held them in clear. The byte-level checks read the SQLite file
(and its ``-wal``) and every entry of a backup archive."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from standardwebhooks import Webhook
from support.api import AUTH, TOKEN, get_settings, put_settings
from support.dists import make_plugin
from support.host import running_host
from support.secret_plugin import (
    API_KEY,
    CODE,
    MANIFEST,
    MAP_SECRET,
    NESTED,
    SETTINGS,
    database_bytes,
    secrets_in,
)
from support.web import login
from support.webhook_receiver import receiving

from plexichat.cli import main
from plexichat.settings import SECRET_MASK
from plexichat.storage import Database
from plexichat.storage.database import plugin_settings, webhook_subscriptions
from plexichat.storage.resealing import rotate_keys
from plexichat.storage.sealing import (
    KEY_FILE_NAME,
    SecretBox,
    SecretKeyError,
    create_key_file,
    load_keys,
    new_key,
)

FAST = {
    "admin_token": TOKEN,
    "webhook_poll_interval": 0.2,
    "webhook_timeout": 2.0,
    "webhook_allowed_networks": "127.0.0.1/32",  # the receiver listens on loopback
}

@pytest.fixture
def vault(site):
    make_plugin(site, "vault", code=CODE, manifest=MANIFEST)


def assert_no_clear_secret(data_dir: Path, secrets: list[str]) -> None:
    files = database_bytes(data_dir)
    assert "plexichat.db" in files
    for name, blob in files.items():
        assert not secrets_in(blob, secrets), f"{name} holds a secret in clear"


def backup(client, path: Path) -> None:
    asyncio.run(client.app.state.host.services.backup.create(path))


def assert_archive_clean(path: Path, secrets: list[str]) -> None:
    assert not secrets_in(path.read_bytes(), secrets)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert f"files/{KEY_FILE_NAME}" not in names  # the key never goes with the data
        for name in names:
            assert not secrets_in(zf.read(name), secrets), f"{name} holds a secret"
        stored = json.loads(zf.read("db/plexichat_plugin_settings.json"))
        assert stored[0]["settings"]["api_key"].startswith("plexichat-sealed:v1:")


def live_config(client) -> dict:
    response = client.get("/api/v1/vault/config")
    assert response.status_code == 200, response.text
    return response.json()


def subscribe(client, url: str) -> dict:
    response = client.post("/api/v1/webhooks", headers=AUTH,
                           json={"url": url, "events": ["*"]})
    assert response.status_code == 201, response.text
    return response.json()


def delivered_with(client, receiver, count: int, secret: str) -> None:
    """Record an event; the ``count``-th request the receiver gets verifies with ``secret``."""
    client.app.state.host.services.webhooks.record("vault.ping", "core", {"n": count})
    got = receiver.wait_for(count)[count - 1]
    assert Webhook(secret).verify(got.body, got.headers)["data"] == {"n": count}


def rotate_cli(data_dir: Path, env: dict[str, str] | None = None) -> dict:
    result = CliRunner().invoke(main, ["secrets", "rotate", "--json"],
                                env={"PLEXICHAT_DATA_DIR": str(data_dir), **(env or {})})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# --- the user's path -----------------------------------------------------------------------


def test_database_wal_and_backup_hold_no_secret_in_clear_and_rotation_keeps_all_readable(
        vault, tmp_path):
    data_dir = tmp_path / "data"
    with receiving() as receiver:
        with running_host(data_dir, "vault", **FAST) as client:
            assert put_settings(client, "vault", SETTINGS).status_code == 200
            sub = subscribe(client, receiver.url())
            secrets = [API_KEY, NESTED, MAP_SECRET, sub["secret"],
                       sub["secret"].removeprefix("whsec_")]
            delivered_with(client, receiver, 1, sub["secret"])
            # the plugin gets its settings in clear
            assert live_config(client) == SETTINGS
            # the API and the UI never show one, nested ones included
            shown = get_settings(client, "vault")["settings"]
            assert shown["api_key"] == SECRET_MASK
            assert shown["upstreams"] == [{"url": "https://a.example", "token": SECRET_MASK}]
            assert shown["extra"] == {"x": SECRET_MASK}
            listed = client.get("/api/v1/webhooks", headers=AUTH).text
            login(client)
            page = client.get("/plugins/vault").text
            for text in (json.dumps(shown), listed, page):
                assert not secrets_in(text.encode(), secrets)
            # sending the masks back keeps every secret
            assert put_settings(client, "vault", {**shown, "mode": "busy"}).status_code == 200
            assert live_config(client) == {**SETTINGS, "mode": "busy"}

            assert_no_clear_secret(data_dir, secrets)  # with the -wal of a live host
            assert (data_dir / "plexichat.db-wal").exists()
            archive = tmp_path / "host.zip"
            backup(client, archive)
            assert_archive_clean(archive, secrets)

            # rotating under the running host: it keeps reading what was re-sealed
            report = rotate_cli(data_dir)
            assert report["keys"] == 2 and report["settings"] == 1
            assert report["webhook_secrets"] == 1
            assert get_settings(client, "vault")["settings"]["api_key"] == SECRET_MASK
            delivered_with(client, receiver, 2, sub["secret"])
        assert_no_clear_secret(data_dir, secrets)

        key_file = data_dir / KEY_FILE_NAME
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        keys = key_file.read_text().split()
        assert len(keys) == 2
        # everything is sealed under the new key (the first line) alone
        newest = SecretBox([keys[0].encode()])
        db = Database(f"sqlite:///{data_dir / 'plexichat.db'}")
        try:
            with db.engine.connect() as conn:
                doc = conn.execute(sa.select(plugin_settings.c.settings)).scalar_one()
                sealed = conn.execute(sa.select(webhook_subscriptions.c.secret)).scalar_one()
        finally:
            db.dispose()
        assert newest.unseal_tree(doc) == {**SETTINGS, "mode": "busy"}
        assert newest.unseal(sealed) == sub["secret"]

        with running_host(data_dir, "vault", **FAST) as client:
            assert live_config(client) == {**SETTINGS, "mode": "busy"}
            delivered_with(client, receiver, 3, sub["secret"])


def test_clear_secrets_of_an_older_database_are_sealed_on_start(vault, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    secret = "whsec_" + "b2xkZXItaG9zdC1zZWNyZXQtb2YtMzItYnl0ZXMhIQ=="
    url_db = f"sqlite:///{data_dir / 'plexichat.db'}"
    with receiving() as receiver:
        db = Database(url_db)
        try:  # the tables as a host from before sealing left them, secrets in clear
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE plexichat_webhook_deliveries"))
                conn.execute(sa.text("DROP TABLE plexichat_webhook_subscriptions"))
                conn.execute(sa.text(
                    "CREATE TABLE plexichat_webhook_subscriptions (id INTEGER PRIMARY KEY, "
                    "url VARCHAR(2000) NOT NULL, secret TEXT NOT NULL, events JSON NOT NULL,"
                    " description VARCHAR(500) NOT NULL DEFAULT '', created_at DATETIME "
                    "NOT NULL DEFAULT CURRENT_TIMESTAMP)"))
                conn.execute(sa.text(
                    "INSERT INTO plexichat_webhook_subscriptions (url, secret, events) "
                    "VALUES (:url, :secret, '[\"*\"]')"),
                    {"url": receiver.url(), "secret": secret})
                conn.execute(sa.insert(plugin_settings).values(plugin="vault",
                                                               settings=SETTINGS))
        finally:
            db.dispose()
        before = database_bytes(data_dir)["plexichat.db"]
        assert secrets_in(before, [API_KEY, NESTED, secret]) == [API_KEY, NESTED, secret]

        with running_host(data_dir, "vault", **FAST) as client:
            assert live_config(client) == SETTINGS
            (listed,) = client.get("/api/v1/webhooks", headers=AUTH).json()
            assert listed["state"] == "active" and listed["secret"] != secret
            delivered_with(client, receiver, 1, secret)
            client.app.state.host.database.engine.dispose()
        assert_no_clear_secret(data_dir, [API_KEY, NESTED, MAP_SECRET, secret,
                                          secret.removeprefix("whsec_")])


def test_a_failed_rotation_leaves_every_secret_readable(vault, tmp_path):
    data_dir = tmp_path / "data"
    with running_host(data_dir, "vault", **FAST) as client:
        assert put_settings(client, "vault", SETTINGS).status_code == 200
        sub = subscribe(client, "http://127.0.0.1:9/hook")
    db = Database(f"sqlite:///{data_dir / 'plexichat.db'}")
    try:
        def rows():
            with db.engine.connect() as conn:
                return (conn.execute(sa.select(plugin_settings.c.settings)).scalar_one(),
                        conn.execute(sa.select(webhook_subscriptions.c.secret)).scalar_one())
        before = rows()

        def crash() -> None:
            raise OSError("disk full")
        with pytest.raises(OSError, match="disk full"):
            rotate_keys(db, data_dir, None, before_commit=crash)
        assert rows() == before  # nothing was re-sealed
        box = SecretBox.load(data_dir, None)  # the new key on top, the old one kept
        assert len(load_keys(data_dir, None).keys) == 2
        assert box.unseal_tree(before[0]) == SETTINGS
        assert box.unseal(before[1]) == sub["secret"]

        report = rotate_keys(db, data_dir, None)
        assert report.keys == 3
        after = rows()
        assert after != before
        newest = SecretBox([load_keys(data_dir, None).keys[0]])
        assert newest.unseal_tree(after[0]) == SETTINGS
        assert newest.unseal(after[1]) == sub["secret"]
    finally:
        db.dispose()


# --- the keys --------------------------------------------------------------------------------


def test_the_key_file_is_created_once_with_mode_0600_and_never_overwritten(tmp_path):
    path = tmp_path / "d" / KEY_FILE_NAME
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(create_key_file(path)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    first = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_key_file(path) is False
    assert path.read_bytes() == first
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE_NAME]  # no temp files left
    assert load_keys(path.parent, None).keys == [first.strip()]


def test_secret_key_from_the_environment_lists_keys_newest_first(vault, tmp_path):
    old, new = new_key().decode(), new_key().decode()
    data_dir = tmp_path / "data"
    with running_host(data_dir, "vault", secret_key=old, **FAST) as client:
        assert put_settings(client, "vault", SETTINGS).status_code == 200
    assert not (data_dir / KEY_FILE_NAME).exists()  # the environment's key replaces it
    # the operator puts the new key first, keeps the old one, and rotates
    report = rotate_cli(data_dir, {"PLEXICHAT_SECRET_KEY": f"{new}, {old}"})
    assert report["origin"] == "PLEXICHAT_SECRET_KEY" and report["settings"] == 1
    with running_host(data_dir, "vault", secret_key=new, **FAST) as client:
        assert live_config(client) == SETTINGS  # the new key alone opens everything


def test_a_malformed_secret_key_is_refused_naming_where_it_came_from(tmp_path):
    with pytest.raises(SecretKeyError, match="PLEXICHAT_SECRET_KEY: key 2 is not a Fernet"):
        load_keys(tmp_path, f"{new_key().decode()},not-a-key")
    (tmp_path / KEY_FILE_NAME).write_text("garbage\n")
    os.chmod(tmp_path / KEY_FILE_NAME, 0o600)
    with pytest.raises(SecretKeyError, match=f"{KEY_FILE_NAME}: key 1 is not a Fernet"):
        SecretBox.load(tmp_path, None)


def test_a_value_sealed_under_a_lost_key_says_what_is_missing(tmp_path):
    sealed = SecretBox.ephemeral().seal("x")
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        SecretBox.load(tmp_path, None).unseal(sealed)


def test_a_backup_restores_sealed_secrets_that_the_same_key_opens(vault, tmp_path):
    data_dir = tmp_path / "data"
    archive = tmp_path / "host.zip"
    with running_host(data_dir, "vault", **FAST) as client:
        assert put_settings(client, "vault", SETTINGS).status_code == 200
        sub = subscribe(client, "http://127.0.0.1:9/hook")
        backup(client, archive)
        changed = {**SETTINGS, "api_key": "changed-after-the-backup"}
        assert put_settings(client, "vault", changed).status_code == 200
        rotated = client.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", headers=AUTH,
                              json={"overlap_seconds": 0})
        assert rotated.status_code == 200
        host = client.app.state.host
        report = asyncio.run(host.services.backup.restore(archive))
        assert not [w for w in report.warnings if KEY_FILE_NAME in w]
        assert host.store.settings("vault") == SETTINGS
        assert host.services.webhooks.subscription(sub["id"]).secret == sub["secret"]

        # an archive holding a key file (as older versions wrote) never replaces the key
        key = (data_dir / KEY_FILE_NAME).read_bytes()
        with zipfile.ZipFile(archive, "a") as zf:
            zf.writestr(f"files/{KEY_FILE_NAME}", new_key() + b"\n")
        report = asyncio.run(host.services.backup.restore(archive))
        assert [w for w in report.warnings if KEY_FILE_NAME in w]
        assert (data_dir / KEY_FILE_NAME).read_bytes() == key
        assert host.store.settings("vault") == SETTINGS


def test_secrets_cli_makes_keys_and_refuses_to_rotate_without_a_database(tmp_path):
    made = CliRunner().invoke(main, ["secrets", "generate-key"])
    assert made.exit_code == 0, made.output
    assert load_keys(tmp_path, made.output.strip()).keys == [made.output.strip().encode()]
    empty = tmp_path / "nothing-here"
    result = CliRunner().invoke(main, ["secrets", "rotate"],
                                env={"PLEXICHAT_DATA_DIR": str(empty),
                                     "PLEXICHAT_DATABASE_URL": None,
                                     "PLEXICHAT_SECRET_KEY": None})
    assert result.exit_code != 0
    assert "no PlexiChat database" in result.output
    assert not empty.exists()  # neither a database nor a key file was created
