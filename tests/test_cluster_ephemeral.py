"""Shared ephemeral state across real replicas: web UI sessions, the login throttle and
the moderation plugin's rate limit hold cluster-wide; the Redis store itself."""

from __future__ import annotations

import asyncio

import pytest
from support.replicas import fresh_redis, replicas

from plexichat.cluster.connection import connect
from plexichat.cluster.ephemeral import RedisEphemeral
from plexichat.services.ephemeral import Ephemeral

ADMIN = "cluster-test-admin-token"  # what support.replicas gives every replica
FAST = {"PLEXICHAT_PASSWORD_HASH_TIME_COST": "1", "PLEXICHAT_PASSWORD_HASH_MEMORY_KIB": "64"}


@pytest.fixture
def cluster(site, tmp_path):
    with replicas(2, site, tmp_path, env=FAST) as running:
        yield running


def test_a_ui_session_opened_on_one_replica_is_valid_on_another(cluster):
    first, second = cluster
    with first.client() as client:
        response = client.post("/login", data={"token": ADMIN, "next": "/plugins"})
        assert response.status_code == 303, response.text
        cookie = client.cookies.get("plexichat_session")
    assert cookie
    with second.client() as client:
        assert client.get("/plugins").status_code == 303  # no session: to the login form
        client.cookies.set("plexichat_session", cookie)
        page = client.get("/plugins")
    assert page.status_code == 200
    assert "Log out" in page.text or "logout" in page.text


def test_failed_chat_logins_through_every_replica_add_up_to_a_lock_out(cluster):
    first, second = cluster
    credentials = {"name": "grace", "password": "right-password"}
    with first.client() as client:
        assert client.post("/api/v1/users", json=credentials).status_code == 201
    wrong = {"name": "grace", "password": "wrong-password"}
    for replica in (first, second, first, second, first):  # 5 failures, 3 + 2
        with replica.client() as client:
            assert client.post("/api/v1/users/login", json=wrong).status_code == 401
    for replica in cluster:  # locked out everywhere, the right password too
        with replica.client() as client:
            refused = client.post("/api/v1/users/login", json=credentials)
            assert refused.status_code == 429, refused.text
            assert int(refused.headers["retry-after"]) >= 1


def test_failed_admin_ui_logins_through_every_replica_add_up_to_a_lock_out(cluster):
    first, second = cluster
    for replica in (second, first, second, first, second):
        with replica.client() as client:
            response = client.post("/login", data={"token": "wrong", "next": "/plugins"})
            assert response.status_code == 401
    for replica in cluster:
        with replica.client() as client:
            refused = client.post("/login", data={"token": ADMIN, "next": "/plugins"})
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert "set-cookie" not in refused.headers


def test_the_moderation_rate_limit_counts_posts_through_every_replica(cluster):
    first, second = cluster
    admin = {"Authorization": f"Bearer {ADMIN}"}
    for replica in cluster:  # settings reach a running plugin through its own replica
        with replica.client() as client:
            info = client.get("/api/v1/plugins/moderation").json()
            assert info["state"] == "started", info
            response = client.put("/api/v1/plugins/moderation/settings",
                                  json={"rate_limit_per_minute": 3}, headers=admin)
            assert response.status_code == 200, response.text
    credentials = {"name": "ada", "password": "password-1"}
    with first.client() as client:
        assert client.post("/api/v1/users", json=credentials).status_code == 201
        token = client.post("/api/v1/users/login", json=credentials).json()["token"]
        ada = {"Authorization": f"Bearer {token}"}
        general = client.post("/api/v1/channels", json={"name": "general"},
                              headers=ada).json()["id"]

    def post(replica):
        with replica.client() as client:
            return client.post(f"/api/v1/channels/{general}/messages", json={"text": "hi"},
                               headers=ada).status_code

    assert [post(r) for r in (first, second, first)] == [201, 201, 201]
    assert post(second) == 429  # the fourth post of the minute, whichever replica takes it
    assert post(first) == 429


def test_the_redis_store_keeps_values_counters_and_expiry():
    async def scenario(url):
        redis = connect(url)
        try:
            store = Ephemeral(RedisEphemeral(redis), "plugin:demo")
            await store.set("greeting", "hello")
            got = await store.get("greeting")
            counts = [await store.incr("hits", ttl=0.3), await store.incr("hits", 4),
                      await store.incr("hits", -2)]
            await store.set("short", "x", ttl=0.2)
            ttls = (await store.ttl("short"), await store.ttl("greeting"),
                    await store.ttl("absent"))
            await asyncio.sleep(0.45)
            expired = (await store.get("hits"), await store.get("short"))
            deleted = (await store.delete("greeting"), await store.delete("greeting"))
            return got, counts, ttls, expired, deleted
        finally:
            await redis.aclose()

    with fresh_redis() as url:
        got, counts, ttls, expired, deleted = asyncio.run(scenario(url))
    assert got == "hello"
    assert counts == [1, 5, 3]
    assert 0 < ttls[0] <= 0.2 and ttls[1:] == (None, None)
    assert expired == (None, None)  # the counter's ttl ran from its creation
    assert deleted == (True, False)
