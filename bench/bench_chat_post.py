"""Chat post benchmark: a message posted over HTTP through 10 filter plugins.

Two servers run side by side, each ``plexichat serve`` in its own process on
127.0.0.1 with its own SQLite database:

- **filters**: 10 plugins loaded, each a real distribution (a package with
  ``plugin.json`` and an entry point) whose ``message_will_post(message, context)``
  passes the message on;
- **none**: no plugin loaded.

On each, one user posts to one channel with ``POST /api/v1/channels/{id}/messages``
through an httpx client that keeps its connections alive: sequentially (one request
at a time) and with ``--concurrency`` requests in flight. Rounds interleave the two
servers; the figure is the median over rounds of the mean time per request (for the
concurrent runs: wall time / requests). It prints milliseconds per post for both
servers and **filters/none (goal <= 1.2)**. Nothing is asserted on time.

    python bench/bench_chat_post.py [--filters 10] [--posts 100] [--rounds 7]
                                    [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402
from _served import ChatUser, create_channel, plexichat, register, write_filter_plugins  # noqa: E402

GOAL = 1.2
"""filters/none, the goal: 10 pass-through filters add at most 20 % to a post."""


async def _posts(client: httpx.AsyncClient, user: ChatUser, channel_id: int, count: int,
                 concurrency: int) -> float:
    """Post ``count`` messages, ``concurrency`` in flight; seconds per post."""
    url = f"/api/v1/channels/{channel_id}/messages"
    remaining = iter(range(count))

    async def worker() -> None:
        for i in remaining:
            response = await client.post(url, json={"text": f"hello {i}"},
                                         headers=user.headers)
            if response.status_code != 201:
                raise RuntimeError(f"POST {url}: HTTP {response.status_code} {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.perf_counter() - started) / count


async def _measure(urls: dict[str, str], opts: argparse.Namespace,
                   ) -> dict[tuple[str, int], list[float]]:
    """Interleaved rounds over both servers; seconds per post of every round."""
    limits = httpx.Limits(max_keepalive_connections=opts.concurrency,
                          max_connections=opts.concurrency)
    clients = {label: httpx.AsyncClient(base_url=url, trust_env=False, timeout=30,
                                        limits=limits) for label, url in urls.items()}
    try:
        setup = {}
        for label, client in clients.items():
            user = await register(client, "bench")
            setup[label] = (user, await create_channel(client, user, "bench"))
        modes = (1, opts.concurrency)
        for label, client in clients.items():  # warm-up: connections, caches, probation
            user, channel_id = setup[label]
            for concurrency in modes:
                await _posts(client, user, channel_id, max(opts.posts // 4, 10), concurrency)
        rounds: dict[tuple[str, int], list[float]] = {(label, c): [] for label in urls
                                                      for c in modes}
        for i in range(opts.rounds):
            order = list(clients) if i % 2 == 0 else list(reversed(clients))
            for concurrency in modes:
                for label in order:
                    user, channel_id = setup[label]
                    rounds[label, concurrency].append(await _posts(
                        clients[label], user, channel_id, opts.posts, concurrency))
        return rounds
    finally:
        for client in clients.values():
            await client.aclose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filters", type=int, default=10, help="filter plugins (10)")
    parser.add_argument("--posts", type=int, default=100, help="posts per round (100)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (7)")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="requests in flight in the concurrent runs (8)")
    opts = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        names = write_filter_plugins(work / "site", opts.filters)
        with plexichat(work / "filters", plugins=names, site=work / "site") as filtered, \
                plexichat(work / "none", plugins=[]) as bare:
            rounds = asyncio.run(_measure({"filters": filtered.url, "none": bare.url}, opts))

    print(f"{opts.filters} message_will_post filters (real plugins) vs none; "
          f"median of {opts.rounds} interleaved rounds of {opts.posts} posts")
    figures: dict[str, float] = {}
    ratios = []
    for concurrency in (1, opts.concurrency):
        mode = "sequential" if concurrency == 1 else f"{concurrency} in flight"
        with_filters = statistics.median(rounds["filters", concurrency]) * 1e3
        without = statistics.median(rounds["none", concurrency]) * 1e3
        ratio = with_filters / without
        ratios.append(ratio)
        key = "sequential" if concurrency == 1 else f"concurrent_{concurrency}"
        figures.update({f"{key}_filters_ms": round(with_filters, 3),
                        f"{key}_none_ms": round(without, 3),
                        f"{key}_posts_per_s_filters": round(1e3 / with_filters, 1),
                        f"{key}_ratio": round(ratio, 3)})
        print(f"  {mode:>14}: filters {with_filters:7.3f} ms/post, none {without:7.3f} "
              f"ms/post ({1e3 / with_filters:6.0f} vs {1e3 / without:6.0f} posts/s); "
              f"filters/none = {ratio:5.2f}  (goal <= {GOAL:g})")
    worst = max(ratios)
    record("chat_post", figures, f"filters/none <= {GOAL:g} (sequential and concurrent)",
           worst <= GOAL, ratio=round(worst, 3), goal_ratio=GOAL)


if __name__ == "__main__":
    main()
