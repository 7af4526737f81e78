"""The install history, rollback and the hash-pinned lock, with real pip and real wheels
in throwaway environments (``PIP_NO_INDEX=1``, a local find-links directory):
``plexichat plugins history|rollback|lock`` as an operator runs them."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from support.wheels import Env, make_env, write_wheel

DEP = "plx-hist-dep"


@pytest.fixture(scope="module")
def links(tmp_path_factory) -> Path:
    """Plugin ``hist`` 1.0 and 2.0 (both needing a plain library), plugin ``fresh``, and
    a plain distribution requiring ``hist`` 2."""
    links = tmp_path_factory.mktemp("links")
    write_wheel(links, DEP, "1.0")
    write_wheel(links, "plx-hist", "1.0", requires=[f"{DEP}>=1"], plugin="hist")
    write_wheel(links, "plx-hist", "2.0", requires=[f"{DEP}>=1"], plugin="hist")
    write_wheel(links, "plx-fresh", "1.0", plugin="fresh")
    write_wheel(links, "plx-consumer", "1.0", requires=["plx-hist>=2"])
    return links


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def env(tmp_path, links) -> Env:
    return make_env(tmp_path / "venv", links)


def cli(env: Env, *args: str, **extra: str):
    return env.run("-m", "plexichat", "plugins", *args, env=extra, check=False)


def ok(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return str(result.stdout)


def installed(env: Env) -> dict[str, str]:
    out = {}
    for line in env.freeze().splitlines():
        name, _, version = line.partition("==")
        if name.startswith("plx-"):
            out[name] = version
    return out


def history(env: Env) -> list[dict]:
    """The recorded steps, each ``before`` limited to this test's distributions (the
    environment also sees the example plugins installed for the test run)."""
    steps = json.loads(ok(cli(env, "history", "--json")))
    for step in steps:
        step["before"] = [p for p in step["before"] if p["distribution"].startswith("plx-")]
    return steps


def test_upgrade_then_rollback_brings_the_earlier_version_back(env, links):
    ok(cli(env, "install", "plx-hist==1.0"))
    ok(cli(env, "upgrade", "hist"))
    assert installed(env)["plx-hist"] == "2.0"
    steps = history(env)
    assert [(s["step"], s["action"]) for s in steps] == [(1, "install"), (2, "upgrade")]
    assert steps[0]["before"] == []
    assert steps[0]["command"] == ["plexichat", "plugins", "install", "plx-hist==1.0"]
    [before] = steps[1]["before"]
    assert (before["distribution"], before["version"], before["plugins"]) == (
        "plx-hist", "1.0", ["hist"])
    assert before["sha256"] == [sha(links / "plx_hist-1.0-py3-none-any.whl")]

    out = ok(cli(env, "rollback"))
    assert "rolling back to the plugin set before step 2 (upgrade" in out
    assert "restored plx-hist==1.0" in out
    assert installed(env) == {"plx-hist": "1.0", DEP: "1.0"}
    steps = history(env)
    assert steps[-1]["action"] == "rollback" and steps[-1]["step"] == 3
    assert [(p["distribution"], p["version"]) for p in steps[-1]["before"]] == [
        ("plx-hist", "2.0")]
    table = ok(cli(env, "history"))
    assert "rollback" in table and "plx-hist 2.0" in table


def test_rolling_back_an_install_uninstalls_it(env):
    assert installed(env) == {}
    ok(cli(env, "install", "plx-fresh"))
    assert "plx-fresh" in installed(env)
    out = ok(cli(env, "rollback", "1"))
    assert "removed plx-fresh" in out
    assert installed(env) == {}
    assert "the plugin set is already the one before step 1" in ok(cli(env, "rollback", "1"))


def test_a_rollback_the_plan_refuses_changes_nothing_unless_forced(env):
    ok(cli(env, "install", "plx-hist==1.0"))
    ok(cli(env, "upgrade", "hist"))
    env.pip("install", "--quiet", "plx-consumer")  # requires plx-hist>=2
    frozen = env.freeze()
    refused = cli(env, "rollback")
    assert refused.returncode == 1
    assert ("plx-hist 1.0 would replace 2.0, but plx-consumer 1.0 requires plx-hist>=2"
            in refused.stderr), refused.stderr
    assert env.freeze() == frozen
    assert [s["action"] for s in history(env)] == ["install", "upgrade"]
    forced = cli(env, "rollback", "--force")
    assert "warning: --force: plx-hist 1.0 would replace 2.0" in forced.stderr
    assert installed(env)["plx-hist"] == "1.0"


def test_a_damaged_history_is_named_and_nothing_installs(env, tmp_path):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "plugin-history.jsonl").write_text('{"step": 1}\n')
    result = cli(env, "install", "plx-fresh", PLEXICHAT_DATA_DIR=str(data))
    assert result.returncode == 1
    assert f"{data / 'plugin-history.jsonl'}:1: not an install history entry" in result.stderr
    assert "plx-fresh" not in installed(env)


def test_the_lock_reproduces_the_plugin_set_in_a_fresh_environment(env, links, tmp_path):
    ok(cli(env, "install", "plx-hist==1.0", "plx-fresh"))
    lock = tmp_path / "plugins.lock"
    ok(cli(env, "lock", "-o", str(lock)))
    text = lock.read_text()
    assert f"plx-hist==1.0 \\\n    --hash=sha256:{sha(links / 'plx_hist-1.0-py3-none-any.whl')}" \
        in text, text
    assert f"{DEP}==1.0 \\\n    --hash=sha256:{sha(links / 'plx_hist_dep-1.0-py3-none-any.whl')}" \
        in text
    assert "plexichat==" not in text  # the host is the base, not part of the lock

    fresh = make_env(tmp_path / "fresh", links)
    fresh.pip("install", "--require-hashes", "--no-index", "--find-links", str(links),
              "-r", str(lock))
    assert installed(fresh) == installed(env) == {"plx-hist": "1.0", "plx-fresh": "1.0",
                                                  DEP: "1.0"}
    listed = json.loads(fresh.run("-m", "plexichat", "plugins", "list", "--json").stdout)
    assert {p["name"]: p["state"] for p in listed if p["name"] in ("hist", "fresh")} == {
        "hist": "available", "fresh": "available"}

    # a tampered wheel is refused by pip in the fresh environment
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for wheel in links.glob("*.whl"):
        if not wheel.name.startswith("plx_fresh"):
            shutil.copy2(wheel, tampered / wheel.name)
    write_wheel(tampered, "plx-fresh", "1.0", plugin="fresh", code="EVIL = True\n")
    other = make_env(tmp_path / "other", tampered)
    refused = other.run("-m", "pip", "install", "--require-hashes", "--no-index",
                        "--find-links", str(tampered), "-r", str(lock), check=False)
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stderr, refused.stderr


def test_the_lock_names_what_has_no_known_digest(env, tmp_path):
    ok(cli(env, "install", "plx-hist==1.0"))
    empty = tmp_path / "empty"
    empty.mkdir()
    lock = tmp_path / "plugins.lock"
    result = cli(env, "lock", "-o", str(lock), PIP_FIND_LINKS=str(empty))
    assert result.returncode == 1
    assert "not known offline" in result.stderr
    assert "plx-hist 1.0" in result.stderr
    assert f"{DEP} 1.0 (required by plx-hist)" in result.stderr, result.stderr
    assert not lock.exists()
    with_dir = cli(env, "lock", "--wheel-dir", str(env.find_links),
                   PIP_FIND_LINKS=str(empty))
    assert "plx-hist==1.0" in ok(with_dir)


def test_a_catalog_install_passes_the_digest_to_pip(env, links, tmp_path):
    wheel = links / "plx_fresh-1.0-py3-none-any.whl"
    entry = {"name": "fresh", "version": "1.0", "distribution": "plx-fresh",
             "url": str(wheel), "sha256": sha(wheel)}
    good = tmp_path / "good.json"
    good.write_text(json.dumps([entry]))
    ok(cli(env, "install", "fresh", "--catalog", str(good)))
    # pip recorded the digest it checked: the lock knows it with no wheel directory
    empty = tmp_path / "empty"
    empty.mkdir()
    assert f"--hash=sha256:{sha(wheel)}" in ok(cli(env, "lock", PIP_FIND_LINKS=str(empty)))
    ok(cli(env, "uninstall", "fresh"))

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**entry, "sha256": "0" * 64}]))
    before = env.freeze()
    # with the early check switched off, pip itself must refuse the wheel
    result = env.run("-c", "from plexichat.devkit.catalog import CatalogPick; "
                     "CatalogPick.verify = lambda self: None; "
                     "from plexichat.cli import main; "
                     f"main(['plugins', 'install', 'fresh', '--catalog', {str(bad)!r}])",
                     check=False)
    assert result.returncode == 1
    assert "DO NOT MATCH THE HASHES" in result.stderr, result.stderr
    assert env.freeze() == before
