"""Write docs/HOOKS.md, the hook reference, from the docstrings of plexichat.hookspecs.

    python scripts/gen_hooks_doc.py           # (re)write docs/HOOKS.md
    python scripts/gen_hooks_doc.py --check   # exit 1 if docs/HOOKS.md is stale

Every hookspec must have a docstring: the script refuses to write a reference with a
hook missing. tests/test_docs.py fails when HOOKS.md is stale or a hook is
undocumented.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "HOOKS.md"
SPEC_MARKER = "plexichat_spec"
"""The attribute pluggy's ``HookspecMarker("plexichat")`` sets on every hookspec."""

_SECTION = re.compile(r"^# -+ (?P<title>[^-].*?) -+\s*$")
_ROLE = re.compile(r":(?:func|class|data|mod|meth|attr|exc|obj):`(?P<target>[^`]+)`")


def _areas(module: ModuleType) -> list[ModuleType]:
    """The modules holding the hookspecs: a package's ``AREAS`` in order, else itself."""
    names = getattr(module, "AREAS", None)
    if not names:
        return [module]
    return [importlib.import_module(f"{module.__name__}.{name}") for name in names]


def _specs_of(module: ModuleType, *, defined_here: bool) -> list[tuple[str, Any]]:
    found = [(name, obj) for name, obj in vars(module).items()
             if inspect.isfunction(obj) and getattr(obj, SPEC_MARKER, None) is not None
             and (not defined_here or obj.__module__ == module.__name__)]
    return sorted(found, key=lambda item: item[1].__code__.co_firstlineno)


def hookspecs(module: ModuleType) -> list[tuple[str, Any]]:
    """Every hookspec of ``module`` as ``(name, function)``, in source order.

    ``module`` is one module, or a package whose ``AREAS`` names the modules that
    define its hookspecs, in the order the reference shows them.
    """
    areas = _areas(module)
    if areas == [module]:
        return _specs_of(module, defined_here=False)
    found = [spec for area in areas for spec in _specs_of(area, defined_here=True)]
    names = {name for name, _ in found}
    stray = [name for name, _ in _specs_of(module, defined_here=False) if name not in names]
    if stray:
        raise SystemExit(f"hookspecs in no module of {module.__name__}.AREAS: "
                         f"{', '.join(stray)}")
    return found


def undocumented(module: ModuleType) -> list[str]:
    """Names of the hookspecs of ``module`` that have no docstring."""
    return [name for name, func in hookspecs(module) if not (func.__doc__ or "").strip()]


def sections(module: ModuleType) -> list[tuple[str, list[str]]]:
    """``(section title, [hook names])`` from the ``# --- title ---`` comments."""
    lines_of = {area.__name__: inspect.getsource(area).splitlines() for area in _areas(module)}
    grouped: dict[str, list[str]] = {}
    for name, func in hookspecs(module):
        lines = lines_of.get(func.__module__) or lines_of[module.__name__]
        starts = [(i + 1, m.group("title").strip()) for i, line in enumerate(lines)
                  if (m := _SECTION.match(line))]
        line = func.__code__.co_firstlineno
        title = "Hooks"
        for start, section in starts:
            if start <= line:
                title = section
        grouped.setdefault(title[:1].upper() + title[1:], []).append(name)
    return list(grouped.items())


def signature(name: str, func: Any) -> str:
    """``name(arg: Type, ...) -> Return`` with the annotations as written."""
    sig = inspect.signature(func)

    def text(annotation: Any) -> str:
        return annotation if isinstance(annotation, str) else inspect.formatannotation(
            annotation)

    params = []
    for param in sig.parameters.values():
        if param.annotation is inspect.Parameter.empty:
            params.append(param.name)
        else:
            params.append(f"{param.name}: {text(param.annotation)}")
    result = "" if sig.return_annotation is inspect.Signature.empty else (
        f" -> {text(sig.return_annotation)}")
    return f"{name}({', '.join(params)}){result}"


def to_markdown(doc: str, hooks: set[str]) -> str:
    """A reST-flavoured docstring as Markdown: ``code``, roles, ``::`` literal blocks."""
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            head = line.rstrip()[:-2].rstrip()
            if head:
                out.append(_inline(head + ":", hooks))
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += ["", "```python", textwrap.dedent("\n".join(block)).strip("\n"), "```", ""]
            continue
        out.append(_inline(line, hooks))
        i += 1
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _inline(line: str, hooks: set[str]) -> str:
    line = line.replace("``", "`")

    def role(match: re.Match[str]) -> str:
        target = match.group("target")
        short = target.lstrip("~")
        if target.startswith("~"):
            short = short.rsplit(".", 1)[-1]
        if short in hooks:
            return f"[`{short}`](#{short})"
        return f"`{short}`"

    return _ROLE.sub(role, line)


def render(module: ModuleType) -> str:
    """The whole of HOOKS.md for ``module``."""
    missing = undocumented(module)
    if missing:
        raise SystemExit(f"hookspecs without a docstring: {', '.join(missing)}; "
                         "document them in plexichat.hookspecs")
    names = {name for name, _ in hookspecs(module)}
    funcs = dict(hookspecs(module))
    parts = [
        "# Hook reference",
        "",
        "<!-- Generated by scripts/gen_hooks_doc.py from src/plexichat/hookspecs/. "
        "Do not edit: change the docstrings and run the script. -->",
        "",
        "Every extension point of PlexiChat is one of these hooks. A plugin implements a "
        "hook by defining a function with the hook's name decorated with "
        "`@plexichat.hookimpl` (or, guide-style, the matching method of "
        "`PluginInterface`; see [PLUGIN_DEVELOPMENT](PLUGIN_DEVELOPMENT.md)).",
        "",
        to_markdown(module.__doc__ or "", names),
        "## Contents",
        "",
    ]
    grouped = sections(module)
    for title, hooks in grouped:
        links = ", ".join(f"[`{h}`](#{h})" for h in hooks)
        parts.append(f"- **{title}**: {links}")
    parts.append("")
    for title, hooks in grouped:
        parts += [f"## {title}", ""]
        for name in hooks:
            func = funcs[name]
            parts += [f"### `{name}`", "", "```python", signature(name, func), "```", "",
                      to_markdown(func.__doc__ or "", names)]
    return "\n".join(parts).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the file is stale instead of writing it")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from plexichat import hookspecs as module

    text = render(module)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python scripts/gen_hooks_doc.py",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(hookspecs(module))} hooks)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
