"""The chat over REST: users, channels, messages, pagination and who may change what.

Every test runs on SQLite and, with PLEXICHAT_TEST_DATABASE_URL set, on PostgreSQL.
"""

from __future__ import annotations

import pytest
from support.api import AUTH
from support.chat import Chatter, chat_host
from support.databases import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def client(tmp_path, backend):
    with chat_host(tmp_path, backend) as client:
        yield client


# --- users -------------------------------------------------------------------------------


def test_register_log_in_and_who_am_i(client):
    response = client.post("/api/v1/users", json={"name": "ada", "password": "lovelace-1"})
    assert response.status_code == 201
    user = response.json()
    assert (user["name"], user["is_bot"]) == ("ada", False)
    assert "password" not in str(user)

    response = client.post("/api/v1/users/login", json={"name": "ada", "password": "lovelace-1"})
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json()["token_type"] == "bearer"

    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]


def test_passwords_are_stored_as_argon2id_hashes(client):
    Chatter(client, "ada", password="lovelace-1")
    with client.app.state.host.database.engine.connect() as conn:
        import sqlalchemy as sa

        [(stored,)] = conn.execute(sa.text("SELECT password_hash FROM plexichat_chat_users"))
    assert stored.startswith("$argon2id$")
    assert "lovelace-1" not in stored


def test_wrong_password_and_unknown_user_get_the_same_401(client):
    Chatter(client, "ada")
    wrong = client.post("/api/v1/users/login", json={"name": "ada", "password": "nope-nope"})
    unknown = client.post("/api/v1/users/login", json={"name": "bob", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_a_taken_name_is_refused_whatever_its_case(client):
    Chatter(client, "ada")
    response = client.post("/api/v1/users", json={"name": "ADA", "password": "password-2"})
    assert response.status_code == 409
    assert "taken" in response.json()["detail"]


@pytest.mark.parametrize(("name", "password"), [("a", "password-1"), ("bot:x", "password-1"),
                                                ("has space", "password-1"), ("ada", "short")])
def test_bad_names_and_short_passwords_are_refused_with_a_reason(client, name, password):
    response = client.post("/api/v1/users", json={"name": name, "password": password})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_requests_without_a_valid_token_get_401(client):
    assert client.get("/api/v1/users/me").status_code == 401
    bad = client.get("/api/v1/users/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/channels").status_code == 401


def test_logout_forgets_the_token(client):
    ada = Chatter(client, "ada")
    assert client.post("/api/v1/users/logout", headers=ada.headers).status_code == 204
    assert client.get("/api/v1/users/me", headers=ada.headers).status_code == 401


# --- channels ----------------------------------------------------------------------------


def test_create_list_and_join_channels(client):
    ada, bob = Chatter(client, "ada"), Chatter(client, "bob")
    general = ada.create_channel("general", topic="anything goes")
    ada.create_channel("random")

    listed = client.get("/api/v1/channels", headers=bob.headers).json()
    assert [(c["name"], c["joined"]) for c in listed] == [("general", False), ("random", False)]
    assert listed[0]["topic"] == "anything goes"
    assert listed[0]["created_by"] == "ada"

    joined = bob.join(general)
    assert joined.status_code == 200
    assert joined.json()["joined"] is True
    assert bob.join(general).status_code == 200  # joining twice is harmless
    listed = client.get("/api/v1/channels", headers=bob.headers).json()
    assert [(c["name"], c["joined"]) for c in listed] == [("general", True), ("random", False)]


def test_channel_names_are_unique_and_checked(client):
    ada = Chatter(client, "ada")
    ada.create_channel("general")
    again = client.post("/api/v1/channels", json={"name": "general"}, headers=ada.headers)
    assert again.status_code == 409
    bad = client.post("/api/v1/channels", json={"name": "No Spaces"}, headers=ada.headers)
    assert bad.status_code == 400


def test_joining_a_missing_channel_is_404(client):
    assert Chatter(client, "ada").join(999).status_code == 404


# --- messages ----------------------------------------------------------------------------


def test_post_and_read_messages(client):
    ada, bob = Chatter(client, "ada"), Chatter(client, "bob")
    general = ada.create_channel()
    bob.join(general)
    posted = ada.say(general, "hello")
    assert (posted["author"], posted["text"], posted["edited_at"]) == ("ada", "hello", None)
    assert posted["replies"] == [] and posted["notices"] == []
    bob.say(general, "hi ada")
    page = bob.page(general)
    assert [(m["author"], m["text"]) for m in page["messages"]] == [
        ("ada", "hello"), ("bob", "hi ada")]
    assert page["next_before"] is None


def test_only_members_read_and_post(client):
    ada, bob = Chatter(client, "ada"), Chatter(client, "bob")
    general = ada.create_channel()
    refused = bob.post(general, "let me in")
    assert refused.status_code == 403
    assert "join" in refused.json()["detail"]
    assert client.get(f"/api/v1/channels/{general}/messages",
                      headers=bob.headers).status_code == 403
    assert ada.post(999, "anyone?").status_code == 404


def test_empty_and_overlong_messages_are_refused(client):
    ada = Chatter(client, "ada")
    general = ada.create_channel()
    assert ada.post(general, "").status_code == 422
    assert ada.post(general, "   ").status_code == 400
    assert ada.post(general, "x" * 4001).status_code == 422
    assert ada.texts(general) == []


def test_pagination_walks_back_with_before_and_limit(client):
    ada = Chatter(client, "ada")
    general = ada.create_channel()
    for i in range(7):
        ada.say(general, f"m{i}")

    seen, before = [], None
    while True:
        params = {"limit": 3} if before is None else {"limit": 3, "before": before}
        page = ada.page(general, **params)
        seen.append([m["text"] for m in page["messages"]])
        before = page["next_before"]
        if before is None:
            break
    assert seen == [["m4", "m5", "m6"], ["m1", "m2", "m3"], ["m0"]]


def test_pagination_limit_is_bounded(client):
    ada = Chatter(client, "ada")
    general = ada.create_channel()
    for limit in (0, 201):
        response = client.get(f"/api/v1/channels/{general}/messages", params={"limit": limit},
                              headers=ada.headers)
        assert response.status_code == 422


def test_pages_of_one_channel_hold_only_its_messages(client):
    ada = Chatter(client, "ada")
    general, random = ada.create_channel("general"), ada.create_channel("random")
    ada.say(general, "in general")
    ada.say(random, "in random")
    assert ada.texts(general) == ["in general"]
    assert ada.texts(random) == ["in random"]


# --- edit and delete ---------------------------------------------------------------------


def test_the_author_edits_and_deletes(client):
    ada = Chatter(client, "ada")
    general = ada.create_channel()
    message = ada.say(general, "helo")
    edited = ada.edit(message["id"], "hello")
    assert edited.status_code == 200
    assert edited.json()["text"] == "hello"
    assert edited.json()["edited_at"] is not None
    assert ada.texts(general) == ["hello"]
    assert ada.delete(message["id"]).status_code == 204
    assert ada.texts(general) == []
    assert ada.delete(message["id"]).status_code == 404


def test_others_may_not_edit_or_delete(client):
    ada, bob = Chatter(client, "ada"), Chatter(client, "bob")
    general = ada.create_channel()
    bob.join(general)
    message = ada.say(general, "mine")
    for response in (bob.edit(message["id"], "yours"), bob.delete(message["id"])):
        assert response.status_code == 403
        assert "author" in response.json()["detail"]
    assert ada.texts(general) == ["mine"]


def test_the_admin_token_edits_and_deletes_anyones_message(client):
    ada, bob = Chatter(client, "ada"), Chatter(client, "bob")
    general = ada.create_channel()
    message = ada.say(general, "something rude")
    assert bob.edit(message["id"], "[removed]", admin=True).status_code == 200
    assert ada.texts(general) == ["[removed]"]
    assert bob.delete(message["id"], admin=True).status_code == 204
    assert ada.texts(general) == []


@pytest.mark.parametrize("bad_id", [2**31, 2**63, 10**30, 0, -1])
def test_ids_the_database_cannot_hold_answer_422_with_the_reason(client, bad_id):
    ada = Chatter(client, "ada")
    general = ada.create_channel()
    limit = "less than or equal to 2147483647" if bad_id > 0 else "greater than"
    for response in (ada.edit(bad_id, "x"), ada.delete(bad_id),
                     ada.edit(bad_id, "x", admin=True), ada.delete(bad_id, admin=True),
                     ada.join(bad_id), ada.post(bad_id, "x"),
                     client.get(f"/api/v1/channels/{bad_id}/messages", headers=ada.headers),
                     client.get(f"/api/v1/channels/{general}/messages",
                                params={"before": bad_id}, headers=ada.headers)):
        assert response.status_code == 422, (response.request.url, response.text)
        assert limit in response.json()["detail"][0]["msg"], response.text


def test_the_largest_id_is_looked_up_and_not_found(client):
    ada = Chatter(client, "ada")
    largest = 2**31 - 1  # PostgreSQL INTEGER
    assert ada.edit(largest, "x").status_code == 404
    assert ada.delete(largest).status_code == 404
    assert ada.join(largest).status_code == 404
    assert ada.post(largest, "x").status_code == 404


def test_the_admin_token_is_no_user(client):
    assert client.get("/api/v1/users/me", headers=AUTH).status_code == 401
    assert client.post("/api/v1/channels", json={"name": "x"}, headers=AUTH).status_code == 401


# --- documentation -----------------------------------------------------------------------


def test_the_chat_api_is_documented_in_openapi(client):
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/users"]) == {"post"}
    assert {"post", "get"} <= set(paths["/api/v1/channels/{channel_id}/messages"])
    assert set(paths["/api/v1/messages/{message_id}"]) == {"patch", "delete"}
    for path in ("/api/v1/users/login", "/api/v1/users/me", "/api/v1/channels",
                 "/api/v1/channels/{channel_id}/join"):
        assert path in paths
    models = schema["components"]["schemas"]
    for model in ("Credentials", "UserOut", "TokenOut", "ChannelIn", "ChannelOut",
                  "MessageIn", "MessageOut", "PostedMessage", "MessagePageOut"):
        assert models[model].get("description"), model
    post = paths["/api/v1/channels/{channel_id}/messages"]["post"]
    assert {"400", "403", "503"} <= set(post["responses"])
