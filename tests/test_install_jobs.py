"""The live install path step by step: ``POST /api/v1/plugins/install/plan`` (pip's dry
run only), ``POST /api/v1/plugins/install/jobs`` and ``GET .../install/jobs/{job_id}``
(an install followed while it runs: its phases, pip's output, then its answer), and the
phases ``plexichat plugins install`` shows, with real pip and real wheels in a throwaway
environment.

pip never reaches an index: ``PIP_NO_INDEX=1`` and a local find-links directory holding
a good plugin (``plx-job-good``, requiring ``plx-job-lib``), a fake ``rich`` 12.6.0 and a
plugin requiring ``rich<13`` (the host requires ``rich>=13.7``).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import time
from pathlib import Path

import pytest
from support.api import AUTH, TOKEN
from support.host import running_host
from support.wheels import Env, make_env, serve_in, write_wheel

import plexichat.web.install_runner
from plexichat.devkit.install_progress import PhaseTracker, phase_of

RICH_REFUSAL = (f"rich 12.6.0 would replace {md.version('rich')}, but plexichat "
                f"{md.version('plexichat')} requires rich>=13.7")


@pytest.fixture(scope="module")
def links(tmp_path_factory) -> Path:
    links = tmp_path_factory.mktemp("job-links")
    write_wheel(links, "plx-job-lib", "1.0")
    write_wheel(links, "plx-job-good", "1.0", requires=["plx-job-lib>=1"], plugin="job_good")
    write_wheel(links, "rich", "12.6.0")
    write_wheel(links, "plx-old-rich", "1.0", requires=["rich<13"], plugin="old_rich")
    return links


@pytest.fixture
def env(tmp_path, links) -> Env:
    return make_env(tmp_path / "venv", links)


@pytest.fixture
def host(env, tmp_path, monkeypatch):
    """A host whose installs run in ``env`` (pip confined to the find-links directory)."""
    monkeypatch.setattr(plexichat.web.install_runner, "job_command",
                        lambda: [str(env.python), "-m", "plexichat.devkit.install_job"])
    for key, value in env.environ().items():
        if key.startswith("PIP_"):
            monkeypatch.setenv(key, value)
    with running_host(tmp_path / "data", admin_token=TOKEN) as client:
        yield client


def wait_for(client, job_id: str, within: float = 120.0) -> dict:
    """Poll the job until it is over; return its last view."""
    deadline = time.monotonic() + within
    while True:
        response = client.get(f"/api/v1/plugins/install/jobs/{job_id}", headers=AUTH)
        assert response.status_code == 200, response.text
        view = response.json()
        if view["state"] != "running":
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.1)


def test_the_plan_names_the_conflict_and_installs_nothing(host, env):
    before = env.freeze()
    response = host.post("/api/v1/plugins/install/plan", headers=AUTH,
                         json={"specs": ["plx-old-rich"]})
    assert response.status_code == 200, response.text
    plan = response.json()["plan"]
    assert plan["ok"] is False
    assert {(c["distribution"], c["change"], c["version"]) for c in plan["changes"]} == {
        ("rich", "downgraded", "12.6.0"), ("plx-old-rich", "new", "1.0")}
    assert RICH_REFUSAL in [c["message"] for c in plan["conflicts"]]
    assert env.freeze() == before


def test_the_plan_of_a_good_plugin_lists_it_and_its_dependency(host, env):
    response = host.post("/api/v1/plugins/install/plan", headers=AUTH,
                         json={"specs": ["plx-job-good"]})
    assert response.status_code == 200, response.text
    plan = response.json()["plan"]
    assert plan == {"ok": True, "conflicts": [], "blocked": [], "changes": [
        {"distribution": "plx-job-good", "version": "1.0", "change": "new",
         "previous": None, "requested": True},
        {"distribution": "plx-job-lib", "version": "1.0", "change": "new",
         "previous": None, "requested": False}]}
    assert "plx-job-good" not in env.freeze()


def test_a_plan_pip_cannot_resolve_is_422(host):
    response = host.post("/api/v1/plugins/install/plan", headers=AUTH,
                         json={"specs": ["plx-not-in-the-links"]})
    assert response.status_code == 422, response.text
    assert "pip cannot resolve this install" in response.json()["detail"]


def test_a_job_reports_its_phases_then_the_started_plugin(env, tmp_path):
    """In a served host running in the environment pip installs into."""
    with serve_in(env, tmp_path / "served", {"PLEXICHAT_ADMIN_TOKEN": TOKEN}) as served, \
            served.client() as host:
        installed_and_started(host, env)


def installed_and_started(host, env) -> None:
    started = host.post("/api/v1/plugins/install/jobs", headers=AUTH,
                        json={"specs": ["plx-job-good"]})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["state"] == "running" and job["result"] is None
    view = wait_for(host, job["id"])
    assert view["state"] == "succeeded", view
    assert [p["phase"] for p in view["phases"]] == ["resolve", "download", "install",
                                                    "start"]
    times = [p["at"] for p in view["phases"]]
    assert times == sorted(times)
    assert any(line.startswith("Successfully installed") for line in view["log"])
    assert view["result"]["problems"] == []
    assert view["result"]["rescan"]["started"] == ["job_good"]
    assert view["detail"] is None and view["refusal"] is None
    assert host.get("/api/v1/plugins/job_good").json()["state"] == "started"
    assert "plx-job-good==1.0" in env.freeze()


def test_a_job_breaking_the_host_is_refused_with_the_conflict(host, env):
    before = env.freeze()
    job = host.post("/api/v1/plugins/install/jobs", headers=AUTH,
                    json={"specs": ["plx-old-rich"]}).json()
    view = wait_for(host, job["id"])
    assert view["state"] == "refused", view
    assert [p["phase"] for p in view["phases"]] == ["resolve"]
    assert RICH_REFUSAL in [c["message"] for c in view["refusal"]["conflicts"]]
    assert "rich 12.6.0 would replace" in view["detail"] and "force: true" in view["detail"]
    assert view["result"] is None
    assert env.freeze() == before


def test_one_install_at_a_time(host):
    first = host.post("/api/v1/plugins/install/jobs", headers=AUTH,
                      json={"specs": ["plx-job-good"]}).json()
    second = host.post("/api/v1/plugins/install/jobs", headers=AUTH,
                       json={"specs": ["plx-job-good"]})
    assert second.status_code == 409, second.text
    assert second.json()["job"] == first["id"]
    waiting = host.post("/api/v1/plugins/install", headers=AUTH,
                        json={"specs": ["plx-job-good"]})
    assert waiting.status_code == 409, waiting.text
    assert waiting.json() == {"detail": f"another install is running: job {first['id']}",
                              "job": first["id"]}
    wait_for(host, first["id"])


def test_unknown_and_malformed_job_ids(host):
    missing = host.get("/api/v1/plugins/install/jobs/" + "0" * 32, headers=AUTH)
    assert missing.status_code == 404
    malformed = host.get("/api/v1/plugins/install/jobs/not-a-job", headers=AUTH)
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["path", "job_id"]
    assert host.get("/api/v1/plugins/install/jobs/" + "0" * 32).status_code == 401


def test_the_cli_shows_the_phases_and_keeps_json_clean(env):
    result = env.run("-m", "plexichat", "plugins", "install", "plx-job-good", "--json",
                     check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    plan = json.loads(result.stdout)  # nothing but the plan on stdout
    assert plan["ok"] is True
    phases = [line.split()[1] for line in result.stderr.splitlines()
              if line.startswith("phase: ")]
    assert phases == ["resolve", "download", "install"], result.stderr


def test_phases_follow_pip_and_only_move_forward():
    assert phase_of("Looking in links: /tmp/links") == "download"
    assert phase_of("Processing /tmp/links/a-1.0-py3-none-any.whl") == "download"
    assert phase_of("  Building wheel for a (pyproject.toml): started") == "build"
    assert phase_of("Installing collected packages: a") == "install"
    assert phase_of("Requirement already satisfied: b") is None
    seen: list[str] = []
    tracker = PhaseTracker(seen.append)
    for line in ["Collecting a", "Preparing metadata (pyproject.toml): started",
                 "Collecting b", "Installing collected packages: a, b"]:
        tracker.feed(line)
    assert seen == ["download", "build", "install"]
    with pytest.raises(ValueError, match="not an install phase"):
        tracker.enter("deploy")
