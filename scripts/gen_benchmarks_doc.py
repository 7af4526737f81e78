"""Write the results table and chart of docs/BENCHMARKS.md from bench/results/*.json.

    python scripts/gen_benchmarks_doc.py           # (re)write the generated part
    python scripts/gen_benchmarks_doc.py --check   # exit 1 if it is stale

Each benchmark under bench/ writes bench/results/<name>.json when it runs
(bench/_results.py). Only the part between the markers is generated; the rest of the
page is prose. tests/test_docs.py fails when the page is stale.

(No ``from __future__ import annotations``: tests import this file by path, outside
``sys.modules``, where a dataclass cannot resolve string annotations.)
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from generated_section import replace_section, write_or_check  # noqa: E402

TARGET = ROOT / "docs" / "BENCHMARKS.md"
RESULTS = ROOT / "bench" / "results"
BEGIN = "<!-- BEGIN GENERATED BENCHMARKS (scripts/gen_benchmarks_doc.py) -->"
END = "<!-- END GENERATED BENCHMARKS -->"


@dataclass(frozen=True)
class Result:
    """One benchmark's recorded result."""

    name: str
    figures: dict[str, Any]
    goal: str
    met: bool | None
    ratio: float | None
    goal_ratio: float | None
    machine: dict[str, Any]
    date: str

    @classmethod
    def load(cls, path: Path) -> "Result":
        """Read one bench/results/<name>.json."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(name=data["name"], figures=data["figures"], goal=data["goal"],
                   met=data["met"], ratio=data.get("ratio"), goal_ratio=data.get("goal_ratio"),
                   machine=data["machine"], date=data["date"])


def load_results(directory: Path) -> list[Result]:
    """Every result in ``directory``, by name."""
    return [Result.load(p) for p in sorted(directory.glob("*.json"))]


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _verdict(met: bool | None) -> str:
    return {True: "**met**", False: "**missed**", None: "no goal"}[met]


def _machine(facts: dict[str, Any]) -> str:
    return f"Python {facts['python']}, {facts['cpus']} CPUs ({facts['system']} {facts['machine']})"


def table(results: list[Result]) -> str:
    """The Markdown table: benchmark, figures, goal, verdict, machine, date."""
    lines = ["| benchmark | figures | goal | | measured on | date |",
             "|---|---|---|---|---|---|"]
    for r in results:
        figures = "<br>".join(f"`{k}` {v}" for k, v in r.figures.items())
        lines.append(f"| [`bench_{r.name}.py`](#{r.name}) | {figures} | {_cell(r.goal)} | "
                     f"{_verdict(r.met)} | {_machine(r.machine)} | {r.date} |")
    return "\n".join(lines)


def chart(results: list[Result]) -> str:
    """A Mermaid bar chart of each headline ratio (bars) against its goal (line)."""
    charted = [r for r in results if r.ratio is not None and r.goal_ratio is not None]
    if not charted:
        return "No benchmark recorded a ratio with a goal yet."
    top = max(max(r.ratio or 0, r.goal_ratio or 0) for r in charted) * 1.1
    names = ", ".join(f'"{r.name}"' for r in charted)
    return "\n".join([
        "```mermaid",
        "xychart-beta",
        '    title "Measured ratio (bars) against its goal (line); lower is better"',
        f"    x-axis [{names}]",
        f'    y-axis "ratio" 0 --> {top:.1f}',
        f"    bar [{', '.join(f'{r.ratio:g}' for r in charted)}]",
        f"    line [{', '.join(f'{r.goal_ratio:g}' for r in charted)}]",
        "```",
    ])


def generated(results: list[Result]) -> str:
    """The generated part of the page, markers included."""
    return "\n\n".join([BEGIN, table(results), chart(results), END])


def update(text: str, results: list[Result]) -> str:
    """``text`` with its generated part rendered from ``results``."""
    return replace_section(text, BEGIN, END, generated(results), TARGET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    opts = parser.parse_args(argv)
    results = load_results(RESULTS)
    return write_or_check(TARGET, lambda text: update(text, results),
                          script="gen_benchmarks_doc.py", check=opts.check,
                          summary=f"{len(results)} benchmark results")


if __name__ == "__main__":
    sys.exit(main())
