"""CLI benchmark: ``plexichat --help`` with the mega_cli plugin (420 commands) installed.

Builds a fresh virtual environment with PlexiChat and example_plugins/mega_cli installed
from this checkout (``pip install``, not editable: real distributions, as an operator
has them) and nothing else, then, in that environment, times

(a) ``plexichat --help`` (the environment's console script), and
(b) ``python -c "import click"``, the floor: the CLI toolkit and nothing else,

each run N times, interleaved, after one warm-up run, and prints the medians and their
ratio (goal <= 3). The warm-up also builds the discovery index, so the timed runs are
warm. Nothing here asserts on time; the script checks that the help is right (the seven
command groups of mega_cli are listed, and ``plexichat dev dev_cmd_1 --help`` shows the
command's own help) and reports which heavy modules ``--help`` imported (none of
pydantic, SQLAlchemy, FastAPI, asyncio or the mega_cli command table should be).

    python bench/bench_cli_help.py [--runs 20] [--workdir DIR] [--reuse] [--refresh]

The environment lives in bench/.work/cli_help unless --workdir says otherwise; it is
rebuilt on every run unless --reuse is given (then an environment left by an earlier run
is used as it is); --refresh reinstalls PlexiChat and mega_cli from this checkout into
that environment first (no dependencies), to measure a change without a rebuild.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "example_plugins" / "mega_cli"
BARE = "import click"
GROUPS = ("ai", "chat", "dev", "file", "net", "sys", "user")
HEAVY = ("pydantic", "sqlalchemy", "fastapi", "starlette", "asyncio", "jsonschema",
         "importlib.metadata", "plexichat.host", "plexichat.kernel.lifecycle",
         "plexichat_mega_cli.commands")
QUIET = ["--quiet", "--disable-pip-version-check"]


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, **kwargs)


def build_environment(work: Path) -> Path:
    """A fresh venv with PlexiChat and mega_cli; returns its bin directory."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env_dir = work / "venv"
    print(f"creating {env_dir} ...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    started = time.perf_counter()
    run([str(bin_dir / "python"), "-m", "pip", "install", *QUIET, str(ROOT), str(PLUGIN)])
    print(f"installed plexichat and plexichat-mega-cli from {ROOT} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    (work / "ready").write_text("plexichat + mega_cli\n")
    return bin_dir


def refresh(bin_dir: Path) -> None:
    """Reinstall PlexiChat and mega_cli from this checkout (their dependencies stay)."""
    started = time.perf_counter()
    run([str(bin_dir / "python"), "-m", "pip", "install", *QUIET, "--no-deps",
         "--force-reinstall", str(ROOT), str(PLUGIN)])
    print(f"reinstalled plexichat and plexichat-mega-cli ({time.perf_counter() - started:.0f} s)",
          flush=True)


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout


def check_help(output: str, command_help: str) -> None:
    listed = {line.split()[0] for line in output.splitlines() if line.startswith("  ")
              and line.split()}
    missing = [g for g in (*GROUPS, "mega") if g not in listed]
    if missing:
        sys.exit(f"plexichat --help does not list the mega_cli groups {missing}:\n{output}")
    if "dev_cmd_1" not in command_help or "Example:" not in command_help:
        sys.exit(f"plexichat dev dev_cmd_1 --help is wrong:\n{command_help}")


def heavy_imports(plexichat: str, env: dict[str, str], cwd: Path) -> list[str]:
    """The modules of HEAVY that ``plexichat --help`` imports (``-X importtime``)."""
    done = subprocess.run([plexichat, "--help"], env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
                          cwd=cwd, capture_output=True, text=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    return [m for m in HEAVY if m in imported]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each (20)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / ".work" / "cli_help")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the environment an earlier run left in --workdir")
    parser.add_argument("--refresh", action="store_true",
                        help="with --reuse: reinstall PlexiChat and mega_cli into it first")
    opts = parser.parse_args(argv)

    work = opts.workdir.resolve()
    bin_dir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
    if opts.reuse and (work / "ready").exists():
        if opts.refresh:
            refresh(bin_dir)
    else:
        bin_dir = build_environment(work)
    python, plexichat = str(bin_dir / "python"), str(bin_dir / "plexichat")

    cache = work / "cache"
    if cache.exists():
        shutil.rmtree(cache)  # the warm-up below rebuilds the discovery index
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PLEXICHAT_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PLEXICHAT_CACHE_DIR=str(cache), PLEXICHAT_DATA_DIR=str(work / "data"))
    cwd = work / "cwd"  # an empty directory: nothing in it shadows an installed module
    cwd.mkdir(exist_ok=True)
    help_cmd = [plexichat, "--help"]
    bare = [python, "-c", BARE]

    cold, output = timed(help_cmd, env, cwd)  # warm-up; builds the discovery index
    check_help(output, timed([plexichat, "dev", "dev_cmd_1", "--help"], env, cwd)[1])
    timed(bare, env, cwd)  # warm-up of the baseline
    helps, bares = [], []
    for _ in range(opts.runs):  # interleaved, so drift of the machine hits both
        helps.append(timed(help_cmd, env, cwd)[0])
        bares.append(timed(bare, env, cwd)[0])
    warm, base = statistics.median(helps), statistics.median(bares)
    heavy = heavy_imports(plexichat, env, cwd)

    print(f"python {sys.version.split()[0]}; plexichat + mega_cli (420 commands in 7 groups) "
          f"installed; median of {opts.runs} runs after one warm-up")
    print(f"  plexichat --help              {warm * 1e3:8.1f} ms")
    print(f"  python -c 'import click'      {base * 1e3:8.1f} ms")
    print(f"  plexichat --help (first run)  {cold * 1e3:8.1f} ms  (builds the discovery index)")
    print(f"  heavy modules --help imported: {', '.join(heavy) or 'none'}")
    print(f"ratio help/click = {warm / base:.2f}   (goal <= 3)")


if __name__ == "__main__":
    main()
