"""Importing a plugin and registering it with pluggy: the part the CLI shares with the host.

``plexichat --help`` lists the commands plugins add, so it has to import the enabled
plugins and call their ``register_commands`` hook. This module is all it needs for that
and stays light on purpose: it imports neither pydantic, SQLAlchemy, FastAPI nor
asyncio (nor :mod:`importlib.metadata`), so that listing commands costs little more
than importing click. The lifecycle (:mod:`plexichat.kernel.lifecycle`) uses the same functions.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

    from .discovery import PluginCandidate

__all__ = ["call_each", "load_object", "register_plugin", "wrong_arguments"]

# The syntax of an entry point's value (as importlib.metadata.EntryPoint parses it).
_ENTRY_POINT = re.compile(
    r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


def load_object(candidate: PluginCandidate) -> Any:
    """Import what the candidate's entry point names; a class is instantiated.

    ``SystemExit`` / ``KeyboardInterrupt`` raised by the plugin's import become
    :class:`plexichat.kernel.threads.PluginExit`: the plugin's failure, not the host's end.
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

    Refused: hook names that are not PlexiChat hooks (unless ``optionalhook``), hook
    wrappers, and implementations taking an argument their hook does not have (the
    problem then shows the hook's real signature next to the given one).
    """
    try:
        pm.register(obj, name=name)
    except Exception as exc:
        return (wrong_arguments(pm, obj)
                or f"registration failed: {type(exc).__name__}: {exc}")
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


def wrong_arguments(pm: pluggy.PluginManager, obj: Any) -> str:
    """Describe the first hook implementation of ``obj`` taking an argument its hook lacks.

    For example ``hook message_will_post(msg, context) takes no argument 'msg'; expected:
    def message_will_post(message: MessageDraft, context: PluginContext) -> Any``.
    Empty when every implementation's arguments are the hook's. (pluggy refuses such an
    implementation too, but without showing the hook's signature.)
    """
    for attr in sorted(dir(obj)):
        try:
            opts = pm.parse_hookimpl_opts(obj, attr)
        except Exception:  # an attribute that raises on access is no hook implementation
            continue
        if opts is None:
            continue
        hook = opts.get("specname") or attr
        spec = getattr(getattr(pm.hook, hook, None), "spec", None)
        if spec is None:
            continue
        try:
            given = inspect.signature(getattr(obj, attr)).parameters.values()
        except (TypeError, ValueError):
            continue
        # as pluggy does: arguments with a default value are not checked
        required = [p.name for p in given if p.default is p.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        unknown = [n for n in required if n not in spec.argnames]
        if unknown:
            names = ", ".join(repr(n) for n in unknown)
            plural = "s" if len(unknown) > 1 else ""
            return (f"hook {hook}({', '.join(p.name for p in given)}) takes no argument"
                    f"{plural} {names}; expected: {_signature_text(spec.function, hook)} "
                    "(an implementation takes any of these arguments, by name)")
    return ""


def _signature_text(function: Any, name: str) -> str:
    """``def name(arg: Type, ...) -> Return`` of a hookspec, annotations as written."""
    def shown(annotation: Any) -> str:
        if isinstance(annotation, str):  # `from __future__ import annotations`
            return annotation
        return getattr(annotation, "__name__", repr(annotation))

    signature = inspect.signature(function)
    params = ", ".join(
        p.name + ("" if p.annotation is p.empty else f": {shown(p.annotation)}")
        for p in signature.parameters.values())
    returns = ("" if signature.return_annotation is signature.empty
               else f" -> {shown(signature.return_annotation)}")
    return f"def {name}({params}){returns}"


def call_each(pm: pluggy.PluginManager, hook_name: str,
              **kwargs: Any) -> list[tuple[str, Any, BaseException | None]]:
    """Call every implementation of a hook, each isolated from the others.

    Returns ``(plugin, value, error)`` for each implementation in registration order
    (the reverse of pluggy's call order; ``tryfirst``/``trylast`` aside); ``error`` is
    what the implementation raised (``SystemExit`` included), else None. The host's
    :class:`~plexichat.kernel.dispatch.Dispatcher` does more (timings, fault budget, awaiting
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
