"""Discovery: entry points become candidates without importing a line of plugin code."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from support.dists import backdate, make_plugin

from plexichat.kernel import discovery
from plexichat.kernel.discovery import discover, index_path
from plexichat.listing import static_listing


def by_name(candidates):
    out = {}
    for c in candidates:
        out.setdefault(c.name, []).append(c)
    return out


@pytest.fixture
def scans(monkeypatch):
    """Count the manifests discovery reads and validates."""
    seen: list[str] = []
    real = discovery._candidate

    def counting(ep):
        seen.append(ep.name)
        return real(ep)

    monkeypatch.setattr(discovery, "_candidate", counting)
    return seen


# --- never imports ---------------------------------------------------------------------


def test_plugin_raising_at_import_is_listed_available(site):
    make_plugin(site, "boom", code="raise RuntimeError('imported!')")
    [item] = [i for i in static_listing() if i.name == "boom"]
    assert (item.state, item.reason) == ("available", "")
    assert "plx_boom" not in sys.modules


def test_discovery_runs_no_plugin_code(site, tmp_path):
    marker = tmp_path / "imported"
    make_plugin(site, "sneaky", code=f"open({str(marker)!r}, 'w').close()")
    [c] = by_name(discover())["sneaky"]
    assert c.problems == []
    assert not marker.exists()
    assert "plx_sneaky" not in sys.modules


def test_entry_point_name_is_the_plugin_name(site):
    make_plugin(site, "named", manifest=None, package="plx_some_package",
                distribution="plx-some-dist", entry_point="plx_some_package:Plugin")
    [c] = by_name(discover())["named"]
    assert (c.distribution, c.entry_point, c.module) == (
        "plx-some-dist", "plx_some_package:Plugin", "plx_some_package")


def test_manifest_is_found_without_a_record_file(site):
    make_plugin(site, "norecord", manifest={"name": "norecord", "type": "theme"})
    (site / "plx_norecord-1.0.0.dist-info" / "RECORD").unlink()
    [c] = by_name(discover())["norecord"]
    assert c.manifest.type.value == "theme"
    assert c.manifest_file == str(site / "plx_norecord" / "plugin.json")
    assert "plx_norecord" not in sys.modules


# --- duplicate names -------------------------------------------------------------------


def test_duplicate_plugin_name_rejects_both_distributions(site):
    make_plugin(site, "dup", package="plx_dup_one", distribution="plx-dup-one")
    make_plugin(site, "dup", package="plx_dup_two", distribution="plx-dup-two")
    claims = [i for i in static_listing() if i.name == "dup"]
    assert sorted(i.distribution for i in claims) == ["plx-dup-one", "plx-dup-two"]
    for item in claims:
        assert item.state == "rejected"
        assert "plx-dup-one 1.0.0" in item.reason and "plx-dup-two 1.0.0" in item.reason


def test_duplicate_name_does_not_affect_other_plugins(site):
    make_plugin(site, "dup", package="plx_dup_one", distribution="plx-dup-one")
    make_plugin(site, "dup", package="plx_dup_two", distribution="plx-dup-two")
    make_plugin(site, "fine")
    [fine] = [i for i in static_listing() if i.name == "fine"]
    assert fine.state == "available"


# --- the index -------------------------------------------------------------------------


def test_second_discovery_reuses_the_index(site, scans):
    make_plugin(site, "one")
    make_plugin(site, "two")
    first = discover()
    assert {"one", "two"} <= set(scans)
    assert index_path().is_file()
    scans.clear()
    second = discover()
    assert scans == []
    assert [(c.name, c.manifest) for c in second] == [(c.name, c.manifest) for c in first]


def test_index_keeps_rejections_and_warnings(site, scans):
    make_plugin(site, "bad", manifest={"name": "bad", "type": "gadget"})
    make_plugin(site, "warned", manifest={"name": "warned", "version": "9"})
    first = by_name(discover())
    scans.clear()
    second = by_name(discover())
    assert scans == []
    assert second["bad"][0].problems == first["bad"][0].problems != []
    assert second["warned"][0].warnings == first["warned"][0].warnings != []


def test_index_is_bypassed_when_disabled(site, scans, monkeypatch):
    make_plugin(site, "one")
    discover()
    monkeypatch.setenv("PLEXICHAT_DISCOVERY_INDEX", "0")
    scans.clear()
    discover()
    assert "one" in scans


def test_adding_a_plugin_invalidates_the_index(site):
    make_plugin(site, "one")
    backdate(site)
    assert "late" not in by_name(discover())
    make_plugin(site, "late")
    assert "late" in by_name(discover())


def test_removing_a_plugin_invalidates_the_index(site):
    make_plugin(site, "one")
    make_plugin(site, "gone")
    backdate(site)
    assert "gone" in by_name(discover())
    shutil.rmtree(site / "plx_gone-1.0.0.dist-info")
    shutil.rmtree(site / "plx_gone")
    assert "gone" not in by_name(discover())


def test_changing_plugin_json_invalidates_the_index(site):
    pkg = make_plugin(site, "edited", manifest={"name": "edited", "type": "feature"})
    backdate(site)
    assert by_name(discover())["edited"][0].manifest.type.value == "feature"
    (pkg / "plugin.json").write_text(json.dumps({"name": "edited", "type": "theme"}))
    assert by_name(discover())["edited"][0].manifest.type.value == "theme"


def test_removing_plugin_json_invalidates_the_index(site):
    pkg = make_plugin(site, "shrunk", manifest={"name": "shrunk", "type": "theme"})
    backdate(site)
    assert by_name(discover())["shrunk"][0].manifest.type.value == "theme"
    (pkg / "plugin.json").unlink()
    c = by_name(discover())["shrunk"][0]
    assert (c.manifest_file, c.manifest.type.value) == (None, "feature")


def test_adding_plugin_json_invalidates_the_index(site):
    pkg = make_plugin(site, "later", manifest=None)
    backdate(site)
    assert by_name(discover())["later"][0].manifest_file is None
    (pkg / "plugin.json").write_text(json.dumps({"name": "later", "type": "theme"}))
    assert by_name(discover())["later"][0].manifest.type.value == "theme"


def test_changing_entry_points_invalidates_the_index(site):
    make_plugin(site, "renamed")
    backdate(site)
    assert "renamed" in by_name(discover())
    (site / "plx_renamed-1.0.0.dist-info" / "entry_points.txt").write_text(
        "[plexichat.plugins]\nnew_name = plx_renamed\n"
    )
    found = by_name(discover())
    assert "renamed" not in found
    assert "new_name" in found


def test_corrupt_index_is_ignored(site):
    make_plugin(site, "one")
    discover()
    index_path().write_text("{not json")
    assert "one" in by_name(discover())


def test_an_index_of_another_format_is_not_read(site, scans):
    make_plugin(site, "one")
    first = discover()
    data = json.loads(index_path().read_text(encoding="utf-8"))
    data["format"] = 1  # the format that stored manifests as plain dicts
    index_path().write_text(json.dumps(data), encoding="utf-8")
    scans.clear()
    again = discover()
    assert "one" in scans
    assert [(c.name, c.manifest) for c in again] == [(c.name, c.manifest) for c in first]


def test_the_index_rebuilds_typed_manifests(site, scans):
    from plexichat.manifest import PluginManifest, PluginType, UIPage

    make_plugin(site, "paged", manifest={"name": "paged", "type": "theme", "ui_pages": [
        {"name": "d", "path": "ui/d", "title": "D"}]})
    discover()
    scans.clear()
    [c] = by_name(discover())["paged"]
    assert scans == []
    assert isinstance(c.manifest, PluginManifest) and c.manifest.type is PluginType.THEME
    assert c.manifest.ui_pages == [UIPage(name="d", path="ui/d", title="D")]
