"""WebSocket fan-out benchmark: one message delivered to N connected clients.

One ``plexichat serve`` (no plugin, SQLite) runs in its own process on 127.0.0.1. N
users are registered and join one channel; each opens ``/api/v1/ws`` with the
websockets library and authenticates with its first message, ``{"type": "auth",
"token": ...}``, as the /chat page does, then waits for ``ready``. Then, ``--messages``
times, one user posts a message over HTTP and every client waits for its
``message.created`` event. Per delivery the latency is the time from just before the
POST is sent to that client's receipt; per message, deliveries/s is N divided by the
time from the send to the last receipt. It prints p50 and p99 latency and
deliveries/s for each N (default 100 and 1,000), so their growth is visible. The
clients all run in this process, on one event loop: their own receiving is part of
the figure. Nothing is asserted on time.

    python bench/bench_fanout.py [--clients 100 1000] [--messages 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402
from _served import ChatUser, create_channel, join, plexichat, register  # noqa: E402

SETUP_CONCURRENCY = 32
"""HTTP requests in flight while registering users."""


def raise_fd_limit(clients: int) -> None:
    """Allow this process (and the server it starts) a file descriptor per socket."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * clients + 256))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _users(client: httpx.AsyncClient, count: int, prefix: str) -> list[ChatUser]:
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(i: int) -> ChatUser:
        async with gate:
            return await register(client, f"{prefix}{i}")

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def run(url: str, clients: int, messages: int, *,
              client_urls: list[str] | None = None) -> tuple[list[float], list[float]]:
    """Latencies (s) of every delivery and deliveries/s of every message.

    Users register and post through ``url``; client ``i`` connects its WebSocket to
    ``client_urls[i % len(client_urls)]`` (default: ``url``)."""
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=60) as client:
        poster = await register(client, f"poster{clients}")
        channel_id = await create_channel(client, poster, f"fanout-{clients}")
        users = await _users(client, clients, f"n{clients}u")
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def joined(user: ChatUser) -> None:
            async with gate:
                await join(client, user, channel_id)

        await asyncio.gather(*(joined(u) for u in users))
        ws_urls = [u.replace("http://", "ws://") + "/api/v1/ws"
                   for u in (client_urls or [url])]
        sockets = []
        try:
            for start in range(0, clients, SETUP_CONCURRENCY):
                batch = users[start:start + SETUP_CONCURRENCY]
                opened = await asyncio.gather(*(
                    websockets.connect(ws_urls[(start + k) % len(ws_urls)], max_queue=None)
                    for k in range(len(batch))))
                for ws, user in zip(opened, batch, strict=True):
                    await ws.send(json.dumps({"type": "auth", "token": user.token}))
                for ws in opened:
                    ready = json.loads(await ws.recv())
                    if ready.get("type") != "ready" or channel_id not in ready["channels"]:
                        raise RuntimeError(f"unexpected first event {ready}")
                sockets.extend(opened)
            latencies: list[float] = []
            rates: list[float] = []
            for i in range(messages + 1):  # the first message warms up and is not kept
                text = f"fan-out {clients} #{i}"

                async def receive(ws: websockets.ClientConnection, text: str = text) -> float:
                    while True:
                        event = json.loads(await ws.recv())
                        if (event.get("type") == "message.created"
                                and event["message"]["text"] == text):
                            return time.perf_counter()

                waiting = [asyncio.ensure_future(receive(ws)) for ws in sockets]
                await asyncio.sleep(0)
                sent = time.perf_counter()
                response = await client.post(f"/api/v1/channels/{channel_id}/messages",
                                             json={"text": text}, headers=poster.headers)
                response.raise_for_status()
                received = await asyncio.wait_for(asyncio.gather(*waiting), 120)
                if i:
                    latencies.extend(t - sent for t in received)
                    rates.append(clients / (max(received) - sent))
            return latencies, rates
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000],
                        help="connected clients, one run each (100 1000)")
    parser.add_argument("--messages", type=int, default=5, help="messages per run (5)")
    opts = parser.parse_args(argv)
    raise_fd_limit(max(opts.clients))

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, plexichat(Path(tmp), plugins=[]) as server:
        print(f"WebSocket fan-out on one replica; {opts.messages} messages per run")
        for clients in opts.clients:
            latencies, rates = asyncio.run(run(server.url, clients, opts.messages))
            p50, p99 = (percentile(latencies, q) * 1e3 for q in (0.5, 0.99))
            rate = statistics.median(rates)
            figures.update({f"clients_{clients}_p50_ms": round(p50, 2),
                            f"clients_{clients}_p99_ms": round(p99, 2),
                            f"clients_{clients}_deliveries_per_s": round(rate)})
            print(f"  {clients:5d} clients: p50 {p50:8.2f} ms, p99 {p99:8.2f} ms, "
                  f"{rate:8.0f} deliveries/s")
    record("fanout", figures, "none set: p50/p99 and deliveries/s, for reading", None)


if __name__ == "__main__":
    main()
