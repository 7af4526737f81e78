"""The moderation plugin: its filter and rate limiter alone, then in a real app with only
this plugin loaded."""

from __future__ import annotations

import asyncio

import pytest
from plexichat_moderation import RateLimiter, moderate

from plexichat.chat import Reject

FAST_HASHING = {"password_hash_time_cost": 1, "password_hash_memory_kib": 64}


# --- the filter and the limiter alone -------------------------------------------------------


def test_blocked_words_are_masked_as_whole_words_in_any_case():
    settings = {"blocked_words": ["heck", "dang it"], "action": "mask"}
    assert moderate("Heck! what the HECK, dang it", settings) == "****! what the ****, *******"
    assert moderate("checking the heckle", settings) is None


def test_reject_names_the_blocked_words():
    outcome = moderate("heck and HECK", {"blocked_words": ["heck"], "action": "reject"})
    assert isinstance(outcome, Reject)
    assert outcome.reason == "the message contains blocked words: heck"


def test_no_blocked_words_lets_everything_pass():
    assert moderate("anything", {"blocked_words": [], "action": "reject"}) is None


def test_the_rate_limiter_allows_a_sliding_minute():
    now = [0.0]
    limiter = RateLimiter(window=60, clock=lambda: now[0])
    hit = lambda key, limit: asyncio.run(limiter.hit(key, limit))  # noqa: E731
    assert hit("ada", 2) is None
    now[0] = 30
    assert hit("ada", 2) is None
    assert hit("ada", 2) == pytest.approx(30)
    assert hit("bob", 2) is None  # per key
    now[0] = 60.5
    assert hit("ada", 2) is None  # the first hit left the window


# --- in a running host ----------------------------------------------------------------------


@pytest.fixture
def client(plexichat_client):
    return plexichat_client(plugins=["moderation"], settings=FAST_HASHING)


def configure(client, **settings):
    response = client.put("/api/v1/plugins/moderation/settings", json=settings,
                          headers=client.admin_headers)
    assert response.status_code == 200, response.text


def user(client, name):
    """Register and log in ``name``; its auth headers."""
    credentials = {"name": name, "password": "password-1"}
    assert client.post("/api/v1/users", json=credentials).status_code == 201
    token = client.post("/api/v1/users/login", json=credentials).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ada(client):
    headers = user(client, "ada")
    channel = client.post("/api/v1/channels", json={"name": "general"}, headers=headers)
    return headers, channel.json()["id"]


def texts(client, headers, channel):
    page = client.get(f"/api/v1/channels/{channel}/messages", headers=headers).json()
    return [m["text"] for m in page["messages"]]


def test_moderation_starts_as_an_essential_security_node(client):
    info = client.plugin("moderation")
    assert info["state"] == "started", info["reason"]
    assert info["type"] == "security_node"
    assert info["manifest"]["essential_hooks"] == ["message_will_post", "message_will_update"]
    assert "chat:read" in info["permissions_granted"]
    assert info["contributions"]["middleware"] == ["api:rate_limit"]


def test_defaults_let_messages_through(client, ada):
    headers, channel = ada
    response = client.post(f"/api/v1/channels/{channel}/messages", json={"text": "heck"},
                           headers=headers)
    assert response.status_code == 201
    assert response.json()["text"] == "heck"


def test_mask_stores_and_answers_the_masked_text(client, ada):
    headers, channel = ada
    configure(client, blocked_words=["heck"], action="mask")
    response = client.post(f"/api/v1/channels/{channel}/messages",
                           json={"text": "what the heck"}, headers=headers)
    assert response.status_code == 201
    assert response.json()["text"] == "what the ****"
    assert texts(client, headers, channel) == ["what the ****"]


def test_reject_refuses_the_message_and_stores_nothing(client, ada):
    headers, channel = ada
    configure(client, blocked_words=["heck"], action="reject")
    response = client.post(f"/api/v1/channels/{channel}/messages",
                           json={"text": "what the heck"}, headers=headers)
    assert response.status_code == 400
    assert response.json()["detail"] == ("message rejected by plugin 'moderation': "
                                         "the message contains blocked words: heck")
    assert texts(client, headers, channel) == []


def test_edits_are_moderated_too(client, ada):
    headers, channel = ada
    message = client.post(f"/api/v1/channels/{channel}/messages", json={"text": "fine"},
                          headers=headers).json()
    configure(client, blocked_words=["heck"], action="mask")
    edited = client.patch(f"/api/v1/messages/{message['id']}", json={"text": "heck no"},
                          headers=headers)
    assert edited.json()["text"] == "**** no"


def test_the_rate_limit_answers_429_per_user(client, ada):
    headers, channel = ada
    configure(client, rate_limit_per_minute=2)
    post = lambda h: client.post(f"/api/v1/channels/{channel}/messages",  # noqa: E731
                                 json={"text": "hi"}, headers=h)
    assert [post(headers).status_code for _ in range(2)] == [201, 201]
    limited = post(headers)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "at most 2 messages per minute" in limited.json()["detail"]
    bob = user(client, "bob")
    client.post(f"/api/v1/channels/{channel}/join", headers=bob)
    assert post(bob).status_code == 201  # bob has his own minute
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200  # only posts


def test_the_self_test_passes(client):
    result = client.post("/api/v1/plugins/moderation/self-test",
                         headers=client.admin_headers).json()
    assert result["passed"], result
