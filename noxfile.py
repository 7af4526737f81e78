"""PlexiChat's workflows. ``tox`` holds the test matrix; ``nox`` holds these:

- ``nox -s demo``    the host with every example plugin on http://127.0.0.1:8000
                     (``nox -s demo -- --port 9000`` or ``-- 9000`` to move it; data
                     under ./data); its environment is kept and reused
- ``nox -s cli``     the demo environment's ``plexichat`` on the demo's data
                     (``nox -s cli -- plugins list``)
- ``nox -s build``   wheels and sdists of the host and every example plugin, into dist/
- ``nox -s catalog`` a plugin catalog of those wheels: dist/catalog.json, dist/simple/
- ``nox -s e2e``     builds, installs only those wheels into a fresh virtualenv, and runs
                     scripts/e2e_check.py against a real ``plexichat serve``
- ``nox -s bench``   every bench/bench_*.py (``nox -s bench -- dispatch`` for one)
- ``nox -s docs``    the MkDocs site, built with ``--strict`` into site/ (``-- serve`` to
                     preview it)
- ``nox -s tests``   pytest, as ``tox -e py`` runs it (the default session)
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
DIST = ROOT / "dist"

DOCS_TOOLS = [  # the same as the `docs` extra of pyproject.toml
    "mkdocs>=1.6",
    "neoteroi-mkdocs>=1.2",
    "essentials-openapi>=1.4",
    "mkdocstrings[python]>=1.0",
    "mkdocstrings-python>=2.0",
    "pymdown-extensions>=10.0",
]

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = False


def example_plugins() -> list[Path]:
    """Every example plugin distribution: each directory of example_plugins/ with a
    pyproject.toml."""
    return sorted(p.parent for p in (ROOT / "example_plugins").glob("*/pyproject.toml"))


def distributions() -> list[Path]:
    """The host first, then every example plugin."""
    return [ROOT, *example_plugins()]


def editable_installs() -> list[str]:
    """pip arguments installing the host and every example plugin in editable mode."""
    args: list[str] = []
    for path in distributions():
        args += ["-e", str(path)]
    return args


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, as ``tox -e py`` runs it."""
    plugins = [arg for path in example_plugins() for arg in ("-e", str(path))]
    session.install("-e", f"{ROOT}[test]", *plugins)
    session.run("pytest", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Wheels and sdists of the host and of every example plugin, into dist/.

    dist/ is emptied first, so it holds exactly one build of each distribution. Each
    wheel is built from its sdist, which proves the sdist is complete.
    """
    session.install("build>=1.2")
    if DIST.exists():
        shutil.rmtree(DIST)
    for path in distributions():
        session.run("python", "-m", "build", "--outdir", str(DIST), str(path))
    wheels = sorted(p.name for p in DIST.glob("*.whl"))
    sdists = sorted(p.name for p in DIST.glob("*.tar.gz"))
    if len(wheels) != len(distributions()) or len(sdists) != len(distributions()):
        session.error(f"expected one wheel and one sdist per distribution, got {wheels} "
                      f"and {sdists}")
    session.log("built: " + ", ".join(wheels + sdists))


@nox.session
def catalog(session: nox.Session) -> None:
    """A sample plugin catalog of the example plugins' wheels in dist/ (run ``build``
    first): dist/catalog.json (JSON index, wheel URLs relative to it) and dist/simple/ (a
    PEP 503 simple index). Try ``plexichat plugins search --catalog dist/catalog.json``.
    """
    wheels = sorted(DIST.glob("*.whl"))  # the host's is skipped: it is not a plugin
    if not wheels:
        session.error(f"no wheels in {DIST}; run `nox -s build catalog`")
    session.install(str(ROOT))
    session.run("python", "-m", "plexichat.devkit.catalog", "--output", str(DIST / "catalog.json"),
                "--simple", str(DIST / "simple"), *map(str, wheels))


@nox.session(requires=["build"])
def e2e(session: nox.Session) -> None:
    """The built wheels, installed into a fresh virtualenv, serving for real.

    Runs ``build`` first, then installs only the wheels in dist/ (the host and every
    example plugin, no extras; their dependencies come from the index) into this
    session's fresh virtualenv and runs scripts/e2e_check.py with its Python: no
    test-only package present, plugins listed ``available``, the plugins' CLI commands
    (``plexichat plugins selftest --json`` …), a real ``plexichat serve`` on a free
    127.0.0.1 port, every plugin ``started``, a chat message received over the WebSocket
    by a ``websockets`` client running in a separate environment, each example plugin's
    routes answering, one plugin (hello) uninstalled through the CLI and gone from
    /api/v1/plugins without a restart, installed back from its wheel and started again,
    the server stopped; then ``plexichat plugins lock`` of the environment, reproduced
    in a fresh virtualenv (the host wheel, then ``pip install --require-hashes
    --no-index --find-links dist -r plugins.lock``) with the same plugins and versions.
    """
    wheels = sorted(DIST.glob("*.whl"))
    if len(wheels) != len(distributions()):
        session.error(f"expected {len(distributions())} wheels in {DIST}, found "
                      f"{[w.name for w in wheels]}; run `nox -s build` first")
    # The wheels alone, no extras: what an operator's `pip install` gives.
    session.install(*map(str, wheels))
    tmp = Path(session.create_tmp()).resolve()
    workdir = tmp / "e2e"
    if workdir.exists():
        shutil.rmtree(workdir)
    # The chat WebSocket's client lives in an environment of its own, so nothing it
    # needs can stand in for what the host's environment lacks.
    client = tmp / "ws-client"
    if not (client / "bin" / "python").exists():
        session.run("python", "-m", "venv", str(client))
    session.run(str(client / "bin" / "python"), "-m", "pip", "install", "--quiet",
                "--disable-pip-version-check", "websockets>=15.0", external=True)
    # From outside the source tree, so nothing can be imported from it by accident.
    session.chdir(tmp)
    session.run("python", str(ROOT / "scripts" / "e2e_check.py"), "--workdir", str(workdir),
                "--wheel-dir", str(DIST), "--ws-client-python", str(client / "bin" / "python"),
                "--check-lock", *session.posargs)


@nox.session(reuse_venv=True)
def demo(session: nox.Session) -> None:
    """The host with every example plugin, editable, on http://127.0.0.1:8000.

    The environment is kept between runs: it is installed again only when a
    pyproject.toml of the host or of an example plugin changed (editable installs see
    code changes at once), so a second start is quick and plugins an operator installed
    into it stay. Options after ``--`` go to ``plexichat serve`` and win
    (``-- --port 9000``). Data lives under ./data unless PLEXICHAT_DATA_DIR says
    otherwise; ``nox -s cli -- plugins list`` runs this environment's ``plexichat``.
    """
    stamp = Path(session.virtualenv.location) / ".plexichat-demo-installed"
    wanted = _install_stamp()
    if stamp.exists() and stamp.read_text() == wanted:
        session.log("environment unchanged since its last install: not installing again")
    else:
        session.install(*editable_installs())
        stamp.write_text(wanted)
    data_dir = demo_data_dir()
    session.log(f"data under {data_dir}; API docs at /api/docs, plugins at /api/v1/plugins")
    session.log(f"this environment's CLI: `nox -s cli -- plugins list` (or "
                f"{Path(session.bin) / 'plexichat'} with PLEXICHAT_DATA_DIR={data_dir})")
    session.run("plexichat", "serve", *serve_args(session.posargs),
                env={"PLEXICHAT_DATA_DIR": data_dir})


@nox.session(venv_backend="none")
def cli(session: nox.Session) -> None:
    """``plexichat`` of the demo's environment on the demo's data:
    ``nox -s cli -- plugins list``, ``nox -s cli -- plugins install …``."""
    plexichat = ROOT / ".nox" / "demo" / "bin" / "plexichat"
    if not plexichat.exists():
        session.error(f"{plexichat} does not exist yet: run `nox -s demo` first")
    session.run(str(plexichat), *(session.posargs or ["--help"]),
                env={"PLEXICHAT_DATA_DIR": demo_data_dir()}, external=True)


def demo_data_dir() -> str:
    """Where the demo keeps its data: PLEXICHAT_DATA_DIR, else ./data of the checkout."""
    return os.environ.get("PLEXICHAT_DATA_DIR") or str(ROOT / "data")


def _install_stamp() -> str:
    """What the demo's install depends on: every distribution's path and pyproject.toml."""
    digest = hashlib.sha256()
    for path in distributions():
        digest.update(str(path).encode() + b"\0" + (path / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def serve_args(posargs: list[str]) -> list[str]:
    """``plexichat serve`` options: 127.0.0.1:8000 unless ``posargs`` say otherwise
    (``--port 9000``, ``--host=0.0.0.0`` …, or just a port number)."""
    args = list(posargs)
    if len(args) == 1 and args[0].isdigit():
        args = ["--port", args[0]]
    defaults = {"--host": "127.0.0.1", "--port": "8000"}
    for option, value in reversed(defaults.items()):
        if not any(a == option or a.startswith(option + "=") for a in args):
            args = [option, value, *args]
    return args


@nox.session
def bench(session: nox.Session) -> None:
    """Every bench/bench_*.py, each in its own process; each writes its figures to
    bench/results/<name>.json, and docs/BENCHMARKS.md is regenerated from them.

    Positional arguments select benchmarks by name: ``nox -s bench -- dispatch``
    runs bench/bench_dispatch.py only.
    """
    scripts = sorted((ROOT / "bench").glob("bench_*.py"))
    if session.posargs:
        wanted = {a.removeprefix("bench_").removesuffix(".py") for a in session.posargs}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    if not scripts:
        session.skip("no bench/bench_*.py to run")
    session.install(*editable_installs())
    requirements = ROOT / "bench" / "requirements.txt"
    if requirements.exists():
        session.install("-r", str(requirements))
    if any(s.stem == "bench_requests" for s in scripts):
        _wrk(session)
    for path in scripts:
        session.log(f"--- {path.relative_to(ROOT)}")
        session.run("python", str(path))
    session.run("python", str(ROOT / "scripts" / "gen_benchmarks_doc.py"))


def _wrk(session: nox.Session) -> None:
    """bench_requests.py loads the servers with wrk (a Debian package, not a PyPI one):
    install it with apt-get where that is possible as root, else say how."""
    if shutil.which("wrk") is not None:
        return
    if shutil.which("apt-get") is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.run("apt-get", "install", "-y", "wrk", external=True)
    else:
        session.warn("wrk not found: bench_requests.py will fail (install the wrk package)")


@nox.session
def docs(session: nox.Session) -> None:
    """The MkDocs site, built with ``--strict`` into site/; ``nox -s docs -- serve``
    previews it instead. The generated pages are regenerated by scripts/gen_hooks_doc.py,
    scripts/gen_config_doc.py and scripts/dump_openapi.py (tests/test_docs.py checks
    them). API.md's operations are rendered from docs/_generated/openapi.json and the
    plugin API reference from the docstrings under src/ (read, not imported: the host
    is not installed)."""
    session.install(*DOCS_TOOLS)
    _mermaid(session)
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", *session.posargs[1:])
    else:
        session.run("mkdocs", "build", "--strict", *session.posargs)


MERMAID = "mermaid@11"
"""The npm package that draws docs/ARCHITECTURE.md's diagram in the browser."""


def _mermaid(session: nox.Session) -> None:
    """Put npm's ``mermaid.min.js`` at docs/js/ (kept out of git), where mkdocs.yml's
    ``extra_javascript`` loads it; without npm the site shows the diagram's source."""
    import tarfile
    import tempfile

    target = ROOT / "docs" / "js" / "mermaid.min.js"
    if target.exists():
        return
    if shutil.which("npm") is None:
        session.warn("npm not found: the architecture diagram is shown as its source")
        return
    with tempfile.TemporaryDirectory() as tmp:
        session.run("npm", "pack", MERMAID, "--silent", "--pack-destination", tmp,
                    external=True, silent=True)
        (archive,) = Path(tmp).glob("mermaid-*.tgz")
        with tarfile.open(archive) as tar:
            member = tar.extractfile("package/dist/mermaid.min.js")
            assert member is not None
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(member.read())
