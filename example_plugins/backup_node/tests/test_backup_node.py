"""The backup node: its archive directory alone, then backing up a real app with only
this plugin loaded, on demand and on a schedule."""

from __future__ import annotations

import json
import time
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from plexichat_backup_node import ARCHIVE_NAME, ArchiveDirectory, BackupNode

NAME = "backup_node"
API = "/api/v1/backup-node/archives"


def wait_for(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# --- the archive directory alone ------------------------------------------------------------


def test_archives_are_named_by_time_and_pruned_oldest_first(tmp_path):
    archives = ArchiveDirectory(tmp_path, keep=2)
    start = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    made = []
    for minutes in range(4):
        path = archives.new_path(start + timedelta(minutes=minutes))
        path.write_bytes(b"zip")
        made.append(path.name)
    (tmp_path / "notes.txt").write_text("not an archive")
    (tmp_path / "plexichat-backup-old.zip").write_text("not one of ours either")

    assert made[0] == "plexichat-backup-20240501T120000000000Z.zip"
    assert [a.name for a in archives.archives()] == made
    assert archives.archives()[0].created == start
    assert archives.prune() == made[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*made[2:], "notes.txt", "plexichat-backup-old.zip"])
    assert archives.prune() == []


def test_a_name_already_taken_is_never_reused(tmp_path):
    archives = ArchiveDirectory(tmp_path, keep=5)
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    first = archives.new_path(now)
    first.write_bytes(b"zip")
    second = archives.new_path(now)
    assert second != first and ARCHIVE_NAME.match(second.name)
    assert archives.get("../etc/passwd") is None
    assert archives.get(first.name).path == first


def test_the_directory_setting_is_relative_to_the_plugins_data(plugin_context, tmp_path):
    node = BackupNode(plugin_context(NAME))
    assert node.directory == node.context.data_dir / "archives"
    assert (node.keep, node.interval_minutes) == (7, 0)
    node = BackupNode(plugin_context(NAME, config={"directory": str(tmp_path / "elsewhere"),
                                                   "keep": 3}))
    assert node.directory == tmp_path / "elsewhere"
    assert node.keep == 3


# --- backing up a running host --------------------------------------------------------------


@pytest.fixture
def client(plexichat_client):
    return plexichat_client(plugins=[NAME], admin=True)


def configure(client, **settings):
    response = client.put(f"/api/v1/plugins/{NAME}/settings", json=settings)
    assert response.status_code == 200, response.text


def test_backup_node_is_a_started_storage_node(client):
    info = client.plugin(NAME)
    assert info["state"] == "started", info["reason"]
    assert info["type"] == "storage_node"
    assert info["permissions_granted"] == ["backup:run"]
    assert info["contributions"]["services"] == ["backup_target"]
    assert info["contributions"]["background_tasks"] == ["scheduled_backup"]
    assert info["warnings"] == []


def test_a_backup_now_writes_a_host_archive(client):
    response = client.post(API)
    assert response.status_code == 201, response.text
    result = response.json()
    directory = client.host.settings.data_dir / "plugins" / NAME / "archives"
    assert result["directory"] == str(directory)
    assert result["removed"] == []
    path = directory / result["archive"]["name"]
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("backup.json"))
        names = archive.namelist()
    assert header["format"] == 1
    assert header["tables"] and f"db/{sorted(header['tables'])[0]}.json" in names
    assert not [n for n in names if "archives/" in n]  # archives are not archived again

    listing = client.get(API).json()
    assert [a["name"] for a in listing["archives"]] == [path.name]
    download = client.get(f"{API}/{path.name}")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert download.content == path.read_bytes()
    assert client.get(f"{API}/nothing.zip").status_code == 404


def test_retention_keeps_the_newest(client, tmp_path):
    configure(client, directory=str(tmp_path / "backups"), keep=2)
    names = [client.post(API).json()["archive"]["name"] for _ in range(3)]
    listing = client.get(API).json()
    assert listing["directory"] == str(tmp_path / "backups")
    assert [a["name"] for a in listing["archives"]] == [names[2], names[1]]
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == sorted(names[1:])
    assert client.post(API).json()["removed"] == [names[1]]


def test_a_scheduled_backup_runs_with_retention(client, tmp_path):
    node = client.host.services.extra["backup_target"]
    assert client.get(API).json()["next_run"] is None  # 0: off
    settings = {"directory": str(tmp_path / "scheduled"), "keep": 2}
    configure(client, **settings, interval_minutes=0.002)  # every 0.12 s
    wait_for(lambda: node.scheduled_runs >= 3, what="three scheduled backups")
    configure(client, **settings, interval_minutes=0)
    status = client.get(API).json()
    assert status["last_error"] == ""
    assert status["last_run"]["reason"] == "scheduled"
    assert len(status["archives"]) == 2
    assert len(list((tmp_path / "scheduled").glob("plexichat-backup-*.zip"))) == 2
    wait_for(lambda: client.get(API).json()["next_run"] is None, what="the schedule to stop")
    health = client.get(f"/api/v1/plugins/{NAME}/health").json()
    assert health["healthy"] is True, health


def test_the_api_needs_the_admin_token(plexichat_client):
    client = plexichat_client(plugins=[NAME])
    assert client.get(API).status_code == 401
    assert client.post(API).status_code == 401
    assert client.post(API, headers={"Authorization": "Bearer wrong"}).status_code == 403


USER = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    @hookimpl
    def register_routers(context):
        router = APIRouter()

        @router.post("/api/v1/nightly")
        async def nightly():
            target = context.service("backup_target")
            return await target.create(reason="nightly")

        return router
"""


def test_other_plugins_reach_it_as_the_backup_target_service(plexichat_client,
                                                            plexichat_make_plugin):
    plexichat_make_plugin("nightly", code=USER)
    client = plexichat_client(plugins=[NAME, "nightly"], admin=True)
    assert isinstance(client.host.services.extra["backup_target"], BackupNode)
    result = client.post("/api/v1/nightly").json()
    assert result["reason"] == "nightly"
    assert client.get(API).json()["last_run"]["archive"] == result["archive"]


def test_the_self_test_passes(client):
    result = client.post(f"/api/v1/plugins/{NAME}/self-test").json()
    assert result["passed"], result
