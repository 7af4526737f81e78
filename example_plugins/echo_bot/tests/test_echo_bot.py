"""The echo bot: its commands alone, then in a real app with only this plugin loaded."""

from __future__ import annotations

import random
import re

import pytest
from plexichat_echo_bot import echo, roll

from plexichat.chat import CommandCall, Reject, User

FAST_HASHING = {"password_hash_time_cost": 1, "password_hash_memory_kib": 64}
TWO_DICE = re.compile(r"^🎲 2d6: (\d+) \+ (\d+) = (\d+)$")


def call(name, args):
    return CommandCall(name=name, args=args, user=User(id=1, name="ada"), channel_id=1,
                       text=f"/{name} {args}")


# --- the commands alone ---------------------------------------------------------------------


def test_echo_repeats_the_text():
    assert echo(call("echo", "hi there")) == "hi there"
    assert isinstance(echo(call("echo", "")), Reject)


def test_roll_shows_each_die_and_the_sum():
    reply = roll(call("roll", "2d6"), rng=random.Random(7))
    a, b, total = map(int, TWO_DICE.match(reply).groups())
    assert 1 <= a <= 6 and 1 <= b <= 6 and a + b == total


def test_one_die_needs_no_sum():
    assert re.match(r"^🎲 1d20: \d+$", roll(call("roll", "d20")))
    assert re.match(r"^🎲 1d20: \d+$", roll(call("roll", "1D20")))


@pytest.mark.parametrize("args", ["", "2", "d", "0d6", "101d6", "2d1", "2d1001", "2d6+1",
                                  "-1d6", "two dice", "9999999999d6"])
def test_nonsense_rolls_are_refused_with_the_usage(args):
    outcome = roll(call("roll", args))
    assert isinstance(outcome, Reject)
    assert outcome.reason.startswith("usage: /roll NdM")


def test_the_most_dice_allowed_roll():
    reply = roll(call("roll", "100d1000"))
    assert reply.startswith("🎲 100d1000: ") and reply.count(" + ") == 99


# --- in a running host ----------------------------------------------------------------------


@pytest.fixture
def client(plexichat_client):
    return plexichat_client(plugins=["echo_bot"], settings=FAST_HASHING)


@pytest.fixture
def ada(client):
    credentials = {"name": "ada", "password": "password-1"}
    assert client.post("/api/v1/users", json=credentials).status_code == 201
    token = client.post("/api/v1/users/login", json=credentials).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    channel = client.post("/api/v1/channels", json={"name": "general"}, headers=headers)
    return headers, channel.json()["id"]


def say(client, ada, text):
    headers, channel = ada
    return client.post(f"/api/v1/channels/{channel}/messages", json={"text": text},
                       headers=headers)


def test_echo_bot_registers_its_commands(client):
    info = client.plugin("echo_bot")
    assert info["state"] == "started", info["reason"]
    assert sorted(info["contributions"]["slash_commands"]) == ["/echo", "/roll"]


def test_echo_hi_yields_a_bot_reply(client, ada):
    response = say(client, ada, "/echo hi")
    assert response.status_code == 201
    [reply] = response.json()["replies"]
    assert (reply["author"], reply["text"]) == ("bot:echo_bot", "hi")
    headers, channel = ada
    page = client.get(f"/api/v1/channels/{channel}/messages", headers=headers).json()
    assert [(m["author"], m["text"]) for m in page["messages"]] == [
        ("ada", "/echo hi"), ("bot:echo_bot", "hi")]


def test_roll_2d6_yields_two_dice(client, ada):
    [reply] = say(client, ada, "/roll 2d6").json()["replies"]
    assert reply["author"] == "bot:echo_bot"
    a, b, total = map(int, TWO_DICE.match(reply["text"]).groups())
    assert 1 <= a <= 6 and 1 <= b <= 6 and a + b == total


def test_a_bad_roll_is_refused_and_nothing_stored(client, ada):
    response = say(client, ada, "/roll 1000d6")
    assert response.status_code == 400
    assert "usage: /roll NdM" in response.json()["detail"]
    headers, channel = ada
    page = client.get(f"/api/v1/channels/{channel}/messages", headers=headers).json()
    assert page["messages"] == []


def test_the_bot_user_cannot_log_in(client, ada):
    say(client, ada, "/echo hi")
    response = client.post("/api/v1/users/login",
                           json={"name": "bot:echo_bot", "password": "password-1"})
    assert response.status_code == 401
