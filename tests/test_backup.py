"""Backup and restore: create → wipe → restore loses nothing."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from support.dists import make_plugin

from plexichat.cli import main
from plexichat.config import HostSettings
from plexichat.host import PluginHost
from plexichat.kernel.states import PluginState

NOTES = '''
import sqlalchemy as sa
from plexichat import hookimpl
from plexichat.contributions import BackupHandler

STATE = {"memo": None}

def _table(context):
    return context.db.table("entries", sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("text", sa.String(100)))

@hookimpl
def register_db_models(context):
    return _table(context)

@hookimpl
def register_backup_handlers(context):
    def backup():
        return {"memo": STATE["memo"]}
    def restore(data):
        STATE["memo"] = data["memo"]
    return BackupHandler("memo", backup, restore)
'''

MANIFEST = {"name": "notes", "permissions": ["db:read", "db:write"],
            "settings_schema": {"type": "object",
                                "properties": {"title": {"type": "string", "default": "N"}}}}


def _run(coro):
    return asyncio.run(coro)


async def _started(data_dir):
    host = PluginHost(HostSettings(data_dir=data_dir, load_plugins="notes"))
    host.resolve()
    await host.start_all()
    assert host.records["notes"].state is PluginState.STARTED, host.records["notes"].reason
    return host


async def _stop(host):
    await host.stop_all()
    await host.tasks.stop_all()
    host.database.dispose()


@pytest.fixture
def notes(site):
    make_plugin(site, "notes", code=NOTES, manifest=MANIFEST)
    import plx_notes

    return plx_notes


def test_create_wipe_restore_round_trip(tmp_path, notes):
    data = tmp_path / "data"
    archive = tmp_path / "backup.zip"

    async def fill_and_back_up():
        host = await _started(data)
        ctx = host.records["notes"].context
        ctx.kv.set("counter", 41)
        await host.update_settings("notes", {"title": "Mine"})
        table = ctx.db.table("entries")
        with ctx.db.begin() as conn:
            conn.execute(table.insert(), [{"id": 1, "text": "one"}, {"id": 2, "text": "two"}])
        (ctx.data_dir / "attachment.txt").write_text("payload")
        host.store.grant("notes", ["ai:use"], by="operator")
        notes.STATE["memo"] = "remember me"
        steps = []
        report = await host.services.backup.create(archive, lambda s, d, t: steps.append(d))
        await _stop(host)
        return report, steps

    report, steps = _run(fill_and_back_up())
    assert report.tables["notes_entries"] == 2
    assert report.handlers == ["notes/memo"]
    assert steps == sorted(steps) and steps[-1] == len(steps)

    shutil.rmtree(data)
    notes.STATE["memo"] = None

    async def restore_and_read():
        host = await _started(data)
        assert host.records["notes"].context.kv.get("counter") is None  # really wiped
        restored = await host.services.backup.restore(archive)
        ctx = host.records["notes"].context
        with ctx.db.connect() as conn:
            rows = conn.execute(sa.select(ctx.db.table("entries").c.text)).scalars().all()
        result = {
            "kv": ctx.kv.get("counter"),
            "settings": host.current_settings("notes"),
            "rows": sorted(rows),
            "file": (ctx.data_dir / "attachment.txt").read_text(),
            "grants": host.store.grants("notes"),
            "memo": notes.STATE["memo"],
            "warnings": restored.warnings,
        }
        await _stop(host)
        return result

    result = _run(restore_and_read())
    assert result == {
        "kv": 41,
        "settings": {"title": "Mine"},
        "rows": ["one", "two"],
        "file": "payload",
        "grants": {"db:read", "db:write", "ai:use"},
        "memo": "remember me",
        "warnings": [],
    }


def test_restore_refuses_a_file_that_is_not_an_archive(tmp_path, notes):
    bogus = tmp_path / "bogus.zip"
    bogus.write_text("not a zip")

    async def attempt():
        host = await _started(tmp_path / "data")
        try:
            await host.services.backup.restore(bogus)
        finally:
            await _stop(host)

    with pytest.raises(Exception, match="not a PlexiChat backup archive"):
        _run(attempt())


def test_failed_backup_leaves_no_partial_archive(tmp_path, notes):
    archive = tmp_path / "out.zip"
    archive.write_text("previous archive")

    async def attempt():
        host = await _started(tmp_path / "data")
        handler = host.wiring.by_plugin["notes"].backup_handlers[0]
        object.__setattr__(handler, "backup", lambda: 1 / 0)
        try:
            await host.services.backup.create(archive)
        finally:
            await _stop(host)

    with pytest.raises(ZeroDivisionError):
        _run(attempt())
    assert archive.read_text() == "previous archive"
    assert not (tmp_path / "out.zip.partial").exists()


def test_excluded_directories_stay_out_of_the_archive(tmp_path, notes):
    data = tmp_path / "data"

    async def back_up():
        host = await _started(data)
        archives = data / "plugins" / "notes" / "archives"
        archives.mkdir(parents=True)
        (archives / "older.zip").write_text("an earlier archive")
        (data / "plugins" / "notes" / "kept.txt").write_text("kept")
        try:
            return await host.services.backup.create(archives / "new.zip",
                                                      exclude=[archives])
        finally:
            await _stop(host)

    report = _run(back_up())
    names = __import__("zipfile").ZipFile(report.path).namelist()
    assert "files/plugins/notes/kept.txt" in names
    assert not [n for n in names if "archives" in n]


def test_cli_backup_create_and_restore(tmp_path, notes, monkeypatch):
    monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PLEXICHAT_LOAD_PLUGINS", "notes")
    runner = CliRunner()
    archive = tmp_path / "cli.zip"
    created = runner.invoke(main, ["backup", "create", str(archive), "--init"])
    assert created.exit_code == 0, created.output
    assert "wrote" in created.output
    header = json.loads(__import__("zipfile").ZipFile(archive).read("backup.json"))
    assert "notes_entries" in header["tables"]
    restored = runner.invoke(main, ["backup", "restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "restored" in restored.output
