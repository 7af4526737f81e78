"""``context.chat``: reading with ``chat:read``, posting as the plugin's bot user with
``chat:write``, and nothing without a grant."""

from __future__ import annotations

import pytest
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
