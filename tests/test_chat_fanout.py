"""The in-process fan-out hub: per-connection ``seq`` and joins."""

from __future__ import annotations

import asyncio

from plexichat.chat.fanout import FanoutHub


def drain(sub):
    events = []
    while not sub.queue.empty():
        events.append(sub.queue.get_nowait())
    return events


def test_each_connection_numbers_its_own_events_without_gaps():
    async def scenario():
        hub = FanoutHub()
        both = hub.subscribe(1, [10, 20])
        only_ten = hub.subscribe(2, [10])
        for channel, text in [(10, "a"), (20, "b"), (10, "c"), (20, "d")]:
            hub.publish(channel, {"type": "message.created", "text": text})
        return drain(both), drain(only_ten)

    both, only_ten = asyncio.run(scenario())
    assert [(e["text"], e["seq"]) for e in both] == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
    assert [(e["text"], e["seq"]) for e in only_ten] == [("a", 1), ("c", 2)]


def test_a_join_delivers_the_channel_to_the_users_open_connections():
    async def scenario():
        hub = FanoutHub()
        sub = hub.subscribe(1, [])
        hub.publish(5, {"text": "before"})
        hub.joined(1, 5)
        hub.publish(5, {"text": "after"})
        return drain(sub)

    assert [(e["text"], e["seq"]) for e in asyncio.run(scenario())] == [("after", 1)]
