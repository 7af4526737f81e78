"""Files written whole (plexichat.kernel.files)."""

from __future__ import annotations

import stat

import pytest

from plexichat.kernel.files import write_atomically


def test_the_new_text_replaces_the_old_with_the_mode_asked_for(tmp_path):
    target = tmp_path / "sub" / "state.json"
    write_atomically(target, "old")
    write_atomically(target, "new", mode=0o600)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


@pytest.mark.parametrize("durable", [True, False])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path, durable):
    target = tmp_path / "state.json"
    write_atomically(target, "old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "half \udc80 written", durable=durable)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
