"""``plexichat plugins check``: is this plugin ready to publish?"""

from __future__ import annotations

import json
import sys

import click

__all__ = ["check"]


@click.command("check")
@click.argument("targets", metavar="PATH...", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of reports.")
def check(targets: tuple[str, ...], as_json: bool) -> None:
    """Check plugin distributions before publishing them.

    PATH is a project directory (its wheel is built into a temporary directory and
    inspected), a built .whl, or the name of an installed distribution or plugin.
    Checked: the plexichat.plugins entry point and the module it names (not imported),
    entry-point name equal to the manifest's name, plugin.json valid and inside the
    wheel, ui/ and docs/ inside the wheel, versions agreeing with the distribution's,
    known permissions, and (as warnings) placeholder metadata left from plexichat
    plugins new: Your Name, example.com addresses and URLs, the generic description.

    Each problem is one line, 'error|warning: FILE: WHAT — FIX'.
    Exit status 1 when any error is found, 2 when a target cannot be checked at all.
    """
    from ..devkit.packaging_check import CheckFailed, CheckReport, check_path, render

    reports: list[CheckReport] = []
    failures: list[tuple[str, str]] = []
    for target in targets:
        try:
            reports.append(check_path(target))
        except CheckFailed as exc:
            failures.append((target, str(exc)))
    if as_json:
        out = [r.as_dict() for r in reports] + [
            {"target": t, "ok": False, "failure": message} for t, message in failures]
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        if reports:
            click.echo(render(reports))
        for target, message in failures:
            click.echo(f"error: {target}: {message}", err=True)
    if failures:
        sys.exit(2)
    if not all(r.ok for r in reports):
        sys.exit(1)
