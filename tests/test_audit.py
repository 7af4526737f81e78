"""The audit trail through ``GET /api/v1/audit`` of a running host (the ASGI app).

An operator disables a plugin, changes a secret setting, someone fails to log in to the
web UI: each appears with who, from where and what; the secret never shows in clear;
pages follow their cursor; the table is only ever appended to, except by the retention
job, which records itself.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.api import AUTH, TOKEN, post, put_settings
from support.databases import BACKENDS, database_url
from support.dists import make_plugin
from support.host import make_healthy, running_host
from support.web import login

from plexichat.audit import Actor, AuditAction, AuditQuery, AuditTrail
from plexichat.storage import Database
from plexichat.storage.database import audit_log

SECRET = "sk-live-7f3a9c1e5b"

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


@pytest.fixture
def tuned(site):
    make_healthy(site)
    make_plugin(site, "tuned", manifest=MANIFEST, code="")


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


def audit(client, **params):
    response = client.get("/api/v1/audit", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def only(entries, action):
    found = [e for e in entries if e["action"] == action]
    assert found, f"no {action} entry in {[e['action'] for e in entries]}"
    return found


def test_disable_appears_with_the_admin_and_the_address(tuned, tmp_path, db_url):
    with running_host(tmp_path / "data", "tuned", "healthy", admin_token=TOKEN,
                      database_url=db_url) as client:
        assert post(client, "/api/v1/plugins/tuned/disable").status_code == 200
        page = audit(client, plugin="tuned")
    [disable] = only(page["entries"], "plugin.disable")
    assert disable["actor"] == "admin:admin-token"
    assert disable["source"] == "testclient"  # the peer address the server saw
    assert disable["target"] == "tuned"
    assert disable["details"]["state_before"] == "started"
    assert datetime.fromisoformat(disable["at"]) > datetime.now(timezone.utc) - timedelta(
        minutes=5)
    # the host recorded the stop that followed, as itself
    [stopped] = only(page["entries"], "plugin.stopped")
    assert stopped["actor"] == "host:local"
    assert stopped["details"]["to"] == "disabled"
    assert stopped["id"] > disable["id"]


def test_a_secret_setting_is_masked_in_the_audit(tuned, tmp_path):
    with running_host(tmp_path / "data", "tuned", "healthy", admin_token=TOKEN) as client:
        response = put_settings(client, "tuned", {"interval": 5, "api_key": SECRET,
                                                  "password": SECRET + "-pw"})
        assert response.status_code == 200, response.text
        raw = client.get("/api/v1/audit", params={"action": "plugin.settings"},
                         headers=AUTH)
    assert raw.status_code == 200
    assert SECRET not in raw.text
    [entry] = raw.json()["entries"]
    assert entry["actor"] == "admin:admin-token"
    changes = entry["details"]["changes"]
    assert changes["interval"] == {"from": 30, "to": 5}
    assert changes["api_key"] == {"from": "", "to": "********"}
    assert changes["password"] == {"from": None, "to": "********"}
    # nor anywhere in the database
    db = Database(f"sqlite:///{tmp_path / 'data' / 'plexichat.db'}")
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(sa.select(audit_log.c.details)).all()
    finally:
        db.dispose()
    assert rows and all(SECRET not in str(r) for r in rows)


def test_a_failed_ui_login_appears_with_the_address(tuned, tmp_path):
    with running_host(tmp_path / "data", "healthy", admin_token=TOKEN) as client:
        refused = client.post("/login", data={"token": "guess", "next": "/plugins"},
                              follow_redirects=False)
        assert refused.status_code == 401
        login(client)
        entries = audit(client, actor="ui")["entries"]
    [failed] = only(entries, "ui.login_failed")
    assert failed["source"] == "testclient"
    assert failed["actor_kind"] == "ui"
    [ok] = only(entries, "ui.login")
    assert re.fullmatch(r"ui:[0-9a-f]{12}", ok["actor"])


def test_ui_disable_names_the_session(tuned, tmp_path):
    with running_host(tmp_path / "data", "healthy", admin_token=TOKEN) as client:
        csrf = login(client)
        client.post("/plugins/healthy/disable", data={"csrf_token": csrf},
                    headers={"Origin": "http://testserver"}, follow_redirects=False)
        entries = audit(client, action="plugin.disable")["entries"]
        logins = audit(client, action="ui.login")["entries"]
    [disable] = entries
    assert disable["actor"] == logins[0]["actor"]
    assert disable["source"] == "testclient"


def test_wrong_admin_tokens_and_chat_logins_are_recorded(tuned, tmp_path):
    with running_host(tmp_path / "data", "healthy", admin_token=TOKEN) as client:
        wrong = client.post("/api/v1/plugins/healthy/disable",
                            headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        bad = client.post("/api/v1/users/login", json={"name": "ada", "password": "x" * 8})
        assert bad.status_code == 401
        entries = audit(client)["entries"]
    [refused] = only(entries, "admin.token_refused")
    assert refused["target"] == "POST /api/v1/plugins/healthy/disable"
    assert refused["source"] == "testclient"
    [chat] = only(entries, "chat.login_failed")
    assert chat["actor"] == "user:ada"


def test_grants_are_recorded(tuned, tmp_path):
    with running_host(tmp_path / "data", "healthy", admin_token=TOKEN) as client:
        response = post(client, "/api/v1/plugins/healthy/grants",
                        json={"grant": ["chat:read"]})
        assert response.status_code == 200, response.text
        [entry] = audit(client, action="plugin.grants")["entries"]
    assert entry["details"]["grant"] == ["chat:read"]
    assert entry["plugin"] == "healthy"


def test_pages_follow_the_cursor_without_gaps_or_repeats(tuned, tmp_path):
    with running_host(tmp_path / "data", "tuned", "healthy", admin_token=TOKEN) as client:
        for _ in range(3):
            assert post(client, "/api/v1/plugins/tuned/disable").status_code == 200
            assert post(client, "/api/v1/plugins/tuned/enable").status_code == 200
        everything = audit(client, limit=500)["entries"]
        seen, cursor = [], None
        while True:
            params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
            page = audit(client, **params)
            assert len(page["entries"]) <= 4
            seen.extend(e["id"] for e in page["entries"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        newer = audit(client, after=everything[2]["id"])["entries"]
        filtered = audit(client, action="plugin.enable", actor="admin:admin-token")
        none = audit(client, until="2000-01-01T00:00:00Z")["entries"]
    ids = [e["id"] for e in everything]
    assert len(ids) > 8 and ids == sorted(ids, reverse=True)
    assert seen == ids
    assert [e["id"] for e in newer] == sorted(ids[:2])
    assert len(filtered["entries"]) == 3
    assert none == []


def test_the_audit_needs_the_admin_token(tmp_path):
    with running_host(tmp_path / "data", admin_token=TOKEN) as client:
        assert client.get("/api/v1/audit").status_code == 401
        assert client.get("/api/v1/audit",
                          headers={"Authorization": "Bearer x"}).status_code == 403
        page = client.get("/audit", follow_redirects=False)  # the UI page: log in first
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_the_retention_job_deletes_old_rows_and_records_itself(tmp_path, db_url):
    db = Database(db_url)
    trail = AuditTrail(db)
    try:
        trail.record(Actor.plugin("old"), AuditAction.CHAT_BOT_POST, plugin="old")
        trail.record(Actor.plugin("new"), AuditAction.CHAT_BOT_POST, plugin="new")
        assert trail.prune(0) == 0  # 0: keep forever
        later = datetime.now(timezone.utc) + timedelta(days=30, seconds=5)
        with db.engine.begin() as conn:  # the test dates one row later; the host never would
            conn.execute(sa.update(audit_log).where(audit_log.c.plugin == "new")
                         .values(at=later - timedelta(days=1)))
        assert trail.prune(30, now=later) == 1
        entries = trail.query(AuditQuery()).entries
    finally:
        trail.close()
        db.dispose()
    assert [e.plugin for e in entries if e.action == "chat.bot_post"] == ["new"]
    [pruned] = [e for e in entries if e.action == "audit.pruned"]
    assert str(pruned.actor) == "host:local"
    assert pruned.details["deleted"] == 1 and pruned.details["retention_days"] == 30


def test_nothing_but_the_retention_job_updates_or_deletes_audit_rows():
    """Append-only by construction: the source names the audit table in an UPDATE or
    DELETE in exactly one place, the retention job."""
    src = Path(__file__).resolve().parents[1] / "src" / "plexichat"
    found = []
    for path in src.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"sa\.(update|delete)\(\s*audit_log|"
                                 r"(UPDATE|DELETE FROM)\s+plexichat_audit\b", text):
            found.append((path.name, match.group(0)))
    assert found == [("audit.py", "sa.delete(audit_log")]


def test_webhook_subscriptions_and_rescans_are_recorded_without_secrets(tmp_path):
    secret = "whsec_" + "A" * 40
    with running_host(tmp_path / "data", admin_token=TOKEN) as client:
        created = client.post("/api/v1/webhooks", headers=AUTH, json={
            "url": "https://example.com/hook?key=k3y", "events": ["*"],
            "secret": secret})
        assert created.status_code == 201, created.text
        sub = created.json()["id"]
        rotated = client.post(f"/api/v1/webhooks/{sub}/rotate-secret", headers=AUTH,
                              json={"secret": "whsec_" + "B" * 40})
        assert rotated.status_code == 200, rotated.text
        assert post(client, f"/api/v1/webhooks/{sub}/enable").status_code == 200
        assert client.delete(f"/api/v1/webhooks/{sub}", headers=AUTH).status_code == 204
        assert post(client, "/api/v1/plugins/rescan").status_code == 200
        raw = client.get("/api/v1/audit", headers=AUTH)
    for leaked in (secret, "B" * 40, "k3y"):
        assert leaked not in raw.text
    entries = {e["action"]: e for e in raw.json()["entries"]}
    for action in ("webhook.subscribe", "webhook.rotate_secret", "webhook.enable",
                   "webhook.unsubscribe"):
        assert entries[action]["actor"] == "admin:admin-token"
        assert entries[action]["target"] == f"webhook:{sub}"
        assert entries[action]["details"]["url"] == "https://example.com/hook"
    assert entries["plugins.rescan"]["details"]["added"] == []


EXPLODING = """
    from plexichat import hookimpl
    from plexichat.contributions import MiddlewareSpec

    def explode(request, call_next):
        raise RuntimeError("middleware on fire")

    @hookimpl
    def register_middleware():
        return MiddlewareSpec("api", explode)
"""


def test_a_quarantine_is_recorded_with_its_reason(site, tmp_path):
    make_healthy(site)
    make_plugin(site, "exploding", code=EXPLODING)
    with running_host(tmp_path / "data", "exploding", "healthy", admin_token=TOKEN,
                      fault_budget=2) as client:
        for _ in range(2):
            client.get("/api/v1/healthy")
        [entry] = audit(client, action="plugin.quarantined")["entries"]
    assert (entry["actor"], entry["plugin"]) == ("host:local", "exploding")
    assert "middleware on fire" in entry["details"]["reason"]
    assert entry["details"]["from"] == "started"


def test_the_cli_reads_the_database_when_no_host_runs(tuned, tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from plexichat.cli import main

    monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path / "data"))
    with running_host(tmp_path / "data", "tuned", "healthy", admin_token=TOKEN):
        pass  # a database with the started and stopped plugins
    runner = CliRunner()
    disabled = runner.invoke(main, ["plugins", "disable", "tuned"])
    assert disabled.exit_code == 0, disabled.output
    result = runner.invoke(main, ["audit", "--json", "--plugin", "tuned", "--limit", "2"])
    assert result.exit_code == 0, result.output
    page = json.loads(result.output)
    newest = page["entries"][0]
    assert newest["action"] == "plugin.disable"
    assert newest["actor_kind"] == "cli" and newest["source"] == ""
    older = runner.invoke(main, ["audit", "--json", "--plugin", "tuned",
                                 "--cursor", str(page["next_cursor"])])
    assert [e["action"] for e in json.loads(older.output)["entries"]] == [
        "plugin.started"]
    assert [e["action"] for e in page["entries"]] == ["plugin.disable", "plugin.stopped"]


def test_a_secret_saved_from_the_ui_form_is_masked_and_names_the_session(tuned, tmp_path):
    with running_host(tmp_path / "data", "tuned", "healthy", admin_token=TOKEN) as client:
        csrf = login(client)
        saved = client.post("/plugins/tuned/settings", data={
            "csrf_token": csrf, "setting.interval": "7", "setting.api_key": SECRET,
            "setting.password": ""})
        assert saved.status_code == 200 and "Settings saved." in saved.text
        raw = client.get("/api/v1/audit", params={"action": "plugin.settings"},
                         headers=AUTH)
        page = client.get("/audit")
    assert SECRET not in raw.text and SECRET not in page.text
    [entry] = raw.json()["entries"]
    assert entry["actor_kind"] == "ui" and entry["source"] == "testclient"
    assert entry["details"]["changes"]["api_key"] == {"from": "", "to": "********"}
    assert entry["details"]["changes"]["interval"] == {"from": 30, "to": 7}
    assert page.status_code == 200 and 'data-action="plugin.settings"' in page.text


def test_the_admin_changing_a_users_message_is_recorded(tmp_path):
    from support.chat import Chatter, chat_host

    with chat_host(tmp_path, "sqlite") as client:
        ada = Chatter(client, "ada")
        general = ada.create_channel("general")
        mine = ada.say(general, "my words")
        edited = client.patch(f"/api/v1/messages/{mine['id']}", json={"text": "theirs"},
                              headers=AUTH)
        assert edited.status_code == 200, edited.text
        assert client.delete(f"/api/v1/messages/{mine['id']}",
                             headers=AUTH).status_code == 204
        own = ada.say(general, "gone by my hand")
        assert client.delete(f"/api/v1/messages/{own['id']}",
                             headers=ada.headers).status_code == 204
        entries = audit(client, actor="admin")["entries"]
    changed = [(e["action"], e["target"]) for e in entries if e["action"].startswith("chat.")]
    assert changed == [("chat.message_delete", f"message:{mine['id']}"),
                       ("chat.message_edit", f"message:{mine['id']}")]
    assert entries[0]["details"] == {"channel_id": general, "author_id": ada.id}


def test_an_operator_start_and_stop_name_the_admin(tuned, tmp_path):
    with running_host(tmp_path / "data", "tuned", "healthy", admin_token=TOKEN) as client:
        assert post(client, "/api/v1/plugins/tuned/stop").status_code == 200
        assert post(client, "/api/v1/plugins/tuned/start").status_code == 200
        entries = audit(client, plugin="tuned")["entries"]
    for action, state in (("plugin.stop", "stopped"), ("plugin.start", "started")):
        [entry] = only(entries, action)
        assert entry["actor"] == "admin:admin-token"
        assert entry["details"]["state"] == state


def test_cursor_and_after_together_are_a_validation_error_of_the_documented_shape(tmp_path):
    with running_host(tmp_path / "data", admin_token=TOKEN) as client:
        response = client.get("/api/v1/audit", params={"cursor": 5, "after": 1},
                              headers=AUTH)
    assert response.status_code == 422
    [error] = response.json()["detail"]  # HTTPValidationError: a list, as for any 422
    assert error["loc"] == ["query", "after"]
    assert "not both" in error["msg"]
