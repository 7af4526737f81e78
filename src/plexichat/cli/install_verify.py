"""``plexichat plugins install --verify``: the plugins just installed must start in the
running host, pass their health checks and their self-test; otherwise the environment
goes back to the plugin set recorded before the install."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .target import Target

__all__ = ["require_host", "verify_started"]


def require_host(url: str | None, token: str | None) -> Target:
    """The running host ``--verify`` checks (``url``, else the one serving the data
    directory); refuses, before anything changes, when there is none."""
    from .target import target

    where = target(url, token)
    if not where.url:
        raise click.ClickException(
            f"--verify needs a running host using this environment: none serves "
            f"{where.data_dir.path}. Start `plexichat serve` there or pass --url and "
            "--token; nothing was changed")
    return where


def _failing(checks: dict[str, Any]) -> str:
    bad = [f"{name}: {result.get('message') or 'unhealthy'}"
           for name, result in checks.items()
           if isinstance(result, dict) and not result.get("healthy", False)]
    return "; ".join(bad) or "unhealthy"


def verify_started(where: Target, found: list[Any]) -> list[str]:
    """Check each plugin ``found`` installed on the host at ``where``: ``started``,
    healthy, self-test passed. Returns why each one is not (empty: all are). An
    upgraded plugin cannot be verified live (the host keeps the code it imported until
    it restarts): said, not counted as a failure."""
    from .target import HostError

    problems = []
    for change in found:
        if change.change == "removed":
            continue
        name = change.name
        if change.change in ("upgraded", "reinstalled"):
            click.secho(f"{name}: not verified: the running host keeps the code it has "
                        "imported until it restarts", fg="yellow", err=True)
            continue
        base = f"/api/v1/plugins/{name}"
        try:
            detail = where.call("GET", base)
            if detail.get("state") != "started":
                problems.append(f"{name} did not start at {where.url}: {detail.get('state')}"
                                f": {detail.get('reason') or 'no reason given'}")
                continue
            health = where.call("GET", f"{base}/health")
            if not health.get("healthy"):
                problems.append(f"{name} is not healthy at {where.url}: "
                                f"{_failing(health.get('checks') or {})}")
                continue
            test = where.call("POST", f"{base}/self-test")
        except HostError as exc:
            problems.append(f"{name} could not be verified at {where.url}: {exc.message}")
            continue
        if not test.get("passed"):
            problems.append(f"{name} failed its self-test at {where.url}: "
                            f"{test.get('message') or 'no message'}")
            continue
        click.echo(f"{where.url}: {name} verified: started, healthy, self-test passed "
                   f"({test.get('message') or 'no tests'})")
    return problems
