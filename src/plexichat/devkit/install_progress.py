"""How far an install has got: its phases, read from what pip prints.

An install goes through ``resolve`` (pip's dry run: the plan, checked against what is
installed), ``download`` (pip collects each distribution: from an index, a URL, a
find-links directory or a local file), ``build`` (an sdist or a project is built into a
wheel) and ``install`` (pip writes the distributions into the environment). pip says
nothing machine-readable about its progress; :func:`phase_of` recognises the lines that
start each phase, and :class:`PhaseTracker` moves forward only (pip interleaves
collecting and building while it resolves an sdist's dependencies: the install has then
reached ``build``). A phase with nothing to do (no sdist: no ``build``) is skipped.

The CLI shows the phases with rich (``plexichat plugins install``); the install job
(:mod:`plexichat.devkit.install_job`) reports them to the server as ``{"phase": …}``
lines, which the API and the web UI show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["PHASES", "PhaseTracker", "phase_of"]

PHASES: tuple[str, ...] = ("resolve", "download", "build", "install")
"""An install's phases, in order."""

_STARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("download", ("Collecting ", "Downloading ", "Processing ", "Obtaining ",
                  "Looking in indexes", "Looking in links", "Cloning ")),
    ("build", ("Installing build dependencies", "Getting requirements to build",
               "Preparing metadata", "Building wheel", "Building wheels for collected",
               "Created wheel", "Running setup.py")),
    ("install", ("Installing collected packages", "Attempting uninstall",
                 "Successfully installed")),
)


def phase_of(line: str) -> str | None:
    """The phase a line of pip's output shows it is in, or ``None`` when the line does
    not tell."""
    text = line.strip()
    for phase, starts in _STARTS:
        if text.startswith(starts):
            return phase
    return None


@dataclass
class PhaseTracker:
    """The current phase of one install, moving only forward; ``on_phase`` hears of
    each phase as it is entered."""

    on_phase: Callable[[str], None] = field(default=lambda phase: None)
    current: str | None = None

    def enter(self, phase: str) -> None:
        """Enter ``phase`` (one of :data:`PHASES`), unless the install is past it."""
        if phase not in PHASES:
            raise ValueError(f"{phase!r} is not an install phase (one of {PHASES})")
        if self.current is not None and PHASES.index(phase) <= PHASES.index(self.current):
            return
        self.current = phase
        self.on_phase(phase)

    def feed(self, line: str) -> None:
        """Read one line of pip's output; enter the phase it shows, if any."""
        phase = phase_of(line)
        if phase is not None:
            self.enter(phase)
