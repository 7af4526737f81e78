"""The message filters: ``message_will_post`` and ``message_will_update``, run in order.

Each filter receives the draft the previous one left and may change its text, reject it
(:class:`~plexichat.chat.types.Reject`) or pass (None). The whole chain is one
:meth:`~plexichat.kernel.dispatch.Dispatcher.afilter` call per message, so isolation,
attribution, the fault budget and ``filter_timeout`` are the dispatcher's; plain filters
run in a worker thread until they have proved quick (see
:class:`~plexichat.kernel.chain.Probation`).

Failure policy: a filter that raises, times out (``filter_timeout``) or returns
something else than a :class:`~plexichat.chat.types.MessageDraft`, a
:class:`~plexichat.chat.types.Reject` or None is skipped and counted against its plugin
(fail-open). A plugin that lists the hook in its manifest's ``essential_hooks`` makes it
fail-closed instead: while that plugin is failed, quarantined or not started yet, and
whenever its filter fails, the message is refused with
:class:`~plexichat.chat.errors.FilterUnavailable` (503). An operator who disables the
plugin lifts the requirement.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..kernel.dispatch import Dispatcher, ImplementationFailed
from ..kernel.states import PluginState
from .errors import FilterUnavailable, MessageRejected
from .types import MessageDraft, Reject

__all__ = ["FilterChain", "FilterHost", "check_text"]

_NONE: frozenset[str] = frozenset()
_candidate = operator.attrgetter("candidate")

MAX_TEXT = 4000
"""The longest message, in characters."""


def check_text(text: Any) -> str | None:
    """Why ``text`` cannot be a message, or None when it can."""
    if not isinstance(text, str):
        return f"message text must be a string, not {type(text).__name__}"
    if not text.strip():
        return "message text is empty"
    if len(text) > MAX_TEXT:
        return f"message text is longer than {MAX_TEXT} characters"
    return None


class _FilterSettings(Protocol):
    @property
    def filter_timeout(self) -> float: ...


class FilterHost(Protocol):
    """What the filter chain needs of the host: its dispatcher, its plugin records
    (``state``, ``reason``, ``context``, ``candidate.manifest``) and ``filter_timeout``."""

    @property
    def dispatcher(self) -> Dispatcher: ...

    @property
    def records(self) -> Mapping[str, Any]: ...

    @property
    def settings(self) -> _FilterSettings: ...


class FilterChain:
    """Runs the filters of a hook on a draft, with the essential-filter policy."""

    def __init__(self, host: FilterHost) -> None:
        self._host = host
        self._context_of = self.context  # one bound method: the dispatcher keys on it
        self._steps: dict[str, Callable[[str, Any, Any, bool], Any]] = {}
        self._essential: dict[str, tuple[tuple[Any, ...], tuple[str, ...]]] = {}

    async def run(self, hook: str, draft: MessageDraft) -> MessageDraft:
        """Run the filters of ``hook`` in order on ``draft``; the draft to store.

        Raises :class:`MessageRejected` (a filter said no) or :class:`FilterUnavailable`
        (an essential filter cannot run or failed).
        """
        host = self._host
        essential = self.check_essential(hook)
        step = self._steps.get(hook)
        if step is None:
            step = self._steps[hook] = functools.partial(self._step, hook)
        try:
            result: MessageDraft = await host.dispatcher.afilter(
                hook, draft, arg="message", step=step, context_of=self._context_of,
                timeout=host.settings.filter_timeout, fail_closed=essential)
        except ImplementationFailed as failed:  # an essential filter; recorded already
            error = failed.error
            raise FilterUnavailable(failed.plugin, hook, f"its filter failed: "
                                    f"{type(error).__name__}: {error}") from None
        return result

    def _step(self, hook: str, plugin: str, value: Any, draft: MessageDraft,
              fail_closed: bool) -> MessageDraft:
        """What a filter's non-None result makes of the draft."""
        if isinstance(value, Reject):
            raise MessageRejected(plugin, value.reason, value.status_code)
        problem = (check_text(value.text) if isinstance(value, MessageDraft) else
                   f"returned {type(value).__name__}; expected MessageDraft, Reject or None")
        if problem:
            error = TypeError(f"{hook}: {problem}")
            self._host.dispatcher.record_failure(plugin, hook, error)
            if fail_closed:
                raise FilterUnavailable(plugin, hook, f"its filter failed: {error}")
            return draft
        return draft.replace(text=value.text)

    def context(self, plugin: str) -> Any:
        """The context of a started ``plugin`` (None for an unknown one)."""
        record = self._host.records.get(plugin)
        return None if record is None else record.context

    def essential(self, hook: str) -> tuple[str, ...]:
        """Plugins whose manifest declares ``hook`` essential."""
        # What a plugin declares is its candidate's (read before import); the cache
        # stands while every record holds the same candidate (compared by identity
        # first, so an unchanged host costs no scan).
        candidates = tuple(map(_candidate, self._host.records.values()))
        cached = self._essential.get(hook)
        if cached is not None and cached[0] == candidates:
            return cached[1]
        names = tuple(c.name for c in candidates
                      if c.manifest is not None and hook in c.manifest.essential_hooks)
        self._essential[hook] = (candidates, names)
        return names

    def check_essential(self, hook: str) -> frozenset[str]:
        """Refuse while an essential filter cannot run; the essential plugins' names."""
        names = self.essential(hook)
        if not names:
            return _NONE
        running = set()
        for name in names:
            record = self._host.records[name]
            if record.state in (PluginState.DISABLED, PluginState.REJECTED):
                continue  # the operator turned it off, or it never could load
            if record.state in (PluginState.AVAILABLE, PluginState.LOADED):
                raise FilterUnavailable(name, hook, "the plugin has not started yet")
            if record.state is not PluginState.STARTED:
                problem = f"the plugin is {record.state.value}"
                if record.reason:
                    problem += f": {record.reason}"
                raise FilterUnavailable(name, hook, problem)
            running.add(name)
        return frozenset(running) if running else _NONE

