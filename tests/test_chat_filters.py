"""Message filters: ``message_will_post`` / ``message_will_update`` modify, reject or pass.

Filters run in pluggy's order (tryfirst, then the plugin registered later first). A
failing filter is skipped and counted (fail-open) unless its plugin declared the hook
essential in plugin.json; then messages are refused with 503 while it cannot run.
"""

from __future__ import annotations

import pytest
from support.api import detail, post, state_of
from support.chat import Chatter, chat_host, plugin_module
from support.databases import BACKENDS
from support.dists import make_plugin
from support.host import wait_ready

UPPER = """
    from plexichat import hookimpl

    @hookimpl
    def message_will_post(message):
        return message.replace(text=message.text.upper())
"""

NO_SPAM = """
    from plexichat import hookimpl
    from plexichat.chat import Reject

    @hookimpl
    async def message_will_post(message, context):
        if "spam" in message.text:
            return Reject("no spam, please", status_code=422)
"""

WATCHER = """
    from plexichat import hookimpl

    SEEN = []

    @hookimpl
    def message_will_post(message, context):
        SEEN.append((message.text, message.author.name, message.channel_id,
                     context.plugin_name))
"""

RAISING = """
    from plexichat import hookimpl

    CALLS = []

    @hookimpl
    def message_will_post(message):
        CALLS.append(message.text)
        raise RuntimeError("filter exploded")
"""

SLOW = """
    import asyncio
    from plexichat import hookimpl

    @hookimpl
    async def message_will_post(message):
        await asyncio.sleep(5)
        return message.replace(text="too late")
"""

BLOCKING = """
    import threading

    from plexichat import hookimpl

    RELEASE = threading.Event()
    RUNNING = threading.Event()
    FINISHED = threading.Event()

    @hookimpl
    def message_will_post(message):
        RUNNING.set()
        RELEASE.wait(30)  # a plain filter stuck on I/O
        FINISHED.set()
        return message.replace(text="too late")
"""

GARBAGE = """
    from plexichat import hookimpl

    @hookimpl
    def message_will_post(message):
        return "a plain string is not a MessageDraft"
"""


def tagger(tag, **impl):
    options = ", ".join(f"{k}={v!r}" for k, v in impl.items())
    return f"""
        from plexichat import hookimpl

        @hookimpl({options})
        def message_will_post(message):
            return message.replace(text=message.text + " [{tag}]")
    """


UPDATE_GUARD = """
    from plexichat import hookimpl
    from plexichat.chat import Reject

    SEEN = []

    @hookimpl
    def message_will_update(message):
        SEEN.append((message.message_id, message.previous_text, message.text))
        if message.previous_text.startswith("[pinned]"):
            return Reject("pinned messages cannot be edited", status_code=409)
        return message.replace(text=message.text.replace("darn", "d**n"))
"""


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def installed(site):
    plugins = {"upper": UPPER, "nospam": NO_SPAM, "watcher": WATCHER, "raising": RAISING,
               "slow": SLOW, "blocking": BLOCKING, "garbage": GARBAGE, "updateguard": UPDATE_GUARD}
    for name, code in plugins.items():
        make_plugin(site, name, code=code)
    # essential twins of the failing filters
    for name, code in (("guard", RAISING), ("slowguard", SLOW), ("garbageguard", GARBAGE)):
        make_plugin(site, name, code=code, manifest={
            "name": name, "essential_hooks": ["message_will_post"]})
    make_plugin(site, "brokenguard", code="""
        from plexichat import hookimpl

        @hookimpl
        def startup():
            raise RuntimeError("cannot reach the moderation service")

        @hookimpl
        def message_will_post(message):
            return None
    """, manifest={"name": "brokenguard", "essential_hooks": ["message_will_post"]})
    # ordering: b depends on a, so b is registered after a and runs before it
    make_plugin(site, "tag_a", code=tagger("a"))
    make_plugin(site, "tag_b", code=tagger("b"),
                manifest={"name": "tag_b", "dependencies": ["tag_a"]})
    make_plugin(site, "tag_first", code=tagger("first", tryfirst=True),
                manifest={"name": "tag_first", "dependencies": ["tag_b"]})
    make_plugin(site, "tag_last", code=tagger("last", trylast=True))


@pytest.fixture
def chat(tmp_path, backend, installed):
    """``chat(*plugins, **settings)``: a host, a user ``ada`` and her channel."""
    import contextlib

    with contextlib.ExitStack() as stack:

        def start(*plugins, **settings):
            client = stack.enter_context(chat_host(tmp_path, backend, *plugins, **settings))
            ada = Chatter(client, "ada")
            return client, ada, ada.create_channel()

        yield start


# --- modify, reject, pass ----------------------------------------------------------------


def test_a_filter_changes_what_is_stored_and_answered(chat):
    client, ada, general = chat("upper")
    posted = ada.say(general, "hello")
    assert posted["text"] == "HELLO"
    assert ada.texts(general) == ["HELLO"]


def test_a_rejection_reaches_the_sender_with_its_reason_and_nothing_is_stored(chat):
    client, ada, general = chat("nospam")
    response = ada.post(general, "buy spam now")
    assert response.status_code == 422
    assert response.json()["detail"] == "message rejected by plugin 'nospam': no spam, please"
    assert ada.texts(general) == []
    assert ada.say(general, "just eggs")["text"] == "just eggs"


def test_a_filter_returning_none_passes_the_message_on_and_sees_it_whole(chat):
    client, ada, general = chat("watcher")
    assert ada.say(general, "hi")["text"] == "hi"
    assert plugin_module("watcher").SEEN == [("hi", "ada", general, "watcher")]


def test_filters_run_tryfirst_then_later_registered_first_then_trylast(chat):
    client, ada, general = chat("tag_a", "tag_b", "tag_first", "tag_last")
    assert ada.say(general, "hi")["text"] == "hi [first] [b] [a] [last]"


def test_the_first_rejection_ends_the_filtering(chat):
    client, ada, general = chat("nospam", "watcher")
    order = client.app.state.host.dispatcher.implementers("message_will_post")
    assert ada.post(general, "spam").status_code == 422
    seen = plugin_module("watcher").SEEN
    assert (seen == []) == (order.index("nospam") < order.index("watcher"))


# --- fail-open ---------------------------------------------------------------------------


def test_a_raising_filter_is_skipped_and_counted(chat):
    client, ada, general = chat("raising", "upper")
    assert ada.say(general, "still here")["text"] == "STILL HERE"
    stats = detail(client, "raising")["stats"]["message_will_post"]
    assert stats["failures"] == 1
    assert "filter exploded" in detail(client, "raising")["failures"][-1]["error"]


def test_a_raising_filter_is_quarantined_after_its_fault_budget(chat):
    client, ada, general = chat("raising", fault_budget=3)
    for i in range(3):
        assert ada.say(general, f"m{i}")["text"] == f"m{i}"
    assert state_of(client, "raising") == "quarantined"
    assert "fault budget" in detail(client, "raising")["reason"]
    ada.say(general, "after")
    assert plugin_module("raising").CALLS == ["m0", "m1", "m2"]  # no longer called
    assert ada.texts(general) == ["m0", "m1", "m2", "after"]


def test_a_filter_past_its_timeout_is_skipped(chat):
    client, ada, general = chat("slow", filter_timeout=0.2)
    assert ada.say(general, "quick")["text"] == "quick"
    [failure] = detail(client, "slow")["failures"]
    assert "did not finish within 0.2 s" in failure["error"]


def test_a_blocking_plain_filter_is_cut_off_at_its_timeout_while_the_host_serves(chat):
    client, ada, general = chat("blocking", filter_timeout=0.2)
    blocker = plugin_module("blocking")
    try:
        assert ada.say(general, "quick")["text"] == "quick"
        # answered while the filter still blocks: it ran off the event loop, cut off
        assert blocker.RUNNING.is_set() and not blocker.FINISHED.is_set()
        [failure] = detail(client, "blocking")["failures"]
        assert "did not finish within 0.2 s" in failure["error"]
        assert client.get("/api/v1/health/live").status_code == 200
    finally:
        blocker.RELEASE.set()


def test_a_filter_returning_garbage_is_skipped_and_counted(chat):
    client, ada, general = chat("garbage")
    assert ada.say(general, "fine")["text"] == "fine"
    [failure] = detail(client, "garbage")["failures"]
    assert "expected MessageDraft, Reject or None" in failure["error"]


# --- fail-closed (essential) -------------------------------------------------------------


def test_an_essential_filter_that_raises_refuses_the_message(chat):
    client, ada, general = chat("guard")
    response = ada.post(general, "unchecked")
    assert response.status_code == 503
    text = response.json()["detail"]
    assert "'guard'" in text and "message_will_post essential" in text
    assert "filter exploded" in text
    assert ada.texts(general) == []


def test_an_essential_filter_refuses_while_quarantined_until_disabled(chat):
    client, ada, general = chat("guard", fault_budget=2)
    for _ in range(2):
        assert ada.post(general, "unchecked").status_code == 503
    assert state_of(client, "guard") == "quarantined"
    response = ada.post(general, "still unchecked")
    assert response.status_code == 503
    assert "quarantined" in response.json()["detail"]
    assert len(plugin_module("guard").CALLS) == 2  # refused without calling it
    # the operator decides to run without it
    assert post(client, "/api/v1/plugins/guard/disable").status_code == 200
    assert ada.say(general, "unfiltered, by choice")["text"] == "unfiltered, by choice"
    assert ada.texts(general) == ["unfiltered, by choice"]


def test_an_essential_filter_that_failed_to_start_refuses_messages(chat):
    client, ada, general = chat("brokenguard")
    assert state_of(client, "brokenguard") == "failed"
    response = ada.post(general, "hello")
    assert response.status_code == 503
    assert "failed: startup raised RuntimeError" in response.json()["detail"]


def test_an_essential_filter_refuses_messages_until_its_plugin_has_started(
        tmp_path, backend, site):
    make_plugin(site, "lateguard", code="""
        import asyncio
        from plexichat import hookimpl

        @hookimpl
        async def startup():
            await asyncio.sleep(1.5)

        @hookimpl
        def message_will_post(message):
            return None
    """, manifest={"name": "lateguard", "essential_hooks": ["message_will_post"]})
    with chat_host(tmp_path, backend, "lateguard", wait=False) as client:
        ada = Chatter(client, "ada")
        general = ada.create_channel()
        early = ada.post(general, "too early")
        assert early.status_code == 503
        assert "'lateguard'" in early.json()["detail"]
        assert "has not started yet" in early.json()["detail"]
        wait_ready(client)
        assert ada.say(general, "now")["text"] == "now"


def test_an_essential_filter_that_times_out_refuses_the_message(chat):
    client, ada, general = chat("slowguard", filter_timeout=0.2)
    response = ada.post(general, "hello")
    assert response.status_code == 503
    assert "did not finish within 0.2 s" in response.json()["detail"]


def test_an_essential_filter_returning_garbage_refuses_the_message(chat):
    client, ada, general = chat("garbageguard")
    assert ada.post(general, "hello").status_code == 503


def test_essential_hooks_are_listed_in_the_manifest(chat):
    client, ada, general = chat("guard")
    assert detail(client, "guard")["manifest"]["essential_hooks"] == ["message_will_post"]


def test_only_message_filters_can_be_essential(site, tmp_path):
    make_plugin(site, "overreach", manifest={"name": "overreach",
                                             "essential_hooks": ["message_posted"]})
    from plexichat.kernel.discovery import discover

    [candidate] = [c for c in discover() if c.name == "overreach"]
    assert any("essential_hooks" in p and "cannot be essential" in p
               for p in candidate.problems), candidate.problems


# --- edits -------------------------------------------------------------------------------


def test_update_filters_see_old_and_new_text_and_may_change_it(chat):
    client, ada, general = chat("updateguard")
    message = ada.say(general, "oh")
    response = ada.edit(message["id"], "oh darn")
    assert response.status_code == 200
    assert response.json()["text"] == "oh d**n"
    assert plugin_module("updateguard").SEEN == [(message["id"], "oh", "oh darn")]


def test_an_update_rejection_leaves_the_message_unchanged(chat):
    client, ada, general = chat("updateguard")
    message = ada.say(general, "[pinned] rules")
    response = ada.edit(message["id"], "no rules")
    assert response.status_code == 409
    assert "pinned messages cannot be edited" in response.json()["detail"]
    assert ada.texts(general) == ["[pinned] rules"]


def test_post_filters_do_not_run_on_edits(chat):
    client, ada, general = chat("upper")
    message = ada.say(general, "loud")
    assert ada.edit(message["id"], "quiet").json()["text"] == "quiet"
