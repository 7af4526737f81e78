"""Memory benchmark: the resident set size of a ready server.

Each server runs in its own process on 127.0.0.1 and is measured once ready
(``VmRSS`` of ``/proc/<pid>/status``, after a few requests):

- **bare FastAPI**: a FastAPI app with one route under uvicorn, the floor;
- **host, no plugin**: ``plexichat serve`` loading no plugin;
- **host, every installed plugin**: ``plexichat serve`` as an operator runs it, with
  every installed plugin (the example plugins, when they are installed);
- **host, N trivial plugins**: ``plexichat serve`` loading ``--trivial`` (50) generated
  plugins, each a real distribution with one ``startup`` hook that does nothing.

It prints each RSS in MiB, host/bare, and the cost of one more trivial plugin
((N trivial - no plugin) / N). Nothing is asserted on memory. Linux only.

    python bench/bench_memory.py [--trivial 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402
from _served import Server, bare_fastapi, plexichat, write_trivial_plugins  # noqa: E402

from plexichat.kernel.discovery import discover  # noqa: E402


def _settled_rss(server: Server, path: str) -> float:
    """RSS in MiB after a few requests (the first requests build caches)."""
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        for _ in range(20):
            client.get(path)
    return server.rss_kib() / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trivial", type=int, default=50, help="trivial plugins (50)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="starts of each server; the median is kept (3)")
    opts = parser.parse_args(argv)

    installed = sorted(c.name for c in discover())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site = work / "site"
        trivial = write_trivial_plugins(site, opts.trivial)
        ready = "/api/v1/health/ready"
        servers: dict[str, tuple[Callable[[Path], AbstractContextManager[Server]], str]] = {
            "bare FastAPI": (bare_fastapi, "/ready"),
            "host, no plugin": (lambda d: plexichat(d, plugins=[]), ready),
            "host, every installed plugin": (lambda d: plexichat(d, plugins=None), ready),
            f"host, {opts.trivial} trivial plugins": (
                lambda d: plexichat(d, plugins=trivial, site=site), ready),
        }
        samples: dict[str, list[float]] = {label: [] for label in servers}
        for i in range(opts.repeat):
            for label, (start, path) in servers.items():
                with start(work / f"{i}-{len(samples[label])}-{label[:4]}") as server:
                    samples[label].append(_settled_rss(server, path))
    rss = {label: statistics.median(values) for label, values in samples.items()}
    bare, empty = rss["bare FastAPI"], rss["host, no plugin"]
    everything = rss["host, every installed plugin"]
    per_plugin = (rss[f"host, {opts.trivial} trivial plugins"] - empty) / opts.trivial
    print(f"RSS of a ready server, median of {opts.repeat} starts; installed plugins: "
          f"{', '.join(installed) or 'none'}")
    for label, value in rss.items():
        print(f"  {label:34} {value:7.1f} MiB  ({value / bare:4.2f}x bare FastAPI)")
    print(f"  one more trivial plugin            {per_plugin * 1024:7.0f} KiB")
    record("memory", {
        "bare_fastapi_mib": round(bare, 1),
        "host_no_plugin_mib": round(empty, 1),
        "host_every_installed_plugin_mib": round(everything, 1),
        "installed_plugins": len(installed),
        f"host_{opts.trivial}_trivial_plugins_mib": round(
            rss[f"host, {opts.trivial} trivial plugins"], 1),
        "per_trivial_plugin_kib": round(per_plugin * 1024),
        "host_every_plugin_over_bare": round(everything / bare, 2),
    }, "none set: RSS for reading", None)


if __name__ == "__main__":
    main()
