"""The shared ephemeral state in memory: values, counters, expiry, namespaces."""

from __future__ import annotations

import asyncio

import pytest

from plexichat.context import HostServices, PluginContext
from plexichat.services.ephemeral import Ephemeral, MemoryEphemeral


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(clock):
    return Ephemeral(MemoryEphemeral(clock=clock), "plugin:demo")


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_value_set_is_got_back_until_deleted(store):
    run(store.set("greeting", "hello"))
    assert run(store.get("greeting")) == "hello"
    assert run(store.delete("greeting")) is True
    assert run(store.get("greeting")) is None
    assert run(store.delete("greeting")) is False


def test_a_value_expires_after_its_ttl(store, clock):
    run(store.set("token", "x", ttl=10))
    clock.now += 9.9
    assert run(store.get("token")) == "x"
    assert run(store.ttl("token")) == pytest.approx(0.1)
    clock.now += 0.2
    assert run(store.get("token")) is None


def test_setting_again_replaces_the_value_and_its_ttl(store, clock):
    run(store.set("k", "old", ttl=5))
    run(store.set("k", "new"))
    clock.now += 100
    assert run(store.get("k")) == "new"
    assert (run(store.ttl("k")), run(store.ttl("absent"))) == (None, None)


def test_incr_counts_from_zero_and_takes_negative_amounts(store):
    assert run(store.incr("hits")) == 1
    assert run(store.incr("hits", 5)) == 6
    assert run(store.incr("hits", -2)) == 4
    assert run(store.get("hits")) == "4"


def test_the_ttl_of_a_counter_starts_when_it_is_created(store, clock):
    assert run(store.incr("window", ttl=60)) == 1
    clock.now += 50
    assert run(store.incr("window", ttl=60)) == 2  # does not push the expiry back
    clock.now += 10.5
    assert run(store.get("window")) is None
    assert run(store.incr("window", ttl=60)) == 1


def test_namespaces_do_not_see_each_others_keys(clock):
    backend = MemoryEphemeral(clock=clock)
    mine, theirs = Ephemeral(backend, "plugin:a"), Ephemeral(backend, "plugin:b")
    run(mine.set("k", "a's"))
    assert run(theirs.get("k")) is None
    assert run(backend.get("plugin:a:k")) == "a's"


def test_the_memory_store_keeps_at_most_its_limit_dropping_the_oldest(clock):
    backend = MemoryEphemeral(limit=2, clock=clock)
    for key in ("one", "two", "three"):
        run(backend.set(key, key))
    assert [run(backend.get(k)) for k in ("one", "two", "three")] == [None, "two", "three"]


def test_bad_keys_values_and_ttls_are_refused(store):
    with pytest.raises(ValueError):
        run(store.set("", "x"))
    with pytest.raises(TypeError):
        run(store.set("k", 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        run(store.set("k", "x", ttl=0))


def test_a_plugin_context_hands_out_its_own_namespace():
    services = HostServices()
    ada = PluginContext("ada", services=services)
    bob = PluginContext("bob", services=services)
    run(ada.ephemeral.set("seen", "yes"))
    assert run(ada.ephemeral.get("seen")) == "yes"
    assert run(bob.ephemeral.get("seen")) is None
    assert ada.service("ephemeral") is ada.ephemeral  # no permission needed
