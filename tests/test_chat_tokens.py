"""Users' bearer tokens: stored as digests only, expiring, revoked at logout, and the
tokens of databases from before expiries no longer working.

Every test runs on SQLite and, with PLEXICHAT_TEST_DATABASE_URL set, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from support.api import TOKEN
from support.chat import FAST_HASHING, Chatter, chat_host, host_of
from support.databases import BACKENDS, database_url
from support.host import running_host

from plexichat.chat.tokens import TOKEN_EXPIRED


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


class Clock:
    """A settable UTC clock for the token store."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now


def _me(client: TestClient, token: str):
    return client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})


def test_a_token_expires_after_the_ttl_with_a_reason(tmp_path, backend):
    with chat_host(tmp_path, backend, token_ttl=60) as client:
        clock = Clock()
        host_of(client).services.chat.tokens.clock = clock
        ada = Chatter(client, "ada")
        clock.now += dt.timedelta(seconds=59)
        assert _me(client, ada.token).status_code == 200
        clock.now += dt.timedelta(seconds=1)
        expired = _me(client, ada.token)
        assert expired.status_code == 401
        assert expired.json()["detail"] == TOKEN_EXPIRED == "token expired; log in again"
        assert expired.headers["www-authenticate"] == "Bearer"
        # the expired row is gone: the reason is given once, then the token is unknown
        assert _me(client, ada.token).json()["detail"] != TOKEN_EXPIRED
        # logging in again hands out a token that works
        again = client.post("/api/v1/users/login",
                            json={"name": "ada", "password": "password-1"})
        assert _me(client, again.json()["token"]).status_code == 200


def test_the_websocket_auth_message_refuses_an_expired_token(tmp_path):
    with chat_host(tmp_path, "sqlite", token_ttl=60) as client:
        clock = Clock()
        host_of(client).services.chat.tokens.clock = clock
        ada = Chatter(client, "ada")
        with client.websocket_connect("/api/v1/ws") as ws:
            ws.send_json({"type": "auth", "token": ada.token})
            assert ws.receive_json()["type"] == "ready"
        clock.now += dt.timedelta(seconds=61)
        with client.websocket_connect("/api/v1/ws") as ws:
            ws.send_json({"type": "auth", "token": ada.token})
            closed = ws.receive()
        assert closed["type"] == "websocket.close"
        assert (closed["code"], closed["reason"]) == (1008, TOKEN_EXPIRED)


def test_logout_revokes_the_token_and_only_that_one(tmp_path, backend):
    with chat_host(tmp_path, backend) as client:
        ada = Chatter(client, "ada")
        other = client.post("/api/v1/users/login",
                            json={"name": "ada", "password": "password-1"}).json()["token"]
        assert client.post("/api/v1/users/logout", headers=ada.headers).status_code == 204
        assert _me(client, ada.token).status_code == 401
        assert client.post("/api/v1/users/logout", headers=ada.headers).status_code == 401
        with client.websocket_connect("/api/v1/ws") as ws:
            ws.send_json({"type": "auth", "token": ada.token})
            assert ws.receive()["type"] == "websocket.close"
        assert _me(client, other).status_code == 200


def test_the_database_file_holds_no_token_in_clear(tmp_path):
    with chat_host(tmp_path, "sqlite") as client:
        ada = Chatter(client, "ada")
        assert _me(client, ada.token).status_code == 200
        files = list(tmp_path.glob("host.db*"))  # the database, its WAL and shared memory
        stored = b"".join(f.read_bytes() for f in files)
    assert files and ada.token.encode() not in stored
    assert hashlib.sha256(ada.token.encode()).hexdigest().encode() in stored


def test_tokens_from_before_expiries_stop_working_and_their_rows_are_dropped(tmp_path,
                                                                             backend):
    with database_url(backend, tmp_path) as url:
        settings = {"database_url": url, "admin_token": TOKEN, **FAST_HASHING}
        with running_host(tmp_path / "data", **settings) as client:
            ada = Chatter(client, "ada")
        # the table as it was before tokens expired, with a row kept as a digest and one
        # kept in clear
        clear = "clear-text-token-of-an-older-version"
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE plexichat_chat_tokens DROP COLUMN expires_at"))
            conn.execute(sa.text(
                "INSERT INTO plexichat_chat_tokens (token_hash, user_id, created_at) "
                "VALUES (:h, :u, CURRENT_TIMESTAMP)"), {"h": clear, "u": ada.id})
        engine.dispose()

        with running_host(tmp_path / "data", **settings) as client:
            for token in (ada.token, clear):
                assert _me(client, token).status_code == 401, token
            with host_of(client).database.engine.connect() as conn:
                assert conn.execute(sa.text(
                    "SELECT count(*) FROM plexichat_chat_tokens")).scalar() == 0
            fresh = client.post("/api/v1/users/login",
                                json={"name": "ada", "password": "password-1"})
            assert _me(client, fresh.json()["token"]).status_code == 200
