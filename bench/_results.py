"""Benchmark results as JSON: one file per benchmark in bench/results/.

Each benchmark calls :func:`record` once with its headline figures; the file keeps the
figures, the goal, whether the goal was met, and the facts of the machine that
measured them. scripts/gen_benchmarks_doc.py renders docs/BENCHMARKS.md from these
files.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
"""Where the result files are written (and read by scripts/gen_benchmarks_doc.py)."""


def machine() -> dict[str, Any]:
    """The facts of this machine a figure depends on."""
    return {"python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "cpus": os.cpu_count(),
            "system": platform.system(),
            "machine": platform.machine()}


def record(name: str, figures: dict[str, Any], goal: str, met: bool | None, *,
           ratio: float | None = None, goal_ratio: float | None = None) -> Path:
    """Write bench/results/``name``.json and return its path.

    ``figures`` are the measured numbers (name -> value, units in the name), ``goal``
    says in words what they are compared with, ``met`` is whether they reach it (None:
    no goal, for reading). ``ratio`` and ``goal_ratio``, when both are given, are the
    headline ratio and its goal: docs/BENCHMARKS.md charts them.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "name": name,
        "figures": figures,
        "goal": goal,
        "met": met,
        "ratio": ratio,
        "goal_ratio": goal_ratio,
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
    }
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"results written to {path.relative_to(RESULTS.parent.parent)}")
    return path
