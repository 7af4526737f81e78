"""Slash commands: ``/name`` is routed to the plugin that registered ``name`` and its reply
is posted by that plugin's bot user. A second plugin claiming a name is refused it.
"""

from __future__ import annotations

import pytest
from support.api import detail, post
from support.chat import Chatter, chat_host
from support.databases import BACKENDS
from support.dists import make_plugin

SHOUTER = """
    import asyncio
    from plexichat import hookimpl
    from plexichat.chat import Reject, SlashCommand

    CALLS = []

    def shout(call):
        CALLS.append((call.name, call.args, call.user.name, call.channel_id))
        if not call.args:
            return Reject("usage: /shout TEXT")
        return call.args.upper() + "!"

    async def boom(call):
        raise RuntimeError("the command broke")

    async def hang(call):
        await asyncio.sleep(5)

    def quiet(call):
        return None

    @hookimpl
    def register_slash_commands():
        return [SlashCommand("shout", shout, help="/shout TEXT: say it louder"),
                SlashCommand("boom", boom), SlashCommand("hang", hang),
                SlashCommand("quiet", quiet)]
"""

COPYCAT = """
    from plexichat import hookimpl
    from plexichat.chat import SlashCommand

    @hookimpl
    def register_slash_commands():
        return [SlashCommand("shout", lambda call: "copycat"),
                SlashCommand("meow", lambda call: "meow")]
"""

CENSOR = """
    from plexichat import hookimpl
    from plexichat.chat import Reject

    @hookimpl
    def message_will_post(message):
        if message.author.is_bot and "SECRET" in message.text:
            return Reject("bots keep secrets")
        return message.replace(text=message.text.replace("heck", "h*ck"))
"""


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def installed(site):
    make_plugin(site, "shouter", code=SHOUTER)
    make_plugin(site, "copycat", code=COPYCAT,
                manifest={"name": "copycat", "dependencies": ["shouter"]})  # starts later
    make_plugin(site, "censor", code=CENSOR)


@pytest.fixture
def chat(tmp_path, backend, installed):
    import contextlib

    with contextlib.ExitStack() as stack:

        def start(*plugins, **settings):
            client = stack.enter_context(chat_host(tmp_path, backend, *plugins, **settings))
            ada = Chatter(client, "ada")
            return client, ada, ada.create_channel()

        yield start


def test_a_command_is_answered_by_the_plugins_bot_user(chat):
    client, ada, general = chat("shouter")
    posted = ada.say(general, "/shout hello there")
    assert posted["text"] == "/shout hello there"
    [reply] = posted["replies"]
    assert (reply["author"], reply["text"]) == ("bot:shouter", "HELLO THERE!")
    assert [(m["author"], m["text"]) for m in ada.page(general)["messages"]] == [
        ("ada", "/shout hello there"), ("bot:shouter", "HELLO THERE!")]
    bot = client.app.state.host.services.chat.user_by_name("bot:shouter")
    assert bot.is_bot and bot.bot_plugin == "shouter"


def test_the_handler_gets_the_call(chat):
    client, ada, general = chat("shouter")
    ada.say(general, "/shout   a  b ")
    import sys

    assert sys.modules["plx_shouter"].CALLS == [("shout", "a  b", "ada", general)]


def test_a_command_may_reject_the_message(chat):
    client, ada, general = chat("shouter")
    response = ada.post(general, "/shout")
    assert response.status_code == 400
    assert response.json()["detail"] == ("message rejected by plugin 'shouter': "
                                         "usage: /shout TEXT")
    assert ada.texts(general) == []


def test_a_command_without_reply_stores_only_the_message(chat):
    client, ada, general = chat("shouter")
    assert ada.say(general, "/quiet")["replies"] == []
    assert ada.texts(general) == ["/quiet"]


def test_unregistered_commands_are_plain_messages(chat):
    client, ada, general = chat("shouter")
    for text in ("/whisper hi", "/usr/bin is a path", "not /shout"):
        assert ada.say(general, text)["replies"] == []
    assert ada.texts(general) == ["/whisper hi", "/usr/bin is a path", "not /shout"]


def test_a_failing_command_is_counted_and_the_message_kept(chat):
    client, ada, general = chat("shouter")
    posted = ada.say(general, "/boom")
    assert posted["replies"] == []
    assert posted["notices"] == [
        "/boom (plugin 'shouter') failed: RuntimeError: the command broke"]
    assert ada.texts(general) == ["/boom"]
    assert detail(client, "shouter")["stats"]["slash:boom"]["failures"] == 1


def test_a_hanging_command_is_cut_off_at_the_command_timeout(chat):
    client, ada, general = chat("shouter", command_timeout=0.2)
    posted = ada.say(general, "/hang")
    assert posted["notices"] == ["/hang (plugin 'shouter') did not answer within 0.2 s"]


def test_filters_apply_before_the_command_and_to_the_reply(chat):
    client, ada, general = chat("shouter", "censor")
    posted = ada.say(general, "/shout heck")
    assert posted["text"] == "/shout h*ck"
    assert posted["replies"][0]["text"] == "H*CK!"
    refused = ada.say(general, "/shout secret")
    assert refused["replies"] == []
    assert "bots keep secrets" in refused["notices"][0]
    assert ada.texts(general)[-1] == "/shout secret"


def test_a_second_plugin_claiming_a_name_is_refused_and_told(chat):
    client, ada, general = chat("shouter", "copycat")
    warnings = detail(client, "copycat")["warnings"]
    assert any("/shout refused" in w and "'shouter'" in w for w in warnings), warnings
    assert detail(client, "copycat")["state"] == "started"
    assert detail(client, "copycat")["contributions"]["slash_commands"] == ["/meow"]
    assert ada.say(general, "/shout hi")["replies"][0]["author"] == "bot:shouter"
    assert ada.say(general, "/meow")["replies"][0]["author"] == "bot:copycat"


def test_disabling_a_plugin_withdraws_its_commands(chat):
    client, ada, general = chat("shouter")
    assert post(client, "/api/v1/plugins/shouter/disable").status_code == 200
    assert ada.say(general, "/shout hi")["replies"] == []
    assert post(client, "/api/v1/plugins/shouter/enable").status_code == 200
    assert ada.say(general, "/shout hi")["replies"][0]["text"] == "HI!"


def test_bad_command_names_are_refused_at_registration():
    from plexichat.chat import SlashCommand

    for name in ("/echo", "Echo", "", "with space"):
        with pytest.raises(ValueError, match="slash command name"):
            SlashCommand(name, lambda call: None)
