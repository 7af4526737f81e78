"""Failed logins are slowed down per user name and per client address: after 5, every
attempt (the right password too) is answered 429 with Retry-After, for the chat login
and the admin UI's login form alike."""

from __future__ import annotations

import asyncio

import pytest
from support.api import TOKEN
from support.chat import Chatter, chat_host
from support.host import running_host

from plexichat.services.ephemeral import Ephemeral, MemoryEphemeral
from plexichat.services.login_throttle import NAMESPACE, LoginKeys, LoginThrottle


class Clock:
    """Settable monotonic seconds."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def _throttled(client, clock: Clock) -> LoginThrottle:
    throttle = LoginThrottle(MemoryEphemeral(clock=clock))
    client.app.state.login_throttle = throttle
    return throttle


def run(coroutine):
    return asyncio.run(coroutine)


# --- the throttle ---------------------------------------------------------------------------


def test_the_lock_out_doubles_with_each_further_failure(clock):
    throttle = LoginThrottle(MemoryEphemeral(clock=clock), max_failures=3, base_delay=2,
                             max_delay=10)
    keys = LoginKeys.of("chat", "Ada", "10.0.0.1")
    waits = []
    for _ in range(6):
        assert run(throttle.retry_after(keys)) is None
        run(throttle.failed(keys))
        waits.append(run(throttle.retry_after(keys)))
        clock.now += waits[-1] or 0
    assert waits == [None, None, 2, 4, 8, 10]


def test_success_resets_the_user_name_but_not_the_address(clock):
    throttle = LoginThrottle(MemoryEphemeral(clock=clock), max_failures=2)
    ada = LoginKeys.of("chat", "ada", "10.0.0.1")
    run(throttle.failed(ada))
    run(throttle.succeeded(ada))
    run(throttle.failed(ada))
    assert run(throttle.retry_after(ada)) is not None  # the address has failed twice
    assert run(throttle.retry_after(LoginKeys.of("chat", "ada", "10.0.0.2"))) is None


def test_the_counts_live_in_the_hosts_ephemeral_state(tmp_path):
    with chat_host(tmp_path, "sqlite") as client:
        Chatter(client, "ada", password="right-password")
        assert _login(client, "ada", "wrong-password").status_code == 401
        store = Ephemeral(client.app.state.host.services.ephemeral, NAMESPACE)
        assert run(store.get("chat:user:ada:failures")) == "1"


# --- the chat login -------------------------------------------------------------------------


def _login(client, name, password):
    return client.post("/api/v1/users/login", json={"name": name, "password": password})


def test_chat_logins_are_locked_out_after_five_failures(tmp_path, clock):
    with chat_host(tmp_path, "sqlite") as client:
        Chatter(client, "ada", password="right-password")
        _throttled(client, clock)
        for _ in range(5):
            assert _login(client, "ada", "wrong-password").status_code == 401
        refused = _login(client, "ADA", "right-password")  # the right one, any case
        assert refused.status_code == 429
        wait = int(refused.headers["retry-after"])
        assert wait == 2
        assert f"try again in {wait} s" in refused.json()["detail"]
        clock.now += wait - 0.5
        assert _login(client, "ada", "right-password").status_code == 429
        clock.now += 0.5
        assert _login(client, "ada", "right-password").status_code == 200
        # the success reset the name's count: one more failure does not lock it out...
        # but the address has failed 5 times within the window, so it is locked again
        assert _login(client, "ada", "wrong-password").status_code == 401
        assert _login(client, "ada", "right-password").status_code == 429


def test_one_address_guessing_many_names_is_locked_out(tmp_path, clock):
    with chat_host(tmp_path, "sqlite") as client:
        Chatter(client, "ada", password="right-password")
        _throttled(client, clock)
        for name in ("bob", "cy", "dee", "eve", "fay"):
            assert _login(client, name, "wrong-password").status_code == 401
        response = _login(client, "ada", "right-password")
        assert response.status_code == 429 and "retry-after" in response.headers


def test_failures_older_than_the_window_are_forgotten(tmp_path, clock):
    with chat_host(tmp_path, "sqlite") as client:
        Chatter(client, "ada", password="right-password")
        _throttled(client, clock)
        for _ in range(4):
            assert _login(client, "ada", "wrong-password").status_code == 401
        clock.now += 15 * 60
        assert _login(client, "ada", "wrong-password").status_code == 401
        assert _login(client, "ada", "right-password").status_code == 200


def test_the_login_route_declares_its_429(tmp_path):
    with chat_host(tmp_path, "sqlite") as client:
        spec = client.get("/api/openapi.json").json()
    assert "429" in spec["paths"]["/api/v1/users/login"]["post"]["responses"]


# --- the admin UI's login form --------------------------------------------------------------


def test_the_admin_ui_login_is_locked_out_after_five_failures(tmp_path, clock):
    with running_host(tmp_path / "data", admin_token=TOKEN) as client:
        _throttled(client, clock)
        for _ in range(5):
            response = client.post("/login", data={"token": "wrong", "next": "/plugins"},
                                   follow_redirects=False)
            assert response.status_code == 401
        refused = client.post("/login", data={"token": TOKEN, "next": "/plugins"},
                              follow_redirects=False)
        assert refused.status_code == 429
        assert "set-cookie" not in refused.headers
        wait = int(refused.headers["retry-after"])
        assert f"try again in {wait} s" in refused.text
        clock.now += wait
        accepted = client.post("/login", data={"token": TOKEN, "next": "/plugins"},
                               follow_redirects=False)
        assert accepted.status_code == 303


def test_the_number_of_failures_is_a_host_setting(tmp_path):
    with chat_host(tmp_path, "sqlite", login_max_failures=2) as client:
        Chatter(client, "ada", password="right-password")
        for _ in range(2):
            assert _login(client, "ada", "wrong-password").status_code == 401
        assert _login(client, "ada", "right-password").status_code == 429
