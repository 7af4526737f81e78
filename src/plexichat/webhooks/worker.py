"""The delivery worker: sends due deliveries from the outbox, signed, with retries.

It runs as one asyncio task of the host. It wakes when an event is recorded, when the
earliest pending delivery falls due, and at least every ``poll_interval`` seconds (so
it also sees what other processes sharing the database recorded). Each attempt is a
``POST`` of the JSON payload; a 2xx answer marks the delivery ``delivered``; anything
else (another status, a network error, a timeout) schedules a retry after
``backoff_base * 2**(attempts-1)`` seconds (capped at ``backoff_cap``) until
``max_attempts`` are spent, then marks it ``failed`` with the last error kept.

Before each attempt the target's host is resolved and checked by the
:class:`~plexichat.webhooks.target_guard.TargetGuard`: a target on an address the
operator did not allow (loopback, private, link-local...) is marked ``failed`` at once
with the reason, and nothing is sent. Redirects are never followed: a 3xx answer is a
failed attempt. A ``410 Gone`` answer fails the delivery and disables the subscription
(its state and reason show in the API and the admin UI).

The worker also prunes the delivery log: at start and every ``prune_interval`` seconds
it deletes finished deliveries older than ``retention`` and the events left without one.

Database work runs in worker threads: the event loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx

from .. import __version__
from .outbox import DueDelivery, WebhookEvents, origin, utcnow
from .signing import sign_headers
from .target_guard import TargetGuard

__all__ = ["DeliveryWorker"]

log = logging.getLogger("plexichat.webhooks")

_ERROR_BODY = 300
"""How much of an error response's body the delivery log keeps."""


class DeliveryWorker:
    """Delivers the outbox of one :class:`WebhookEvents`."""

    def __init__(
        self,
        outbox: WebhookEvents,
        *,
        poll_interval: float = 2.0,
        timeout: float = 10.0,
        max_attempts: int = 8,
        backoff_base: float = 5.0,
        backoff_cap: float = 3600.0,
        concurrency: int = 10,
        retention: float = 30 * 86400.0,
        prune_interval: float = 3600.0,
        transport: httpx.AsyncBaseTransport | None = None,
        guard: TargetGuard | None = None,
    ) -> None:
        self.outbox = outbox
        self.guard = guard if guard is not None else TargetGuard()
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.concurrency = concurrency
        self.retention = retention
        """Seconds finished deliveries stay in the delivery log."""
        self.prune_interval = prune_interval
        """Seconds between two prunings of the delivery log."""
        self._transport = transport
        self._task: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, outbox: WebhookEvents, settings: Any) -> DeliveryWorker:
        """A worker configured by the host's ``webhook_*`` settings."""
        return cls(outbox, poll_interval=settings.webhook_poll_interval,
                   timeout=settings.webhook_timeout, max_attempts=settings.webhook_max_attempts,
                   backoff_base=settings.webhook_backoff_base,
                   backoff_cap=settings.webhook_backoff_cap,
                   concurrency=settings.webhook_concurrency,
                   retention=settings.webhook_retention_days * 86400.0,
                   guard=TargetGuard.from_settings(settings))

    @property
    def running(self) -> bool:
        """True while the worker task runs."""
        return self._task is not None and not self._task.done()

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed attempts."""
        return min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempts - 1)))

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start delivering (pending deliveries left by an earlier run included)."""
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._client = httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, transport=self._transport,
            headers={"user-agent": f"PlexiChat-Webhooks/{__version__}"})
        self.outbox.add_listener(self.wake)
        self._task = asyncio.create_task(self._run(), name="plexichat-webhook-delivery")
        self._pruner = asyncio.create_task(self._prune_loop(), name="plexichat-webhook-prune")

    async def stop(self) -> None:
        """Stop; an attempt in flight is handed back to be made again after a restart."""
        self.outbox.remove_listener(self.wake)
        for task in (self._task, self._pruner):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._pruner = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Look at the outbox now (callable from any thread)."""
        loop, event = self._loop, self._wakeup
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(event.set)

    # --- the loop ----------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wakeup is not None
        woken = False
        while True:
            self._wakeup.clear()
            try:
                handled = await self.run_once()
                if handled >= self.concurrency:
                    continue  # more may be due at once
                delay = await self._until_next_due()
                if woken and not handled:
                    # woken by a recording whose transaction may still be committing
                    delay = min(delay, 0.05)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery: reading the outbox failed")
                delay = self.poll_interval
            try:
                await asyncio.wait_for(self._wakeup.wait(), delay)
                woken = True
            except asyncio.TimeoutError:
                woken = False

    async def prune(self) -> tuple[int, int]:
        """Delete what the delivery log has kept longer than ``retention``: finished
        (delivered or failed) deliveries, then events no delivery refers to."""
        cutoff = utcnow() - timedelta(seconds=self.retention)
        return await asyncio.to_thread(self.outbox.prune, cutoff)

    async def _prune_loop(self) -> None:
        """Prune at start, then every ``prune_interval`` seconds."""
        while True:
            try:
                await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery log: pruning failed")
            await asyncio.sleep(self.prune_interval)

    async def _until_next_due(self) -> float:
        due = await asyncio.to_thread(self.outbox.next_due)
        if due is None:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, (due - utcnow()).total_seconds()))

    async def run_once(self) -> int:
        """Attempt every delivery due now (at most ``concurrency``); how many were."""
        lease = 2 * self.timeout + 1
        claim = asyncio.ensure_future(
            asyncio.to_thread(self.outbox.claim_due, self.concurrency, lease))
        try:
            due = await asyncio.shield(claim)
        except asyncio.CancelledError:  # stopping: hand back what the thread claims
            for delivery in await claim:
                self.outbox.release(delivery)
            raise
        if due:
            await asyncio.gather(*(self._deliver(d) for d in due))
        return len(due)

    async def _deliver(self, delivery: DueDelivery) -> None:
        try:
            refusal, final = await self._refusal(delivery)
            code, error = (None, refusal) if refusal else await self._attempt(delivery)
        except asyncio.CancelledError:
            self.outbox.release(delivery)  # shutting down: not the receiver's fault
            raise
        delivered = code is not None and 200 <= code < 300
        if code == 410:  # the receiver says the endpoint is gone for good
            final, refusal = True, (f"the target answered 410 Gone on "
                                    f"{utcnow().isoformat(timespec='seconds')}; the "
                                    "subscription was disabled (enable it again once the "
                                    "receiver is back)")
        retry_at: datetime | None = None
        if not delivered and not final and delivery.attempts < self.max_attempts:
            retry_at = utcnow() + timedelta(seconds=self.backoff(delivery.attempts))
        await asyncio.to_thread(self.outbox.finish, delivery, delivered=delivered,
                                response_code=code, error=error, retry_at=retry_at)
        if code == 410:
            await asyncio.to_thread(self.outbox.disable, delivery.subscription_id, refusal)
        target = f"subscription {delivery.subscription_id} ({origin(delivery.url)})"
        if final:
            log.error("webhook %s %s to %s refused: %s", delivery.event, delivery.message_id,
                      target, refusal)
        elif delivered:
            log.info("webhook %s %s delivered to %s (HTTP %s, attempt %d)", delivery.event,
                     delivery.message_id, target, code, delivery.attempts)
        elif retry_at is not None:
            log.warning("webhook %s %s to %s failed (attempt %d of %d): %s; retrying in "
                        "%.3g s", delivery.event, delivery.message_id, target,
                        delivery.attempts, self.max_attempts, error,
                        self.backoff(delivery.attempts))
        else:
            log.error("webhook %s %s to %s failed after %d attempts: %s", delivery.event,
                      delivery.message_id, target, delivery.attempts, error)

    async def _refusal(self, delivery: DueDelivery) -> tuple[str, bool]:
        """Why the delivery may not be sent now (``""`` when it may), and whether that is
        final: a refused target fails the delivery at once; a name that does not
        resolve in time fails this attempt only (nothing is sent unchecked)."""
        try:
            reason = await asyncio.wait_for(self.guard.refusal_async(delivery.url),
                                            self.timeout)
        except (TimeoutError, asyncio.TimeoutError):
            return f"resolving the target's host took longer than {self.timeout:g} s", False
        return (reason, True) if reason else ("", False)

    async def _attempt(self, delivery: DueDelivery) -> tuple[int | None, str]:
        """One signed POST: ``(status code or None, error text or "")``."""
        try:
            return await asyncio.wait_for(self._post(delivery), self.timeout)
        except (TimeoutError, asyncio.TimeoutError):
            return None, f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # anything else is this attempt's failure, not the loop's
            return None, f"{type(exc).__name__}: {exc}"

    async def _post(self, delivery: DueDelivery) -> tuple[int | None, str]:
        assert self._client is not None
        body = delivery.body()
        headers = {"content-type": "application/json",
                   **sign_headers(delivery.secrets, delivery.message_id, body)}
        async with self._client.stream("POST", delivery.url, content=body.encode(),
                                       headers=headers) as response:
            code = response.status_code
            if 200 <= code < 300:
                return code, ""
            snippet = await _read_some(response, _ERROR_BODY)
            return code, f"HTTP {code}" + (f": {snippet}" if snippet else "")


async def _read_some(response: httpx.Response, limit: int) -> str:
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    text = data[:limit].decode("utf-8", "replace").strip()
    return " ".join(text.split())
