"""``context.chat``: reading with ``chat:read``, posting as the plugin's bot user with
``chat:write``, and nothing without a grant."""

from __future__ import annotations

import pytest
from support.api import AUTH
from support.chat import Chatter, chat_host, host_of, plugin_module
from support.databases import BACKENDS
from support.dists import make_plugin

GREETER = """
    from plexichat import hookimpl

    @hookimpl
    async def channel_created(channel, context):
        await context.chat.post(channel.id, f"Welcome to #{channel.name}!")
"""

READER = """
    from plexichat import hookimpl

    SEEN = []

    @hookimpl
    async def message_posted(message, context):
        chat = context.chat
        SEEN.append((chat.get_channel(message.channel_id).name,
                     [m.text for m in chat.list_messages(message.channel_id).messages]))
        await chat.post(message.channel_id, "a reader may not write")
"""

NOTHING = """
    from plexichat import hookimpl

    @hookimpl
    def message_posted(message, context):
        context.chat
"""


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def installed(site):
    make_plugin(site, "greeter", code=GREETER,
                manifest={"name": "greeter", "permissions": ["chat:write"]})
    make_plugin(site, "reader", code=READER,
                manifest={"name": "reader", "permissions": ["chat:read"]})
    make_plugin(site, "nothing", code=NOTHING)


def test_chat_write_posts_as_the_plugins_bot_user(tmp_path, backend, installed):
    with chat_host(tmp_path, backend, "greeter") as client:
        ada = Chatter(client, "ada")
        general = ada.create_channel("general")
        [welcome] = ada.page(general)["messages"]
        assert (welcome["author"], welcome["text"]) == ("bot:greeter", "Welcome to #general!")


def test_chat_read_reads_but_may_not_post(tmp_path, backend, installed):
    with chat_host(tmp_path, backend, "reader") as client:
        ada = Chatter(client, "ada")
        general = ada.create_channel("general")
        ada.say(general, "hello")
        assert plugin_module("reader").SEEN == [("general", ["hello"])]
        assert ada.texts(general) == ["hello"]
        [failure] = host_of(client).dispatcher.failures
        assert failure.plugin == "reader"
        assert "PermissionDenied" in failure.error and "'chat:write'" in failure.error


def test_no_chat_permission_no_chat(tmp_path, backend, installed):
    with chat_host(tmp_path, backend, "nothing") as client:
        ada = Chatter(client, "ada")
        ada.say(ada.create_channel(), "hello")
        [failure] = host_of(client).dispatcher.failures
        assert "may not use context.chat" in failure.error


MODERATOR = """
    from plexichat import hookimpl

    DELETED = []

    @hookimpl
    async def message_posted(message, context):
        if "spam" in message.text:
            DELETED.append(await context.chat.delete_message(message.id))
"""


def test_what_plugins_do_to_others_data_is_audited(tmp_path, site, installed):
    make_plugin(site, "moderator", code=MODERATOR,
                manifest={"name": "moderator", "permissions": ["chat:write"]})
    with chat_host(tmp_path, "sqlite", "greeter", "moderator") as client:
        ada = Chatter(client, "ada")
        general = ada.create_channel("general")
        spam = ada.say(general, "buy spam now")
        assert ada.texts(general) == ["Welcome to #general!"]
        response = client.get("/api/v1/audit", params={"actor": "plugin"}, headers=AUTH)
    assert response.status_code == 200, response.text
    entries = {e["action"]: e for e in response.json()["entries"]}
    post = entries["chat.bot_post"]
    assert (post["actor"], post["plugin"], post["target"]) == (
        "plugin:greeter", "greeter", f"channel:{general}")
    assert post["details"]["as"] == "bot:greeter"
    delete = entries["chat.message_delete"]
    assert (delete["actor"], delete["target"]) == ("plugin:moderator", f"message:{spam['id']}")
    assert delete["details"] == {"channel_id": general, "author_id": ada.id}
    [deleted] = plugin_module("moderator").DELETED
    assert deleted.text == "buy spam now"


def test_deleting_needs_chat_write(tmp_path, site):
    make_plugin(site, "peeker", code=MODERATOR.replace("moderator", "peeker"),
                manifest={"name": "peeker", "permissions": ["chat:read"]})
    with chat_host(tmp_path, "sqlite", "peeker") as client:
        ada = Chatter(client, "ada")
        general = ada.create_channel("general")
        ada.say(general, "spam stays")
        assert ada.texts(general) == ["spam stays"]
        [failure] = host_of(client).dispatcher.failures
        assert "PermissionDenied" in failure.error and "'chat:write'" in failure.error
