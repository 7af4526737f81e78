"""After the fact: chat hooks, ``register_event_handlers`` / ``get_event_hooks`` handlers,
and the events recorded for webhook delivery.
"""

from __future__ import annotations

import pytest
from support.chat import Chatter, chat_host, host_of, plugin_module
from support.databases import BACKENDS
from support.dists import make_plugin

HOOKS = """
    from plexichat import hookimpl

    SEEN = []

    @hookimpl
    def user_registered(user, context):
        SEEN.append(("user_registered", user.name, context.plugin_name))

    @hookimpl
    async def channel_created(channel):
        SEEN.append(("channel_created", channel.name, channel.created_by))

    @hookimpl
    def message_posted(message):
        SEEN.append(("message_posted", message.id, message.text, message.author))

    @hookimpl
    def message_updated(message, previous_text):
        SEEN.append(("message_updated", message.id, previous_text, message.text))

    @hookimpl
    def message_deleted(message, deleted_by):
        SEEN.append(("message_deleted", message.id, message.text, deleted_by))
"""

HANDLERS = """
    from plexichat import hookimpl

    SEEN = []

    def on(event):
        def handler(**payload):
            SEEN.append((event, payload))
        return handler

    @hookimpl
    def register_event_handlers():
        return {event: on(event) for event in (
            "user.registered", "channel.created", "message.posted", "message.updated",
            "message.deleted")}
"""

GUIDE = """
    from plexichat import PluginInterface

    SEEN = []

    class Guide(PluginInterface):
        def get_event_hooks(self):
            return {"message.posted": self.on_message}

        def on_message(self, message):
            SEEN.append(message["text"])

        @PluginInterface.on_event("user.registered")
        def on_user(self, user):
            SEEN.append(user["name"])
"""

FAILING = """
    from plexichat import hookimpl

    @hookimpl
    def message_posted(message):
        raise RuntimeError("after-hook exploded")

    @hookimpl
    def register_event_handlers():
        def explode(message):
            raise RuntimeError("handler exploded")
        return {"message.posted": explode}
"""


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def installed(site):
    make_plugin(site, "hooks", code=HOOKS)
    make_plugin(site, "handlers", code=HANDLERS)
    make_plugin(site, "guide", code=GUIDE, entry_point="plx_guide:Guide")
    make_plugin(site, "failing", code=FAILING)


@pytest.fixture
def client(tmp_path, backend, installed):
    with chat_host(tmp_path, backend, "hooks", "handlers", "guide", "failing") as client:
        yield client


def _lifecycle(client):
    ada = Chatter(client, "ada")
    general = ada.create_channel("general")
    message = ada.say(general, "hello")
    ada.edit(message["id"], "hello!")
    ada.delete(message["id"])
    return message["id"]


def test_chat_hooks_run_after_each_change(client):
    mid = _lifecycle(client)
    assert plugin_module("hooks").SEEN == [
        ("user_registered", "ada", "hooks"),
        ("channel_created", "general", "ada"),
        ("message_posted", mid, "hello", "ada"),
        ("message_updated", mid, "hello", "hello!"),
        ("message_deleted", mid, "hello!", "ada"),
    ]


def test_event_handlers_receive_message_user_and_channel_events(client):
    mid = _lifecycle(client)
    seen = plugin_module("handlers").SEEN
    assert [event for event, _ in seen] == [
        "user.registered", "channel.created", "message.posted", "message.updated",
        "message.deleted"]
    payloads = dict(seen)
    assert payloads["user.registered"]["user"]["name"] == "ada"
    assert payloads["channel.created"]["channel"]["name"] == "general"
    assert payloads["message.posted"]["message"]["text"] == "hello"
    assert payloads["message.posted"]["message"]["id"] == mid
    assert payloads["message.updated"]["previous_text"] == "hello"
    assert payloads["message.updated"]["message"]["text"] == "hello!"
    assert payloads["message.deleted"]["deleted_by"] == "ada"


def test_guide_style_get_event_hooks_receive_chat_events(client):
    _lifecycle(client)
    assert plugin_module("guide").SEEN == ["ada", "hello"]


def test_failing_after_hooks_and_handlers_are_counted_and_change_nothing(client):
    ada = Chatter(client, "ada")
    general = ada.create_channel()
    assert ada.say(general, "still posted")["text"] == "still posted"
    stats = host_of(client).dispatcher.stats_for("failing")
    assert stats["message_posted"]["failures"] == 1
    assert stats["event:message.posted"]["failures"] == 1
    assert ada.texts(general) == ["still posted"]


def test_every_change_is_recorded_for_webhooks(client):
    mid = _lifecycle(client)
    recent = host_of(client).services.webhooks.recent(limit=10)
    events = [(e["event"], e["source"]) for e in reversed(recent)]
    assert events == [("user.registered", "core"), ("channel.created", "core"),
                      ("message.posted", "core"), ("message.updated", "core"),
                      ("message.deleted", "core")]
    posted = next(e for e in recent if e["event"] == "message.posted")
    assert posted["payload"]["message"]["id"] == mid
    assert "password" not in str(recent)


def test_a_rejected_message_records_no_event(tmp_path, backend, site):
    make_plugin(site, "nope", code="""
        from plexichat import hookimpl
        from plexichat.chat import Reject

        @hookimpl
        def message_will_post(message):
            return Reject("nope")
    """)
    with chat_host(tmp_path, backend, "nope") as client:
        ada = Chatter(client, "ada")
        general = ada.create_channel()
        assert ada.post(general, "hi").status_code == 400
        events = [e["event"] for e in host_of(client).services.webhooks.recent()]
        assert "message.posted" not in events
