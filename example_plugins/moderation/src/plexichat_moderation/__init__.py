"""plexichat-moderation: blocked words masked or rejected, and a per-user rate limit.

Three hooks do the work:

- ``message_will_post`` and ``message_will_update`` filter every new or edited message
  (bot replies too) against ``blocked_words``: with ``action`` ``mask`` each blocked
  word becomes asterisks, with ``reject`` the message is refused with 400. The
  manifest declares both hooks essential, so while this plugin cannot filter, messages
  are refused rather than stored unchecked.
- ``register_middleware`` adds ``api``-layer middleware that allows each user
  ``rate_limit_per_minute`` posts (``POST /api/v1/channels/{id}/messages``) in any
  sliding minute and answers 429 with ``Retry-After`` beyond that. The counts live in
  ``context.ephemeral``, so on a cluster they are counted across every replica.

Settings are read on every message, so ``PUT /api/v1/plugins/moderation/settings``
applies at once.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from plexichat import hookimpl
from plexichat.chat import MessageDraft, Reject
from plexichat.contributions import MiddlewareSpec, SelfTestResult

__all__ = ["RateLimiter", "blocked_pattern", "moderate"]

_POSTING = re.compile(r"^/api/v1/channels/[^/]+/messages/?$")


@lru_cache(maxsize=32)
def _compile(words: tuple[str, ...]) -> re.Pattern[str] | None:
    alternatives = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    if not alternatives:
        return None
    body = "|".join(re.escape(w) for w in alternatives)
    # whole words only: "ass" does not match "class"
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def blocked_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """The pattern matching any of ``words`` as a whole word, any case (None: no words)."""
    return _compile(tuple(words))


def moderate(text: str, settings: Mapping[str, Any]) -> str | Reject | None:
    """The masked text, a :class:`Reject`, or None when ``text`` contains no blocked word."""
    pattern = blocked_pattern(settings.get("blocked_words", ()))
    if pattern is None:
        return None
    found = [m.group() for m in pattern.finditer(text)]
    if not found:
        return None
    if settings.get("action", "mask") == "reject":
        return Reject("the message contains blocked words: "
                      + ", ".join(sorted({w.lower() for w in found})))
    return pattern.sub(lambda m: "*" * len(m.group()), text)


def _filter(message: MessageDraft, context: Any) -> MessageDraft | Reject | None:
    outcome = moderate(message.text, context.config)
    if isinstance(outcome, str):
        return message.replace(text=outcome)
    return outcome


@hookimpl
def message_will_post(message: MessageDraft, context: Any) -> MessageDraft | Reject | None:
    """Mask or reject blocked words in a new message."""
    return _filter(message, context)


@hookimpl
def message_will_update(message: MessageDraft, context: Any) -> MessageDraft | Reject | None:
    """Mask or reject blocked words in the new text of an edited message."""
    return _filter(message, context)


class RateLimiter:
    """At most ``limit`` hits per key in any ``window`` seconds.

    The sliding window is estimated from two counters, this fixed window's and the
    previous one's (weighted by how much of it still lies in the sliding window): what
    a shared store of counters can hold. ``store`` is ``context.ephemeral`` in the
    plugin (counts shared by every replica); by default this process's memory.
    """

    def __init__(self, store: Any = None, window: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        if store is None:
            from plexichat.services.ephemeral import Ephemeral, MemoryEphemeral

            store = Ephemeral(MemoryEphemeral(), "rate-limit")
        self.store = store
        self.window = window
        self._clock = clock  # wall-clock time: every replica agrees on the windows

    async def hit(self, key: Any, limit: int) -> float | None:
        """Count one hit; None when allowed, else the seconds until one would be."""
        now = self._clock()
        index = math.floor(now / self.window)
        elapsed = now / self.window - index  # of the current window, 0 <= elapsed < 1
        ttl = self.window * 2
        count = await self.store.incr(f"{key}:{index}", ttl=ttl)  # counted first: atomic
        previous = int(await self.store.get(f"{key}:{index - 1}") or 0)
        estimate = previous * (1 - elapsed) + count - 1  # the hits before this one
        if estimate < limit:
            return None
        await self.store.incr(f"{key}:{index}", -1, ttl=ttl)  # refused: not counted
        count -= 1
        if count >= limit:  # not before the next window, once the estimate drops
            return (1 - elapsed) * self.window + self.window * max(0.0, 1 - limit / count)
        # within this window, once the previous window's weight has dropped enough
        return max(0.0, (1 - (limit - count) / previous) - elapsed) * self.window


def _bearer(request: Any) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def rate_limit_middleware(context: Any, limiter: RateLimiter) -> Callable[..., Any]:
    """The ``api`` middleware: 429 for a user past ``rate_limit_per_minute`` posts."""
    from starlette.responses import JSONResponse

    async def rate_limit(request: Any, call_next: Callable[..., Any]) -> Any:
        limit = int(context.config.get("rate_limit_per_minute", 0))
        if limit <= 0 or request.method != "POST" or not _POSTING.match(request.url.path):
            return await call_next(request)
        token = _bearer(request)
        user = context.chat.authenticate(token) if token else None
        if user is None:  # the route itself answers 401
            return await call_next(request)
        wait = await limiter.hit(user.id, limit)
        if wait is None:
            return await call_next(request)
        seconds = max(1, math.ceil(wait))
        return JSONResponse(
            status_code=429, headers={"Retry-After": str(seconds)},
            content={"detail": f"rate limit: at most {limit} messages per minute; "
                               f"try again in {seconds} s"})

    return rate_limit


@hookimpl
def register_middleware(context: Any) -> MiddlewareSpec:
    # Telling users apart needs chat:read; without it the limit is not installed and
    # the plugin's warnings say why (PermissionDenied names the permission to grant).
    context.require("chat", "chat:read")
    # Counted in the host's shared ephemeral state: across replicas on a cluster.
    limiter = RateLimiter(context.ephemeral)
    return MiddlewareSpec("api", rate_limit_middleware(context, limiter), name="rate_limit")


@hookimpl
def self_test(context: Any) -> SelfTestResult:
    """Check masking and rejecting on a sample text, whatever the current settings."""
    sample = {"blocked_words": ["heck"]}
    masked = moderate("Heck, what the heck!", {**sample, "action": "mask"})
    rejected = moderate("heck", {**sample, "action": "reject"})
    passed = masked == "****, what the ****!" and isinstance(rejected, Reject)
    return SelfTestResult(passed, ["mask", "reject"],
                          "masking and rejecting work" if passed else
                          f"unexpected: {masked!r}, {rejected!r}")
