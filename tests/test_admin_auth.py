"""The admin token guarding the mutating plugin endpoints.

401 without a bearer token, 403 with a wrong one, success with the right one. When no
token is configured the host generates one on its first start, prints it once, and
keeps only a hash of it.
"""

from __future__ import annotations

import re

import pytest
from support.api import AUTH, TOKEN
from support.databases import BACKENDS, database_url
from support.host import make_healthy, running_host

ADMIN_CALLS = [
    ("POST", "/api/v1/plugins/healthy/enable", None),
    ("POST", "/api/v1/plugins/healthy/disable", None),
    ("PUT", "/api/v1/plugins/healthy/settings", {}),
    ("GET", "/api/v1/plugins/healthy/settings", None),
    ("POST", "/api/v1/plugins/healthy/self-test", None),
]
IDS = [f"{method} {path.rsplit('/', 1)[1]}" for method, path, _ in ADMIN_CALLS]

PRINTED = re.compile(r"PlexiChat admin token \(shown once, store it now\): (\S+)")


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def no_env_token(monkeypatch):
    monkeypatch.delenv("PLEXICHAT_ADMIN_TOKEN", raising=False)


def call(client, method, path, body, headers=None):
    return client.request(method, path, json=body, headers=headers or {})


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS, ids=IDS)
def test_admin_endpoint_without_token_is_401(site, data_dir, method, path, body):
    make_healthy(site)
    with running_host(data_dir, "healthy", admin_token=TOKEN) as client:
        response = call(client, method, path, body)
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert client.get("/api/v1/healthy").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS, ids=IDS)
def test_admin_endpoint_with_wrong_token_is_403(site, data_dir, method, path, body):
    make_healthy(site)
    with running_host(data_dir, "healthy", admin_token=TOKEN) as client:
        response = call(client, method, path, body, {"Authorization": "Bearer not-it"})
        assert response.status_code == 403, response.text
        assert client.get("/api/v1/healthy").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS, ids=IDS)
def test_admin_endpoint_with_right_token_succeeds(site, data_dir, method, path, body):
    make_healthy(site)
    with running_host(data_dir, "healthy", admin_token=TOKEN) as client:
        response = call(client, method, path, body, AUTH)
        assert 200 <= response.status_code < 300, response.text


def test_non_bearer_authorization_is_401(site, data_dir):
    make_healthy(site)
    with running_host(data_dir, "healthy", admin_token=TOKEN) as client:
        response = client.post("/api/v1/plugins/healthy/disable",
                               headers={"Authorization": f"Basic {TOKEN}"})
        assert response.status_code == 401
        assert client.get("/api/v1/healthy").status_code == 200


def test_reading_endpoints_need_no_token(site, data_dir):
    make_healthy(site)
    with running_host(data_dir, "healthy", admin_token=TOKEN) as client:
        assert client.get("/api/v1/plugins").status_code == 200
        assert client.get("/api/v1/plugins/healthy").status_code == 200
        assert client.get("/api/v1/plugins/healthy/health").status_code == 200


# --- a generated token -----------------------------------------------------------------


def printed_tokens(text: str) -> list[str]:
    return PRINTED.findall(text)


def test_first_start_without_token_prints_one(site, data_dir, no_env_token, capfd):
    make_healthy(site)
    with running_host(data_dir, "healthy"):
        pass
    tokens = printed_tokens(capfd.readouterr().err)
    assert len(tokens) == 1
    assert len(tokens[0]) >= 20


def test_generated_token_authorises_admin_calls(site, data_dir, no_env_token, capfd):
    make_healthy(site)
    with running_host(data_dir, "healthy") as client:
        [token] = printed_tokens(capfd.readouterr().err)
        response = client.post("/api/v1/plugins/healthy/disable",
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        wrong = client.post("/api/v1/plugins/healthy/enable",
                            headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 403


def test_generated_token_is_stored_only_as_a_hash(site, data_dir, no_env_token, capfd):
    make_healthy(site)
    with running_host(data_dir, "healthy"):
        pass
    [token] = printed_tokens(capfd.readouterr().err)
    stored = b"".join(p.read_bytes() for p in data_dir.rglob("*.db*"))
    assert stored, "the host database was not found under the data directory"
    assert token.encode() not in stored


def test_restart_prints_no_new_token_and_keeps_the_old_one(site, data_dir, no_env_token,
                                                           capfd):
    make_healthy(site)
    with running_host(data_dir, "healthy"):
        pass
    [token] = printed_tokens(capfd.readouterr().err)
    with running_host(data_dir, "healthy") as client:
        assert printed_tokens(capfd.readouterr().err) == []
        response = client.post("/api/v1/plugins/healthy/self-test",
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text


def test_configured_token_is_never_printed(site, data_dir, capfd):
    make_healthy(site)
    with running_host(data_dir, "healthy", admin_token=TOKEN):
        pass
    err = capfd.readouterr().err
    assert printed_tokens(err) == []
    assert TOKEN not in err


@pytest.mark.parametrize("backend", BACKENDS)
def test_generated_token_hash_survives_a_restart_on_each_backend(site, data_dir, tmp_path,
                                                                no_env_token, capfd, backend):
    make_healthy(site)
    with database_url(backend, tmp_path) as url:
        with running_host(data_dir, "healthy", database_url=url):
            pass
        [token] = printed_tokens(capfd.readouterr().err)
        with running_host(data_dir, "healthy", database_url=url) as client:
            assert printed_tokens(capfd.readouterr().err) == []
            good = client.post("/api/v1/plugins/healthy/self-test",
                               headers={"Authorization": f"Bearer {token}"})
            bad = client.post("/api/v1/plugins/healthy/self-test",
                              headers={"Authorization": "Bearer guess"})
    assert good.status_code == 200
    assert bad.status_code == 403
