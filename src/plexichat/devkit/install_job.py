"""One plugin install, run in a child process: ``python -m plexichat.devkit.install_job``.

The web server never imports the developer tooling; ``POST /api/v1/plugins/install``
starts this module with the server's own interpreter and reads its answer. The protocol
is plain JSON:

- stdin: one :class:`InstallJob` object (``specs``, ``upgrade``, ``index_url``,
  ``extra_index_urls``, ``catalog``, ``force``, ``sys_path``).
- stdout: one JSON object per line: ``{"phase": NAME}`` as the install enters each of
  its phases (:data:`plexichat.devkit.install_progress.PHASES`: ``resolve``,
  ``download``, ``build``, ``install``; one with nothing to do is skipped),
  ``{"plan": ...}`` once pip has resolved the install without performing it
  (:meth:`plexichat.devkit.install_plan.InstallPlan.as_dict`), ``{"pip": LINE}`` for
  each line pip prints, as it prints it, then one final ``{"outcome": ...}``
  (:class:`JobOutcome`).

The job resolves catalog names, prepares the specs (a folder plugin is converted first),
plans the install (:func:`plexichat.devkit.install_plan.plan_install`) and refuses a plan
that breaks an installed requirement unless ``force`` is set (or that installs a version
a catalog blocks; with ``plan_only`` it stops before that: the dry run of the web UI's
plan step), records the plugin set in the install history
(:mod:`plexichat.devkit.install_history`), runs pip and judges what it did
(:func:`plexichat.devkit.install_outcome.assess`); the server then rescans. Anything
else the job's code writes goes to stderr, never into the protocol.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = ["InstallJob", "JobOutcome", "main", "run"]

_log = logging.getLogger("plexichat.install")


@dataclass
class InstallJob:
    """What to install, as ``POST /api/v1/plugins/install`` takes it."""

    specs: list[str]
    upgrade: bool = False
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    catalog: str | None = None
    """The catalog plugin names are taken from (the request's, else the host's setting)."""
    force: bool = False
    """Install even when the plan breaks an installed requirement (logged as a warning)."""
    plan_only: bool = False
    """Stop after the plan: nothing is installed (the outcome carries the plan)."""
    sys_path: list[str] = field(default_factory=list)
    """The server's ``sys.path``: entries the job lacks are put first, so the job sees
    the distributions the server sees."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InstallJob:
        """The job from its JSON object (unknown keys are ignored)."""
        return cls(specs=[str(s) for s in data.get("specs", [])],
                   upgrade=bool(data.get("upgrade", False)),
                   index_url=data.get("index_url"),
                   extra_index_urls=[str(u) for u in data.get("extra_index_urls", [])],
                   catalog=data.get("catalog"),
                   force=bool(data.get("force", False)),
                   plan_only=bool(data.get("plan_only", False)),
                   sys_path=[str(p) for p in data.get("sys_path", [])])


@dataclass
class JobOutcome:
    """The job's final answer. ``error`` set: nothing was run or changed (a spec is not
    installable, pip is missing, the plan was refused: ``conflicts`` then says what it
    would break); ``returncode`` non-zero: pip failed. Otherwise
    ``problems`` says why the install did not achieve its purpose (empty when it did)
    and ``changes`` lists each plugin pip added, removed or changed
    (:class:`plexichat.devkit.installer.PluginChange` as a dict)."""

    command: list[str] = field(default_factory=list)
    returncode: int | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    """What pip resolved before installing (``None`` when no plan was made)."""
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    """What the plan would break (:class:`plexichat.devkit.install_plan.Conflict` as a
    dict with its ``message``); with ``error`` set, the reason for the refusal."""


def run(job: InstallJob, on_line: Callable[[str], None],
        on_plan: Callable[[dict[str, Any]], None] | None = None,
        on_phase: Callable[[str], None] | None = None) -> JobOutcome:
    """Prepare ``job``'s specs, plan the install (the plan to ``on_plan``; refused when
    it breaks an installed requirement, unless ``job.force``), run pip (each output line
    to ``on_line``) and judge the result. ``on_phase`` hears of each phase entered
    (:class:`plexichat.devkit.install_progress.PhaseTracker`). With ``job.plan_only``
    nothing is installed: the outcome carries the plan and its conflicts."""
    from .install_outcome import assess, distributions
    from .install_progress import PhaseTracker
    from .installer import (
        InstallError,
        PipIndex,
        changes,
        from_catalog,
        pip_command,
        prepare,
        run_pip,
        snapshot,
        static_check,
    )

    index = PipIndex(job.index_url, list(job.extra_index_urls))
    phases = PhaseTracker(on_phase or (lambda phase: None))
    phases.enter("resolve")
    with tempfile.TemporaryDirectory(prefix="plexichat-install-") as tmp:
        try:
            specs, picks = from_catalog(job.specs, job.catalog, index)
            prepared = prepare(specs, Path(tmp))
            notes = [f"{p.name}: {p.distribution} {p.version} from {job.catalog}"
                     for p in picks] + prepared.notes
            before, dists_before = snapshot(), distributions()
            pip_args = [*(["--upgrade"] if job.upgrade else []), *index.args(),
                        *prepared.args]
            plan = _plan(job, pip_args, Path(tmp), prepared.distributions, on_plan)
            conflicts = plan["conflicts"] if plan is not None else []
            if job.plan_only:
                return JobOutcome(notes=notes, plan=plan, conflicts=conflicts)
            if plan is not None and plan.get("blocked"):
                return JobOutcome(error=f"refused: {plan['blocked'][0]}; nothing was "
                                  "changed (force does not override a blocked version)",
                                  notes=notes, plan=plan)
            if conflicts and not job.force:
                return JobOutcome(error=_refusal(conflicts[0]["message"]), notes=notes,
                                  plan=plan, conflicts=conflicts)
            for conflict in conflicts:
                _log.warning("installing despite a conflict (force): %s",
                             conflict["message"])
            command = pip_command("install", pip_args)
            _record(job)
        except InstallError as exc:
            return JobOutcome(error=str(exc))

        def line(text: str) -> None:
            phases.feed(text)
            on_line(text)

        code = run_pip(command, line)
    if code != 0:
        return JobOutcome(command=command, returncode=code, notes=notes,
                          plan=plan, conflicts=conflicts)
    found = static_check(changes(before, snapshot()))
    outcome = assess(found, prepared.distributions, dists_before, distributions())
    return JobOutcome(command=command, returncode=code, notes=notes,
                      problems=list(outcome.problems),
                      changes=[c.as_dict() for c in outcome.changes],
                      plan=plan, conflicts=conflicts)


def _record(job: InstallJob) -> None:
    """Record the plugin set before the install in the install history. Raises
    :class:`plexichat.devkit.installer.InstallError` when it cannot be written."""
    from .install_history import HistoryError, record_step
    from .installer import InstallError

    try:
        record_step("upgrade" if job.upgrade else "install",
                    ["POST /api/v1/plugins/install", *job.specs])
    except (HistoryError, OSError) as exc:
        raise InstallError(f"cannot record the install history, so nothing was "
                           f"changed: {exc}") from None


def _plan(job: InstallJob, pip_args: list[str], workdir: Path, requested: list[str],
          on_plan: Callable[[dict[str, Any]], None] | None) -> dict[str, Any] | None:
    """The install's plan as data (handed to ``on_plan``); ``None`` when pip cannot make
    one and ``job.force`` is set. Raises :class:`plexichat.devkit.installer.InstallError`."""
    from .install_plan import plan_install
    from .installer import InstallError

    try:
        plan = plan_install(pip_args, workdir, exclude=requested).as_dict()
    except InstallError as exc:
        if not job.force:
            raise
        _log.warning("installing without a plan (force): %s", exc)
        return None
    if on_plan is not None:
        on_plan(plan)
    return plan


def _refusal(first: str) -> str:
    return (f"refused: {first}; the install would break what is installed, nothing was "
            "changed (force: true installs anyway)")


def main(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Read one job from ``stdin``, write the protocol's lines to ``stdout``."""
    stdin = stdin if stdin is not None else sys.stdin
    out = stdout if stdout is not None else sys.stdout
    sys.stdout = sys.stderr  # anything printed by the job's code stays out of the protocol
    try:
        job = InstallJob.from_json(json.loads(stdin.read()))
        sys.path[:0] = [p for p in job.sys_path if p not in sys.path]

        def emit(obj: dict[str, Any]) -> None:
            out.write(json.dumps(obj) + "\n")
            out.flush()

        outcome = run(job, lambda line: emit({"pip": line}),
                      lambda plan: emit({"plan": plan}),
                      lambda phase: emit({"phase": phase}))
        emit({"outcome": asdict(outcome)})
    finally:
        sys.stdout = out
    return 0


if __name__ == "__main__":
    sys.exit(main())
