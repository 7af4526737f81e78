"""CLI benchmark: ``plexichat --help`` as an operator has it.

Builds a fresh virtual environment with, from this checkout, PlexiChat and every example
plugin (example_plugins/*, mega_cli's 420 commands included), plus 50 generated plugins
each adding 5 commands (real distributions: wheels written here and installed by pip in
the same ``pip install``; none of them editable). Then, in that environment, it times

(a) ``plexichat --help`` (the environment's console script), and
(b) ``python -c "import click"``, the floor: the CLI toolkit and nothing else,

each run N times (7), interleaved, after one warm-up run, and prints the medians and
their ratio (goal <= 3). The warm-up builds the discovery index and the command index,
so the timed runs are warm; its time is printed as the first run. Nothing here asserts
on time; the script checks that the help is right (mega_cli's groups and the generated
commands are listed, ``plexichat dev dev_cmd_1 --help`` and a generated command's help
show their own help) and reports which plugin modules and heavy modules ``plexichat
--help``, ``plexichat dev --help`` and ``plexichat plugins list`` imported (found with
``-X importtime``; expected: none).

    python bench/bench_cli_help.py [--runs 7] [--workdir DIR] [--reuse] [--refresh]

The environment lives in bench/.work/cli_help unless --workdir says otherwise; it is
rebuilt on every run unless --reuse is given (then an environment left by an earlier run
is used as it is); --refresh reinstalls PlexiChat and the example plugins from this
checkout into that environment first (no dependencies), to measure a change without a
rebuild.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.parent for p in (ROOT / "example_plugins").glob("*/pyproject.toml"))
GENERATED, COMMANDS_EACH = 50, 5
ENTRY_POINT_GROUP = "plexichat.plugins"
BARE = "import click"
GROUPS = ("ai", "chat", "dev", "file", "net", "sys", "user", "mega")
HEAVY = ("pydantic", "sqlalchemy", "fastapi", "starlette", "asyncio", "jsonschema",
         "pluggy", "importlib.metadata", "plexichat.host", "plexichat.web",
         "plexichat.kernel.lifecycle")
PLUGIN_PREFIXES = ("plexichat_", "bench_cli_plugin_")
QUIET = ["--quiet", "--disable-pip-version-check"]


# --- the generated plugins ----------------------------------------------------------------


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _plugin_code(index: int) -> str:
    commands = []
    for n in range(1, COMMANDS_EACH + 1):
        commands.append(
            f'@click.command("g{index:02d}-cmd{n}", help="Command {n} of generated plugin '
            f'{index}.\\n\\nIt echoes NAME, COUNT times.")\n'
            '@click.argument("name")\n'
            '@click.option("-c", "--count", type=int, default=1, show_default=True, '
            'help="How many times.")\n'
            '@click.option("--loud/--quiet", default=False, help="Upper case.")\n'
            f"def cmd{n}(name, count, loud):\n"
            "    for _ in range(count):\n"
            "        click.echo(name.upper() if loud else name)\n"
        )
    names = ", ".join(f"cmd{n}" for n in range(1, COMMANDS_EACH + 1))
    return (
        f'"""Generated plugin {index}: {COMMANDS_EACH} CLI commands."""\n\n'
        "import click\n\nfrom plexichat import hookimpl\n\n\n"
        + "\n\n".join(commands)
        + f"\n\n@hookimpl\ndef register_commands():\n    return [{names}]\n"
    )


def plugin_wheel(directory: Path, index: int) -> Path:
    """Write the wheel of generated plugin number ``index`` into ``directory``."""
    name = f"bench_cli_plugin_{index:02d}"
    dist = f"plexichat-bench-cli-plugin-{index:02d}"
    version = "1.0.0"
    dist_info = f"{dist.replace('-', '_')}-{version}.dist-info"
    manifest = {"name": name, "version": version, "type": "feature",
                "description": f"Generated plugin {index} for the CLI benchmark"}
    files = {
        f"{name}/__init__.py": _plugin_code(index),
        f"{name}/plugin.json": json.dumps(manifest, indent=2) + "\n",
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
            f"Summary: Generated plugin {index} for the CLI benchmark\n"
            "Requires-Python: >=3.10\nRequires-Dist: plexichat\n"
        ),
        f"{dist_info}/WHEEL": ("Wheel-Version: 1.0\nGenerator: plexichat-bench\n"
                               "Root-Is-Purelib: true\nTag: py3-none-any\n"),
        f"{dist_info}/entry_points.txt": f"[{ENTRY_POINT_GROUP}]\n{name} = {name}\n",
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


# --- the environment ----------------------------------------------------------------------


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, **kwargs)


def build_environment(work: Path) -> Path:
    """A fresh venv with PlexiChat and every plugin; returns its bin directory."""
    if work.exists():
        shutil.rmtree(work)
    wheels = work / "wheels"
    wheels.mkdir(parents=True)
    env_dir = work / "venv"
    print(f"creating {env_dir} ...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    generated = [str(plugin_wheel(wheels, i)) for i in range(1, GENERATED + 1)]
    started = time.perf_counter()
    run([str(bin_dir / "python"), "-m", "pip", "install", *QUIET, str(ROOT),
         *map(str, EXAMPLES), *generated])
    print(f"installed plexichat, {len(EXAMPLES)} example plugins and {GENERATED} generated "
          f"plugins ({time.perf_counter() - started:.0f} s)", flush=True)
    (work / "ready").write_text("plexichat + example plugins + generated plugins\n")
    return bin_dir


def refresh(bin_dir: Path) -> None:
    """Reinstall PlexiChat and the example plugins from this checkout (no dependencies)."""
    started = time.perf_counter()
    run([str(bin_dir / "python"), "-m", "pip", "install", *QUIET, "--no-deps",
         "--force-reinstall", str(ROOT), *map(str, EXAMPLES)])
    print(f"reinstalled plexichat and the example plugins "
          f"({time.perf_counter() - started:.0f} s)", flush=True)


# --- measuring ----------------------------------------------------------------------------


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout, done.stderr


def check_help(output: str, command_help: str, generated_help: str) -> None:
    listed = {line.split()[0] for line in output.splitlines() if line.startswith("  ")
              and line.split()}
    wanted = [*GROUPS, *(f"g{i:02d}-cmd{n}" for i in range(1, GENERATED + 1)
                         for n in range(1, COMMANDS_EACH + 1))]
    missing = [name for name in wanted if name not in listed]
    if missing:
        sys.exit(f"plexichat --help does not list {missing[:10]}:\n{output}")
    if "dev_cmd_1" not in command_help or "Example:" not in command_help:
        sys.exit(f"plexichat dev dev_cmd_1 --help is wrong:\n{command_help}")
    if "Command 3 of generated plugin 7." not in generated_help or "--loud" not in \
            generated_help:
        sys.exit(f"plexichat g07-cmd3 --help is wrong:\n{generated_help}")


def imported(args: list[str], env: dict[str, str], cwd: Path) -> set[str]:
    """The modules ``args`` imports (``-X importtime``)."""
    done = subprocess.run(args, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, cwd=cwd,
                          capture_output=True, text=True)
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:")}


def report_imports(label: str, modules: set[str]) -> None:
    plugins = sorted(m for m in modules if m.startswith(PLUGIN_PREFIXES)
                     and m.split(".")[0] != "plexichat")
    heavy = [m for m in HEAVY if m in modules]
    print(f"  {label:<28} plugin modules: {', '.join(plugins) or 'none'}; "
          f"heavy modules: {', '.join(heavy) or 'none'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (7)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / ".work" / "cli_help")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the environment an earlier run left in --workdir")
    parser.add_argument("--refresh", action="store_true",
                        help="with --reuse: reinstall PlexiChat and the example plugins first")
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
        shutil.rmtree(cache)  # the warm-up below rebuilds the discovery and command indexes
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PLEXICHAT_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PLEXICHAT_CACHE_DIR=str(cache), PLEXICHAT_DATA_DIR=str(work / "data"))
    cwd = work / "cwd"  # an empty directory: nothing in it shadows an installed module
    cwd.mkdir(exist_ok=True)
    help_cmd = [plexichat, "--help"]
    bare = [python, "-c", BARE]

    cold, output, _ = timed(help_cmd, env, cwd)  # warm-up; builds both indexes
    check_help(output, timed([plexichat, "dev", "dev_cmd_1", "--help"], env, cwd)[1],
               timed([plexichat, "g07-cmd3", "--help"], env, cwd)[1])
    timed(bare, env, cwd)  # warm-up of the baseline
    helps, bares = [], []
    for _ in range(opts.runs):  # interleaved, so drift of the machine hits both
        helps.append(timed(help_cmd, env, cwd)[0])
        bares.append(timed(bare, env, cwd)[0])
    warm, base = statistics.median(helps), statistics.median(bares)
    ran = timed([plexichat, "g07-cmd3", "Ada", "--count", "2"], env, cwd)[1]
    if ran.split() != ["Ada", "Ada"]:
        sys.exit(f"plexichat g07-cmd3 Ada --count 2 printed {ran!r}")

    commands = GENERATED * COMMANDS_EACH
    print(f"python {sys.version.split()[0]}; plexichat + {len(EXAMPLES)} example plugins "
          f"(mega_cli: 420 commands in 7 groups) + {GENERATED} generated plugins "
          f"({commands} commands) installed; median of {opts.runs} interleaved runs after "
          "one warm-up")
    print(f"  plexichat --help              {warm * 1e3:8.1f} ms")
    print(f"  python -c 'import click'      {base * 1e3:8.1f} ms")
    print(f"  plexichat --help (first run)  {cold * 1e3:8.1f} ms  "
          "(builds the discovery and command indexes)")
    report_imports("plexichat --help", imported(help_cmd, env, cwd))
    report_imports("plexichat dev --help", imported([plexichat, "dev", "--help"], env, cwd))
    report_imports("plexichat plugins list", imported([plexichat, "plugins", "list"], env, cwd))
    print(f"ratio help/click = {warm / base:.2f}   (goal <= 3)")
    record("cli_help", {"help_ms": round(warm * 1e3, 1), "import_click_ms": round(base * 1e3, 1),
                        "first_run_ms": round(cold * 1e3, 1), "ratio": round(warm / base, 2)},
           "plexichat --help / import click <= 3", warm / base <= 3,
           ratio=round(warm / base, 2), goal_ratio=3)


if __name__ == "__main__":
    main()
