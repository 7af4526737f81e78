"""Discovery benchmark: ``plexichat plugins list --json`` with 200 installed plugins.

Builds a fresh virtual environment with what an operator has: PlexiChat and every
example plugin (example_plugins/*), installed by ``pip install`` of this checkout (not
editable), plus 200 trivial plugins, each a real distribution: a wheel with a package,
its ``plugin.json`` and an entry point in ``plexichat.plugins``, written here and
installed by pip in one ``pip install`` of the 200 wheels. Then, in that environment, it
times

(a) ``plexichat plugins list --json`` (the environment's console script), and
(b) ``python -c "import importlib.metadata as m; m.entry_points(group=...)"``, the
    floor: finding the entry points and nothing else,

each run N times after one warm-up run, and prints the medians and their ratio
(goal <= 1.3). The very first ``plugins list`` builds the discovery index (manifests
read and validated); it is timed separately and reported as the cold run. Nothing here
asserts on time; the script only checks that the listing is right (the 200 plugins all
``available``, every example plugin listed). The figures go to bench/results/discovery.json.

    python bench/bench_discovery.py [--plugins 200] [--runs 10] [--workdir DIR] [--reuse]

The environment lives in bench/.work/discovery unless --workdir says otherwise; it is
rebuilt on every run unless --reuse is given (then an environment left by an earlier run
with the same number of plugins is used as it is, and only its index is removed).
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUP = "plexichat.plugins"
EXAMPLES = sorted(p.parent for p in (ROOT / "example_plugins").glob("*/pyproject.toml"))
BARE = f"import importlib.metadata as m; m.entry_points(group={GROUP!r})"


# --- the plugins ------------------------------------------------------------------------


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def plugin_wheel(directory: Path, index: int) -> Path:
    """Write the wheel of trivial plugin number ``index`` into ``directory``."""
    name = f"bench_plugin_{index:03d}"
    dist = f"plexichat-bench-plugin-{index:03d}"
    version = "1.0.0"
    dist_info = f"{dist.replace('-', '_')}-{version}.dist-info"
    manifest = {
        "name": name,
        "version": version,
        "description": f"Trivial plugin {index} for the discovery benchmark",
        "author": "PlexiChat benchmarks",
        "type": "feature",
        "api_version": "1.0",
        "min_plexichat_version": "3.0.0",
        "permissions": ["chat:read"],
        "tags": ["bench"],
    }
    files = {
        f"{name}/__init__.py": (
            '"""A trivial plugin: one hook, never imported by the listing."""\n\n'
            "from plexichat import hookimpl\n\n\n"
            "@hookimpl\n"
            "def startup(context):\n"
            "    pass\n"
        ),
        f"{name}/plugin.json": json.dumps(manifest, indent=2) + "\n",
        f"{dist_info}/METADATA": (
            "Metadata-Version: 2.1\n"
            f"Name: {dist}\n"
            f"Version: {version}\n"
            f"Summary: Trivial plugin {index} for the discovery benchmark\n"
            "Author: PlexiChat benchmarks\n"
            "License: MIT\n"
            "Requires-Python: >=3.10\n"
            "Requires-Dist: plexichat\n"
        ),
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\n"
            "Generator: plexichat-bench\n"
            "Root-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
        f"{dist_info}/entry_points.txt": f"[{GROUP}]\n{name} = {name}\n",
    }
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, text in files.items():
        data = text.encode()
        writer.writerow([path, _record_hash(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    files[f"{dist_info}/RECORD"] = record.getvalue()
    wheel = directory / f"{dist.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


# --- the environment --------------------------------------------------------------------


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, **kwargs)


def build_environment(work: Path, n_plugins: int) -> Path:
    """A fresh venv with PlexiChat and ``n_plugins`` plugins; returns its bin directory."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env_dir = work / "venv"
    print(f"creating {env_dir} ...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = str(bin_dir / "python")
    quiet = ["--quiet", "--disable-pip-version-check"]
    started = time.perf_counter()
    run([python, "-m", "pip", "install", *quiet, str(ROOT), *map(str, EXAMPLES)])
    print(f"installed plexichat and {len(EXAMPLES)} example plugins from {ROOT} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    wheels = work / "wheels"
    wheels.mkdir()
    paths = [str(plugin_wheel(wheels, i)) for i in range(n_plugins)]
    started = time.perf_counter()
    run([python, "-m", "pip", "install", *quiet, "--no-index", "--no-deps", *paths])
    print(f"installed {n_plugins} plugin wheels ({time.perf_counter() - started:.0f} s)",
          flush=True)
    (work / "plugins.txt").write_text(str(n_plugins))
    return bin_dir


# --- timing -----------------------------------------------------------------------------


def timed(args: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr.decode(errors='replace')}")
    return elapsed, done.stdout


def check_listing(output: bytes, n_plugins: int) -> None:
    items = json.loads(output)
    ours = [i for i in items if i["name"].startswith("bench_plugin_")]
    states = {i["state"] for i in ours}
    if len(ours) != n_plugins or states != {"available"}:
        sys.exit(f"the listing is wrong: {len(ours)} bench plugins, states {states}")
    examples = len(items) - len(ours)
    if examples != len(EXAMPLES):
        sys.exit(f"the listing is wrong: {examples} other plugins, "
                 f"{len(EXAMPLES)} example plugins installed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plugins", type=int, default=200, help="installed plugins (200)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each (10)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / ".work" / "discovery")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the environment an earlier run left in --workdir")
    opts = parser.parse_args(argv)

    work = opts.workdir.resolve()
    marker = work / "plugins.txt"
    bin_dir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
    if not (opts.reuse and marker.exists() and marker.read_text() == str(opts.plugins)):
        bin_dir = build_environment(work, opts.plugins)
    python, plexichat = str(bin_dir / "python"), str(bin_dir / "plexichat")

    cache = work / "cache"
    if cache.exists():
        shutil.rmtree(cache)  # the first listing below builds the index: the cold run
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PLEXICHAT_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PLEXICHAT_CACHE_DIR=str(cache), PLEXICHAT_DATA_DIR=str(work / "data"))
    listing = [plexichat, "plugins", "list", "--json"]
    bare = [python, "-c", BARE]

    cold, output = timed(listing, env)
    check_listing(output, opts.plugins)
    timed(bare, env)  # warm-up of the baseline (the listing's warm-up was the cold run)
    timed(listing, env)  # first warm run: the index is read, not rebuilt
    lists, bares = [], []
    for _ in range(opts.runs):  # interleaved, so drift of the machine hits both
        lists.append(timed(listing, env)[0])
        bares.append(timed(bare, env)[0])
    warm, base = statistics.median(lists), statistics.median(bares)

    print(f"python {sys.version.split()[0]}; {len(EXAMPLES)} example plugins and "
          f"{opts.plugins} generated plugins installed; "
          f"median of {opts.runs} runs after one warm-up")
    print(f"  plexichat plugins list --json (warm index)  {warm * 1e3:8.1f} ms")
    print(f"  python -c entry_points(group=...)           {base * 1e3:8.1f} ms")
    print(f"  plexichat plugins list --json (cold index)  {cold * 1e3:8.1f} ms  (first run)")
    print(f"warm ratio list/bare = {warm / base:.2f}   (goal <= 1.3)")
    print(f"cold ratio list/bare = {cold / base:.2f}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import record

    record("discovery", {"plugins": opts.plugins + len(EXAMPLES),
                         "list_warm_ms": round(warm * 1e3, 1),
                         "entry_points_ms": round(base * 1e3, 1),
                         "list_cold_ms": round(cold * 1e3, 1),
                         "cold_ratio": round(cold / base, 2)},
           "plugins list --json (warm index) <= 1.3 x finding the entry points",
           warm / base <= 1.3, ratio=round(warm / base, 2), goal_ratio=1.3)


if __name__ == "__main__":
    main()
