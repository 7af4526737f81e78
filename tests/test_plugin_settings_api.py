"""Plugin settings through ``/api/v1/plugins/{name}/settings`` in a running host.

The schema is the manifest's ``settings_schema`` merged with the ``config_schema`` hook;
defaults are filled and stored on first start; invalid documents are refused with JSON
paths and rules; valid ones reach the live plugin and survive restarts; a plugin that
refuses them gets the previous settings back; secrets never come back in clear.
The tests that read the host database run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sys
import time

import pytest
from support.api import TOKEN, get_settings, put_settings
from support.databases import BACKENDS, database_url
from support.dists import make_plugin
from support.host import make_healthy, running_host

from plexichat.settings import SECRET_MASK
from plexichat.storage import Database, HostStore
from plexichat.storage.sealing import SecretBox

MANIFEST = {
    "name": "tuned",
    "type": "feature",
    "settings_schema": {
        "type": "object",
        "properties": {
            "interval": {"type": "integer", "minimum": 1, "default": 30},
            "api_key": {"type": "string", "writeOnly": True, "default": ""},
            "password": {"type": "string", "format": "password"},
        },
    },
}

CODE = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    CHANGES = []

    @hookimpl
    def config_schema():
        return {"properties": {"greeting": {"type": "string", "default": "hi"}},
                "required": ["greeting"]}

    @hookimpl
    def config_changed(old, new, context):
        CHANGES.append((dict(old), dict(new), dict(context.config)))
        if new.get("greeting") == "refuse":
            raise ValueError("greeting 'refuse' is not acceptable")

    @hookimpl
    def register_routers(context):
        router = APIRouter()

        @router.get("/api/v1/tuned/config")
        def config():
            return dict(context.config)

        return router
"""

DEFAULTS = {"interval": 30, "api_key": "", "greeting": "hi"}


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def tuned(site):
    make_healthy(site)
    make_plugin(site, "tuned", code=CODE, manifest=MANIFEST)


def host(data_dir, db_url=None):
    extra = {"database_url": db_url} if db_url else {}
    return running_host(data_dir, "tuned", "healthy", admin_token=TOKEN, **extra)


def stored(db_url, data_dir, plugin="tuned"):
    """The settings the host stored, unsealed with the key of its data directory."""
    db = Database(db_url)
    try:
        return HostStore(db, SecretBox.load(data_dir, None)).settings(plugin)
    finally:
        db.dispose()


def changes():
    return sys.modules["plx_tuned"].CHANGES


def live_config(client):
    response = client.get("/api/v1/tuned/config")
    assert response.status_code == 200, response.text
    return response.json()


# --- schema and defaults ---------------------------------------------------------------


def test_schema_merges_manifest_and_config_schema_hook(tuned, data_dir):
    with host(data_dir) as client:
        schema = get_settings(client, "tuned")["settings_schema"]
    assert set(schema["properties"]) == {"interval", "api_key", "password", "greeting"}
    assert schema["properties"]["interval"]["minimum"] == 1
    assert schema["required"] == ["greeting"]


def test_defaults_are_filled_on_first_start(tuned, data_dir):
    with host(data_dir) as client:
        assert get_settings(client, "tuned")["settings"] == DEFAULTS
        assert live_config(client) == DEFAULTS


def test_defaults_are_persisted_on_first_start(tuned, data_dir, db_url):
    with host(data_dir, db_url):
        pass
    assert stored(db_url, data_dir) == DEFAULTS


def test_plugin_without_schema_has_empty_settings(tuned, data_dir, db_url):
    with host(data_dir, db_url) as client:
        view = get_settings(client, "healthy")
    assert view["settings"] == {}
    assert view["settings_schema"] == {"type": "object", "properties": {}}
    # nothing to store, so its first start wrote nothing (one commit less per plugin)
    assert stored(db_url, data_dir, "healthy") is None


def test_settings_of_unknown_plugin_are_404(tuned, data_dir):
    with host(data_dir) as client:
        assert put_settings(client, "nope", {}).status_code == 404


# --- invalid settings ------------------------------------------------------------------


def test_invalid_settings_are_422_with_json_path_and_rule(tuned, data_dir):
    with host(data_dir) as client:
        response = put_settings(client, "tuned", {"interval": 0})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["path"] == "$.interval"
    assert error["rule"] == "minimum"
    assert "0" in error["message"]


def test_every_violation_is_reported(tuned, data_dir):
    with host(data_dir) as client:
        response = put_settings(client, "tuned", {"interval": "soon", "greeting": 5})
    assert response.status_code == 422
    assert [(e["path"], e["rule"]) for e in response.json()["errors"]] == [
        ("$.greeting", "type"), ("$.interval", "type")]


def test_invalid_settings_store_nothing(tuned, data_dir, db_url):
    with host(data_dir, db_url) as client:
        assert put_settings(client, "tuned", {"interval": 0}).status_code == 422
        assert get_settings(client, "tuned")["settings"] == DEFAULTS
        assert live_config(client) == DEFAULTS
        assert changes() == []
    assert stored(db_url, data_dir) == DEFAULTS


def test_settings_body_that_is_not_an_object_is_422(tuned, data_dir):
    with host(data_dir) as client:
        response = put_settings(client, "tuned", [1, 2])  # type: ignore[arg-type]
    assert response.status_code == 422


# --- valid settings --------------------------------------------------------------------


def test_valid_settings_are_answered_with_the_stored_document(tuned, data_dir):
    with host(data_dir) as client:
        response = put_settings(client, "tuned", {"interval": 5})
    assert response.status_code == 200, response.text
    assert response.json()["settings"] == {**DEFAULTS, "interval": 5}


def test_valid_settings_call_config_changed_with_old_and_new(tuned, data_dir):
    with host(data_dir) as client:
        put_settings(client, "tuned", {"interval": 5})
    [(old, new, seen)] = changes()
    assert old == DEFAULTS
    assert new == {**DEFAULTS, "interval": 5}
    assert seen == new  # the context already holds the new settings


def test_valid_settings_are_applied_live(tuned, data_dir):
    with host(data_dir) as client:
        put_settings(client, "tuned", {"interval": 5, "greeting": "hello"})
        assert live_config(client) == {**DEFAULTS, "interval": 5, "greeting": "hello"}


def test_valid_settings_survive_a_restart(tuned, data_dir, db_url):
    with host(data_dir, db_url) as client:
        assert put_settings(client, "tuned", {"interval": 7}).status_code == 200
    with host(data_dir, db_url) as client:
        assert live_config(client)["interval"] == 7
        assert get_settings(client, "tuned")["settings"]["interval"] == 7
    assert stored(db_url, data_dir)["interval"] == 7


# --- a plugin refusing new settings ----------------------------------------------------


def test_refused_settings_are_409_naming_the_reason(tuned, data_dir):
    with host(data_dir) as client:
        response = put_settings(client, "tuned", {"greeting": "refuse"})
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "greeting 'refuse' is not acceptable" in detail
    assert "restored" in detail


def test_refused_settings_restore_the_previous_ones(tuned, data_dir, db_url):
    with host(data_dir, db_url) as client:
        put_settings(client, "tuned", {"interval": 9})
        assert put_settings(client, "tuned", {"interval": 3, "greeting": "refuse"}
                            ).status_code == 409
        assert live_config(client)["interval"] == 9
        assert get_settings(client, "tuned")["settings"]["greeting"] == "hi"
    assert stored(db_url, data_dir) == {**DEFAULTS, "interval": 9}


REFUSER = """
    from plexichat import hookimpl

    @hookimpl
    def config_changed(new):
        raise ValueError("never")
"""


def test_refusing_settings_does_not_spend_the_fault_budget(site, tmp_path):
    # Nothing else of this plugin is called between the PUTs, so nothing resets its count.
    make_plugin(site, "refuser", code=REFUSER, manifest={
        "name": "refuser",
        "settings_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}})
    with running_host(tmp_path / "budget", "refuser", admin_token=TOKEN,
                      fault_budget=2) as client:
        for n in range(4):
            assert put_settings(client, "refuser", {"n": n}).status_code == 409
        detail = client.get("/api/v1/plugins/refuser").json()
        assert detail["state"] == "started", detail["reason"]
        assert [f["hook"] for f in detail["failures"]] == ["config_changed"] * 4


def test_plugin_keeps_serving_after_refusing_settings(tuned, data_dir):
    with host(data_dir) as client:
        put_settings(client, "tuned", {"greeting": "refuse"})
        assert client.get("/api/v1/plugins/tuned").json()["state"] == "started"
        assert put_settings(client, "tuned", {"greeting": "hey"}).status_code == 200
        assert live_config(client)["greeting"] == "hey"


# --- secrets ---------------------------------------------------------------------------


def test_write_only_field_is_masked_when_read(tuned, data_dir):
    with host(data_dir) as client:
        answer = put_settings(client, "tuned", {"api_key": "s3cret"}).json()
        assert answer["settings"]["api_key"] == SECRET_MASK
        assert get_settings(client, "tuned")["settings"]["api_key"] == SECRET_MASK


def test_password_format_field_is_masked_when_read(tuned, data_dir):
    with host(data_dir) as client:
        put_settings(client, "tuned", {"password": "hunter2"})
        view = client.get("/api/v1/plugins/tuned/settings",
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert view.json()["settings"]["password"] == SECRET_MASK
    assert "hunter2" not in view.text


def test_empty_secret_is_not_masked(tuned, data_dir):
    with host(data_dir) as client:
        assert get_settings(client, "tuned")["settings"]["api_key"] == ""


def test_plugin_sees_secrets_in_clear(tuned, data_dir):
    with host(data_dir) as client:
        put_settings(client, "tuned", {"api_key": "s3cret"})
        assert live_config(client)["api_key"] == "s3cret"


def test_sending_the_mask_back_keeps_the_stored_secret(tuned, data_dir, db_url):
    with host(data_dir, db_url) as client:
        put_settings(client, "tuned", {"api_key": "s3cret", "password": "hunter2"})
        shown = get_settings(client, "tuned")["settings"]
        response = put_settings(client, "tuned", {**shown, "interval": 2})
        assert response.status_code == 200, response.text
        assert live_config(client)["api_key"] == "s3cret"
        assert live_config(client)["password"] == "hunter2"
    assert stored(db_url, data_dir) == {**DEFAULTS, "interval": 2, "api_key": "s3cret",
                              "password": "hunter2"}


# --- a plugin slow to accept new settings ------------------------------------------------

SLOW = """
    import asyncio, threading
    from plexichat import hookimpl

    RELEASE = threading.Event()

    @hookimpl
    def config_schema():
        return {"properties": {"mode": {"type": "string", "default": "calm"}}}

    @hookimpl
    ASYNCdef config_changed(new):
        if new["mode"] == "hang":
            SLEEP(3)
"""


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_hanging_config_changed_is_refused_within_the_health_timeout(site, data_dir, kind):
    code = (SLOW.replace("ASYNC", "async " if kind == "async" else "")
            .replace("SLEEP", "await asyncio.sleep" if kind == "async" else "RELEASE.wait"))
    make_plugin(site, "slowcfg", code=code)
    with running_host(data_dir, "slowcfg", admin_token=TOKEN, health_timeout=0.2) as client:
        started = time.monotonic()
        response = put_settings(client, "slowcfg", {"mode": "hang"})
        took = time.monotonic() - started
        assert response.status_code == 409, response.text
        assert "0.2 s" in response.json()["detail"]
        sys.modules["plx_slowcfg"].RELEASE.set()
        assert took < 2
        assert get_settings(client, "slowcfg")["settings"] == {"mode": "calm"}


def test_settings_put_while_disabled_apply_on_enable(tuned, data_dir):
    with host(data_dir) as client:
        assert client.post("/api/v1/plugins/tuned/disable",
                           headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        response = put_settings(client, "tuned", {"interval": 11, "greeting": "later"})
        assert response.status_code == 200, response.text
        assert changes() == []
        client.post("/api/v1/plugins/tuned/enable",
                    headers={"Authorization": f"Bearer {TOKEN}"})
        assert live_config(client)["interval"] == 11
        assert live_config(client)["greeting"] == "later"


def test_stored_settings_that_no_longer_validate_fail_the_plugin(tuned, data_dir, db_url):
    db = Database(db_url)
    HostStore(db).put_settings("tuned", {"interval": 0, "greeting": "hi"})
    db.dispose()
    with host(data_dir, db_url) as client:
        info = client.get("/api/v1/plugins/tuned").json()
        assert info["state"] == "failed"
        assert "$.interval" in info["reason"]
        assert "minimum" in info["reason"]
        assert client.get("/api/v1/healthy").status_code == 200


NESTED = {
    "name": "mailer", "type": "feature",
    "settings_schema": {"type": "object", "properties": {
        "smtp": {"type": "object", "properties": {
            "host": {"type": "string", "default": "localhost"},
            "password": {"type": "string", "format": "password", "default": ""}}}}},
}


def test_nested_secret_is_masked_and_kept_when_the_mask_comes_back(site, data_dir):
    make_plugin(site, "mailer", manifest=NESTED, code="""
        from fastapi import APIRouter
        from plexichat import hookimpl

        @hookimpl
        def register_routers(context):
            router = APIRouter()

            @router.get("/api/v1/mailer/password")
            def password():
                return {"password": context.config["smtp"]["password"]}

            return router
    """)
    with running_host(data_dir, "mailer", admin_token=TOKEN) as client:
        answer = put_settings(client, "mailer", {"smtp": {"host": "mx", "password": "pw1"}})
        assert answer.json()["settings"]["smtp"] == {"host": "mx", "password": SECRET_MASK}
        shown = get_settings(client, "mailer")["settings"]
        assert shown["smtp"]["password"] == SECRET_MASK
        shown["smtp"]["host"] = "mx2"
        assert put_settings(client, "mailer", shown).status_code == 200
        assert client.get("/api/v1/mailer/password").json() == {"password": "pw1"}
