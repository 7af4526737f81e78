"""Write the fault matrix table of docs/RELIABILITY.md from tests/test_fault_matrix.py.

    python scripts/gen_reliability_doc.py           # (re)write the generated part
    python scripts/gen_reliability_doc.py --check   # exit 1 if it is stale

The table is the matrix's ``CASES``: what is wrong with a plugin, the state the host
leaves it in, and what it shows (its reason, or its warnings). The same rows are the
parameters of the test that serves each broken plugin in a real host, so the page says
what the tests check. Only the part between the markers is generated; the rest of the
page is prose. tests/test_docs.py fails when the page is stale.
"""

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from generated_section import replace_section, write_or_check  # noqa: E402

TARGET = ROOT / "docs" / "RELIABILITY.md"
MATRIX = ROOT / "tests" / "test_fault_matrix.py"
BEGIN = "<!-- BEGIN GENERATED FAULT MATRIX (scripts/gen_reliability_doc.py) -->"
END = "<!-- END GENERATED FAULT MATRIX -->"


def load_cases(path: Path = MATRIX) -> tuple[Any, ...]:
    """The ``CASES`` of the fault matrix test module (imported by path, with tests/ on
    ``sys.path`` for its support package)."""
    tests = str(path.parent)
    if tests not in sys.path:
        sys.path.insert(0, tests)
    spec = importlib.util.spec_from_file_location("_fault_matrix", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return tuple(module.CASES)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def table(cases: tuple[Any, ...]) -> str:
    """The matrix as a Markdown table."""
    rows = ["| fault | resulting state | what the host shows | kept with the traceback of the "
            "plugin's code, as |",
            "| --- | --- | --- | --- |"]
    for case in cases:
        shown = f"reason: `{_cell(case.reason)}`" if case.reason else "reason: (none)"
        if case.shown == "warnings":
            shown = f"warning: `{_cell(case.reason)}`"
        kept = f"`{_cell(case.where)}`" if case.where else "—"
        rows.append(f"| {_cell(case.kind)} | `{case.state}` | {shown} | {kept} |")
    return "\n".join(rows)


def generated(cases: tuple[Any, ...]) -> str:
    """The generated part of the page, markers included."""
    return "\n\n".join([BEGIN, table(cases), END])


def update(text: str, cases: tuple[Any, ...]) -> str:
    """``text`` with its generated part rendered from ``cases``."""
    return replace_section(text, BEGIN, END, generated(cases), TARGET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    opts = parser.parse_args(argv)
    cases = load_cases()
    return write_or_check(TARGET, lambda text: update(text, cases),
                          script="gen_reliability_doc.py", check=opts.check,
                          summary=f"{len(cases)} kinds of fault")


if __name__ == "__main__":
    sys.exit(main())
