"""Permission grants and the gated PluginContext in a running host.

By default a plugin is granted what its manifest asks for on its first enable, and the
grant is stored; in strict mode only the operator's grants count. A plugin reaching for
a service it was not granted gets ``PermissionDenied`` naming itself, the service and
the permission, and the host serves on. The KV store needs no permission. Every test
here runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sys

import pytest
from support.api import TOKEN, detail, post, state_of
from support.databases import BACKENDS, database_url
from support.dists import make_plugin
from support.host import assert_host_serves, make_healthy, running_host

from plexichat.storage import Database, HostStore

AI_USER = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    @hookimpl
    async def startup(context):
        context.state = await context.ai.generate_content("hello there")

    @hookimpl
    def register_routers(context):
        router = APIRouter()

        @router.get("/api/v1/aiuser")
        def answer():
            return {"answer": context.state}

        return router
"""

KV_USER = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    @hookimpl
    def register_routers(context):
        router = APIRouter()

        @router.put("/api/v1/NAME/kv/{key}")
        def put(key: str, value: int):
            context.kv.set(key, {"n": value})
            return {"keys": context.kv.keys()}

        @router.get("/api/v1/NAME/kv/{key}")
        def get(key: str):
            return {"value": context.kv.get(key)}

        @router.delete("/api/v1/NAME/kv/{key}")
        def delete(key: str):
            return {"existed": context.kv.delete(key)}

        return router
"""


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def aiuser(site, permissions=("ai:use", "db:read")):
    make_healthy(site)
    make_plugin(site, "aiuser", code=AI_USER,
                manifest={"name": "aiuser", "type": "feature",
                          "permissions": list(permissions)})


def host(data_dir, db_url, *plugins, **settings):
    return running_host(data_dir, *(plugins or ("aiuser", "healthy")), admin_token=TOKEN,
                        database_url=db_url, **settings)


def store_of(db_url):
    db = Database(db_url)
    return db, HostStore(db)


def grants(db_url, plugin="aiuser"):
    db, store = store_of(db_url)
    try:
        return store.grants(plugin)
    finally:
        db.dispose()


# --- default grants --------------------------------------------------------------------


def test_manifest_permissions_are_granted_on_first_enable(site, data_dir, db_url):
    aiuser(site)
    with host(data_dir, db_url) as client:
        info = detail(client, "aiuser")
        assert info["permissions_granted"] == ["ai:use", "db:read"]
        assert info["permissions_requested"] == ["ai:use", "db:read"]
        assert info["state"] == "started"


def test_default_grants_are_persisted(site, data_dir, db_url):
    aiuser(site)
    with host(data_dir, db_url):
        pass
    assert grants(db_url) == {"ai:use", "db:read"}


def test_granted_plugin_uses_the_ai_service(site, data_dir, db_url):
    aiuser(site)
    with host(data_dir, db_url) as client:
        answer = client.get("/api/v1/aiuser").json()["answer"]
    assert answer.startswith("[plexichat-local-ai]")
    assert "hello there" in answer


def test_revoked_permission_is_not_granted_again_on_restart(site, data_dir, db_url):
    aiuser(site)
    with host(data_dir, db_url):
        pass
    db, store = store_of(db_url)
    store.revoke("aiuser", ["db:read"])
    db.dispose()
    with host(data_dir, db_url) as client:
        assert detail(client, "aiuser")["permissions_granted"] == ["ai:use"]


def test_revoking_every_permission_is_not_undone_on_restart(site, data_dir, db_url):
    aiuser(site)
    with host(data_dir, db_url):
        pass
    db, store = store_of(db_url)
    store.revoke("aiuser", ["ai:use", "db:read"])
    db.dispose()
    with host(data_dir, db_url) as client:
        info = detail(client, "aiuser")
        assert info["permissions_granted"] == []
        assert info["state"] == "failed"
        assert_host_serves(client)
    assert grants(db_url) == set()


def test_permissions_added_by_an_upgrade_are_not_granted_silently(site, data_dir, db_url):
    make_healthy(site)
    make_plugin(site, "aiuser", manifest={"name": "aiuser", "type": "feature"})
    with host(data_dir, db_url) as client:
        assert state_of(client, "aiuser") == "started"
    del sys.modules["plx_aiuser"]
    aiuser(site)  # the new version asks for ai:use and db:read
    with host(data_dir, db_url) as client:
        assert detail(client, "aiuser")["permissions_granted"] == []
        assert state_of(client, "aiuser") == "failed"


def test_grants_are_kept_across_disable_and_enable(site, data_dir, db_url):
    aiuser(site)
    with host(data_dir, db_url) as client:
        post(client, "/api/v1/plugins/aiuser/disable")
        assert post(client, "/api/v1/plugins/aiuser/enable").json()["state"] == "started"
        assert detail(client, "aiuser")["permissions_granted"] == ["ai:use", "db:read"]


# --- strict permissions ----------------------------------------------------------------


def test_strict_mode_grants_nothing_by_default(site, data_dir, db_url):
    aiuser(site)
    with host(data_dir, db_url, strict_permissions=True) as client:
        info = detail(client, "aiuser")
        assert info["permissions_granted"] == []
        assert info["permissions_requested"] == ["ai:use", "db:read"]
    assert grants(db_url) == set()


def test_strict_mode_from_the_environment(site, data_dir, db_url, monkeypatch):
    monkeypatch.setenv("PLEXICHAT_STRICT_PERMISSIONS", "1")
    aiuser(site)
    with host(data_dir, db_url) as client:
        assert detail(client, "aiuser")["permissions_granted"] == []
        assert state_of(client, "aiuser") == "failed"


def test_ungranted_service_fails_the_plugin_naming_plugin_service_permission(
        site, data_dir, db_url):
    aiuser(site)
    with host(data_dir, db_url, strict_permissions=True) as client:
        info = detail(client, "aiuser")
    assert info["state"] == "failed"
    reason = info["reason"]
    assert "PermissionDenied" in reason
    assert "'aiuser'" in reason
    assert "context.ai" in reason
    assert "'ai:use'" in reason


def test_ungranted_service_leaves_the_host_serving(site, data_dir, db_url):
    aiuser(site)
    with host(data_dir, db_url, strict_permissions=True) as client:
        assert client.get("/api/v1/aiuser").status_code == 404
        assert_host_serves(client)
        assert client.get("/api/v1/health/ready").status_code == 200


def test_operator_grant_opens_the_service_in_strict_mode(site, data_dir, db_url):
    aiuser(site)
    db, store = store_of(db_url)
    store.grant("aiuser", ["ai:use"], by="operator")
    db.dispose()
    with host(data_dir, db_url, strict_permissions=True) as client:
        assert state_of(client, "aiuser") == "started"
        assert detail(client, "aiuser")["permissions_granted"] == ["ai:use"]


def test_empty_permissions_and_touching_db_fails_naming_permission_denied(
        site, data_dir, db_url):
    make_healthy(site)
    make_plugin(site, "nodb", manifest={"name": "nodb", "type": "feature", "permissions": []},
                code="""
        from plexichat import hookimpl

        @hookimpl
        def startup(context):
            context.db
    """)
    with host(data_dir, db_url, "nodb", "healthy") as client:
        info = detail(client, "nodb")
        assert info["state"] == "failed"
        assert "PermissionDenied" in info["reason"]
        assert "context.db" in info["reason"]
        assert_host_serves(client)


def test_permission_denied_in_a_request_leaves_the_host_serving(site, data_dir, db_url):
    make_healthy(site)
    make_plugin(site, "later", code="""
        from fastapi import APIRouter
        from plexichat import hookimpl

        @hookimpl
        def register_routers(context):
            router = APIRouter()

            @router.get("/api/v1/later")
            async def later():
                return {"answer": await context.ai.generate_content("x")}

            return router
    """)
    with host(data_dir, db_url, "later", "healthy") as client:
        response = client.get("/api/v1/later")
        assert response.status_code == 500  # answered by the host, naming the plugin
        assert "plugin 'later' failed" in response.json()["detail"]
        [kept] = client.get("/api/v1/plugins/later").json()["failures"]
        assert kept["exception_type"] == "PermissionDenied"
        assert "may not use context.ai" in kept["message"]
        assert_host_serves(client)


# --- the KV store ----------------------------------------------------------------------


def kv_user(site, name):
    make_plugin(site, name, code=KV_USER.replace("NAME", name))


def test_kv_needs_no_permission_and_round_trips(site, data_dir, db_url):
    kv_user(site, "kvone")
    with host(data_dir, db_url, "kvone") as client:
        assert client.put("/api/v1/kvone/kv/a?value=1").json() == {"keys": ["a"]}
        assert client.get("/api/v1/kvone/kv/a").json() == {"value": {"n": 1}}
        assert client.delete("/api/v1/kvone/kv/a").json() == {"existed": True}
        assert client.get("/api/v1/kvone/kv/a").json() == {"value": None}


def test_kv_survives_a_restart(site, data_dir, db_url):
    kv_user(site, "kvone")
    with host(data_dir, db_url, "kvone") as client:
        client.put("/api/v1/kvone/kv/a?value=7")
    with host(data_dir, db_url, "kvone") as client:
        assert client.get("/api/v1/kvone/kv/a").json() == {"value": {"n": 7}}


def test_kv_is_private_to_each_plugin(site, data_dir, db_url):
    kv_user(site, "kvone")
    kv_user(site, "kvtwo")
    with host(data_dir, db_url, "kvone", "kvtwo") as client:
        client.put("/api/v1/kvone/kv/shared?value=1")
        client.put("/api/v1/kvtwo/kv/shared?value=2")
        assert client.get("/api/v1/kvone/kv/shared").json() == {"value": {"n": 1}}
        assert client.get("/api/v1/kvtwo/kv/shared").json() == {"value": {"n": 2}}
