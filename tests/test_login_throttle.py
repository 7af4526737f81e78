"""Failed logins are slowed down per user name and per client address: after 5, every
attempt (the right password too) is answered 429 with Retry-After, for the chat login
and the admin UI's login form alike."""

from __future__ import annotations

import pytest
from support.api import TOKEN
from support.chat import Chatter, chat_host
from support.host import running_host

from plexichat.services.counters import Count, MemoryCounters
from plexichat.services.login_throttle import LoginKeys, LoginThrottle


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
    throttle = LoginThrottle(MemoryCounters(clock=clock))
    client.app.state.login_throttle = throttle
    return throttle


# --- the counters and the throttle ---------------------------------------------------------


def test_memory_counters_count_expire_and_forget(clock):
    counters = MemoryCounters(clock=clock)
    assert counters.get("k") is None
    assert [counters.incr("k", 10) for _ in range(3)] == [1, 2, 3]
    clock.now += 4
    assert counters.get("k") == Count(value=3, expires_in=6)
    clock.now += 6
    assert counters.get("k") is None
    assert counters.incr("k", 10) == 1  # expired: starts afresh
    counters.delete("k")
    assert counters.get("k") is None


def test_memory_counters_stay_bounded_dropping_expired_then_oldest(clock):
    counters = MemoryCounters(limit=3, clock=clock)
    counters.incr("short", 1)
    counters.incr("a", 100)
    counters.incr("b", 100)
    clock.now += 2
    counters.incr("c", 100)  # full: the expired key goes
    assert (counters.get("short"), len(counters)) == (None, 3)
    counters.incr("d", 100)  # full, nothing expired: the oldest goes
    assert counters.get("a") is None
    assert all(counters.get(k) is not None for k in "bcd")


def test_the_lock_out_doubles_with_each_further_failure(clock):
    throttle = LoginThrottle(MemoryCounters(clock=clock), max_failures=3, base_delay=2,
                             max_delay=10)
    keys = LoginKeys.of("chat", "Ada", "10.0.0.1")
    waits = []
    for _ in range(6):
        assert throttle.retry_after(keys) is None
        throttle.failed(keys)
        waits.append(throttle.retry_after(keys))
        clock.now += waits[-1] or 0
    assert waits == [None, None, 2, 4, 8, 10]


def test_success_resets_the_user_name_but_not_the_address(clock):
    throttle = LoginThrottle(MemoryCounters(clock=clock), max_failures=2)
    ada = LoginKeys.of("chat", "ada", "10.0.0.1")
    throttle.failed(ada)
    throttle.succeeded(ada)
    throttle.failed(ada)
    assert throttle.retry_after(ada) is not None  # the address has failed twice
    assert throttle.retry_after(LoginKeys.of("chat", "ada", "10.0.0.2")) is None


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
