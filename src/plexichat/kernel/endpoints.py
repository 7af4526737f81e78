"""``api_endpoints``: the paths a manifest declares, compared with the paths served.

After a plugin started, the lifecycle compares the paths its manifest lists in
``api_endpoints`` with the paths of the routes it serves. A manifest that lists none
declares nothing, and nothing is compared. Otherwise every declared path not served,
and every served path not declared, is a warning on the plugin. Paths compare as
written in the route (``/api/v1/items/{item_id}``), a trailing slash aside; a declared
path below a mount the plugin serves (static files, a sub-application) counts as
served, and mounts themselves need no declaration.

:func:`declared_path_problems` is what can be told without running the plugin
(``plexichat plugins check`` reports it).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["declared_path_problems", "endpoint_warnings"]


def _norm(path: str) -> str:
    return path.rstrip("/") or "/"


def endpoint_warnings(declared: Iterable[str], routes: Iterable[str],
                      mounts: Iterable[str] = ()) -> list[str]:
    """The warnings for the ``declared`` paths against the served ``routes`` and
    ``mounts``; empty when nothing is declared or everything matches."""
    wanted = {_norm(p): p for p in declared}
    if not wanted:
        return []
    served = {_norm(p) for p in routes}
    below = [_norm(m) for m in mounts]
    warnings = []
    for norm, path in wanted.items():
        if norm not in served and not any(norm == m or norm.startswith(m + "/")
                                          for m in below):
            warnings.append(f"api_endpoints declares {path}, but the plugin does not "
                            "serve it")
    for norm in sorted(served - set(wanted)):
        warnings.append(f"the plugin serves {norm}, which api_endpoints does not declare")
    return warnings


def declared_path_problems(declared: Iterable[str]) -> list[str]:
    """What is wrong with the declared paths themselves: each is a path beginning with
    ``/``, without query, fragment or whitespace, and listed once."""
    problems, seen = [], set()
    for i, path in enumerate(declared):
        if not path.startswith("/"):
            problems.append(f"api_endpoints.{i} ({path!r}) does not begin with '/'")
        elif any(c in path for c in "?#") or any(c.isspace() for c in path):
            problems.append(f"api_endpoints.{i} ({path!r}) is not a plain path (no query, "
                            "fragment or whitespace)")
        if _norm(path) in seen:
            problems.append(f"api_endpoints.{i} ({path!r}) is listed twice")
        seen.add(_norm(path))
    return problems
