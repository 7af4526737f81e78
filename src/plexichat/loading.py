"""Importing a plugin and registering it with pluggy: the part the CLI shares with the host.

``plexichat --help`` lists the commands plugins add, so it has to import the enabled
plugins and call their ``register_commands`` hook. This module is all it needs for that
and stays light on purpose: it imports neither pydantic, SQLAlchemy, FastAPI nor
asyncio (nor :mod:`importlib.metadata`), so that listing commands costs little more
than importing click. The host (:mod:`plexichat.manager`) uses the same functions.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

    from .discovery import PluginCandidate

__all__ = ["call_each", "load_object", "register_plugin"]

# The syntax of an entry point's value (as importlib.metadata.EntryPoint parses it).
_ENTRY_POINT = re.compile(
    r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


def load_object(candidate: PluginCandidate) -> Any:
    """Import what the candidate's entry point names; a class is instantiated.

    ``SystemExit`` / ``KeyboardInterrupt`` raised by the plugin's import become
    :class:`plexichat.threads.PluginExit`: the plugin's failure, not the host's end.
    """
    match = _ENTRY_POINT.match(candidate.entry_point)
    if match is None:
        raise ValueError(f"entry point {candidate.entry_point!r} is not 'module[:attr]'")
    try:
        obj = importlib.import_module(match.group("module"))
        attrs = match.group("attr")
        for attr in attrs.split(".") if attrs else ():
            obj = getattr(obj, attr)
        if inspect.isclass(obj):
            obj = obj()
    except (SystemExit, KeyboardInterrupt) as exc:
        # Left as they are, these would stop the event loop and with it the host.
        from .threads import PluginExit  # asyncio: imported on this rare path only

        raise PluginExit.wrap(exc) from None
    return obj


def register_plugin(pm: pluggy.PluginManager, name: str, obj: Any) -> str:
    """Register ``obj`` as plugin ``name``; on a problem, unregister and describe it.

    Refused: hook names that are not PlexiChat hooks (unless ``optionalhook``) and hook
    wrappers.
    """
    try:
        pm.register(obj, name=name)
    except Exception as exc:
        return f"registration failed: {type(exc).__name__}: {exc}"
    for caller in pm.get_hookcallers(obj) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is not obj:
                continue
            problem = ""
            if not caller.has_spec() and not impl.optionalhook:
                problem = (f"implements {caller.name!r}, which is not a PlexiChat hook "
                           "(misspelt? see plexichat.hookspecs)")
            elif impl.hookwrapper or impl.wrapper:
                problem = f"{caller.name!r} is a hook wrapper; PlexiChat does not support them"
            if problem:
                pm.unregister(obj)
                return problem
    return ""


def call_each(pm: pluggy.PluginManager, hook_name: str,
              **kwargs: Any) -> list[tuple[str, Any, BaseException | None]]:
    """Call every implementation of a hook, each isolated from the others.

    Returns ``(plugin, value, error)`` for each implementation in registration order
    (the reverse of pluggy's call order; ``tryfirst``/``trylast`` aside); ``error`` is
    what the implementation raised (``SystemExit`` included), else None. The host's
    :class:`~plexichat.dispatch.Dispatcher` does more (timings, fault budget, awaiting
    coroutines); this is for callers that only need the values, such as the CLI.
    """
    out: list[tuple[str, Any, BaseException | None]] = []
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        if impl.hookwrapper or impl.wrapper:  # refused by register_plugin anyway
            continue
        try:
            value = impl.function(*[kwargs[arg] for arg in impl.argnames])
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit included: the plugin's, not ours
            out.append((impl.plugin_name, None, exc))
        else:
            out.append((impl.plugin_name, value, None))
    return out
