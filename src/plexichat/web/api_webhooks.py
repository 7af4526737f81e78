"""``/api/v1/webhooks``: operators manage outgoing webhook subscriptions (admin token).

A target whose host is (or resolves to) a loopback, private, link-local, multicast or
reserved address is refused with 422 unless the operator allows it
(``PLEXICHAT_WEBHOOK_ALLOW_PRIVATE``, ``PLEXICHAT_WEBHOOK_ALLOWED_NETWORKS``); the delivery
worker checks again before every delivery.

A subscription's secret is returned once, by the ``POST`` that creates it (or rotates
it); afterwards the API shows only a masked form, and the database holds it sealed.
A subscription the target answered ``410 Gone`` is ``disabled`` with the reason.
Deliveries are signed per Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``), so receivers verify them with that secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, field_validator

from ..audit import AuditAction, redact_url
from ..webhooks import (
    Delivery,
    DeliveryWorker,
    InvalidSubscription,
    Subscription,
    SubscriptionNotFound,
    TargetGuard,
    WebhookEvents,
    mask_secret,
)
from ..webhooks.validation import validate_events, validate_secret, validate_url
from .auth import admin_actor, require_admin
from .path_ids import ResourceId, before_id

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"],
                   dependencies=[Depends(require_admin)],
                   responses={401: {"description": "No admin token was sent"},
                              403: {"description": "The admin token is not valid"}})


class WebhookCreate(BaseModel):
    """A new subscription."""

    url: str = Field(description="Where to POST events: an absolute http or https URL.",
                     examples=["https://example.com/plexichat-webhooks"])
    events: list[str] = Field(
        description="Event names to deliver: exact names (`message.posted`), a prefix "
                    "(`message.*`) or `*` for every event.",
        examples=[["message.posted"]])
    secret: str | None = Field(
        default=None,
        description="Signing secret in the Standard Webhooks form `whsec_<base64 of 24-64 "
                    "bytes>`; generated when omitted.")
    description: str = Field(default="", max_length=500, description="A note for operators.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_url(value)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        return validate_events(value)


class DeliveryCounts(BaseModel):
    """Deliveries of one subscription by status."""

    pending: int = 0
    delivered: int = 0
    failed: int = 0


class WebhookView(BaseModel):
    """A subscription as listed: the secret is masked."""

    id: int = Field(examples=[1])
    url: str = Field(examples=["https://example.com/plexichat-webhooks"])
    events: list[str] = Field(examples=[["message.posted"]])
    description: str = Field(examples=["audit log"])
    secret: str = Field(description="Masked: the full secret is shown only on creation "
                                    "and rotation.", examples=["whsec_…"])
    created_at: datetime = Field(examples=["2026-01-02T10:00:00Z"])
    state: Literal["active", "disabled"] = Field(
        description="`disabled`: nothing is queued or sent (e.g. the target answered 410 "
                    "Gone); `POST .../enable` resumes.", examples=["active"])
    disabled_reason: str = Field(description="Why it is disabled (empty when active).",
                                 examples=[""])
    disabled_at: datetime | None = Field(examples=[None])
    previous_secret_until: datetime | None = Field(
        description="After a rotation: until when deliveries are signed with the previous "
                    "secret too (null: no overlap running).", examples=[None])
    deliveries: DeliveryCounts


class WebhookCreated(WebhookView):
    """The new subscription, with its secret in full — the only time it is shown."""

    secret: str = Field(description="The signing secret (`whsec_…`). Store it now: it is "
                                    "never shown again.",
                        examples=["whsec_MfKQ9r73ZXd5j9yqVnU6kXwbEo8IuK3Z"])


class SecretRotation(BaseModel):
    """A new signing secret for a subscription."""

    secret: str | None = Field(
        default=None,
        description="The new secret (`whsec_<base64 of 24-64 bytes>`); generated when "
                    "omitted.")
    overlap_seconds: float | None = Field(
        default=None, ge=0, le=30 * 86400,
        description="Seconds the previous secret keeps signing too (both signatures in "
                    "`webhook-signature`); default `PLEXICHAT_WEBHOOK_SECRET_OVERLAP`. 0 "
                    "switches at once.", examples=[86400])


class WebhookRotated(WebhookView):
    """The subscription with its new secret in full — the only time it is shown."""

    secret: str = Field(description="The new signing secret (`whsec_…`). Store it now: it "
                                    "is never shown again.",
                        examples=["whsec_MfKQ9r73ZXd5j9yqVnU6kXwbEo8IuK3Z"])


class DeliveryView(BaseModel):
    """One entry of the delivery log: an event on its way to one subscription."""

    id: int = Field(examples=[7])
    event_id: int = Field(examples=[12])
    event: str = Field(examples=["message.posted"])
    subscription_id: int = Field(examples=[1])
    webhook_id: str = Field(description="The `webhook-id` header: the same on every retry.",
                            examples=["msg_2f1c9a7e0b8d4c6fa1e3b5d7c9f0a2b4"])
    status: Literal["pending", "delivered", "failed"] = Field(examples=["delivered"])
    attempts: int = Field(examples=[1])
    next_attempt_at: datetime | None = Field(examples=[None])
    last_attempt_at: datetime | None = Field(examples=["2026-01-02T10:06:01Z"])
    last_error: str = Field(examples=[""])
    response_code: int | None = Field(examples=[204])
    created_at: datetime = Field(examples=["2026-01-02T10:06:00Z"])
    delivered_at: datetime | None = Field(examples=["2026-01-02T10:06:01Z"])


class EventView(BaseModel):
    """A recorded webhook event."""

    id: int = Field(examples=[12])
    event: str = Field(examples=["message.posted"])
    source: str = Field(description="`core` or the name of the plugin that emitted it.",
                        examples=["core"])
    payload: dict[str, Any] = Field(examples=[{"message": {"id": 42, "channel_id": 1,
                                                           "author": "ada",
                                                           "text": "hello, world"}}])
    created_at: datetime | None = Field(examples=["2026-01-02T10:06:00Z"])


def _outbox(request: Request) -> WebhookEvents:
    worker: DeliveryWorker = request.app.state.webhook_worker
    return worker.outbox


def _overlap_default(request: Request) -> float:
    return float(request.app.state.host.settings.webhook_secret_overlap)


def _secret_error(exc: InvalidSubscription) -> HTTPException:
    """A 422 about the secret that never echoes it back."""
    return HTTPException(422, [{"type": "value_error", "loc": ["body", "secret"],
                                "msg": exc.message}])


def _guard(request: Request) -> TargetGuard:
    worker: DeliveryWorker = request.app.state.webhook_worker
    return worker.guard


Outbox = Annotated[WebhookEvents, Depends(_outbox)]
Guard = Annotated[TargetGuard, Depends(_guard)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No subscription has that id"}}


def _link(suffix: str, method: str, description: str) -> dict[str, Any]:
    """An OpenAPI link from a created subscription to one of its operations."""
    path = "/api/v1/webhooks/{subscription_id}" + suffix
    return {"operationRef": "#/paths/" + path.replace("/", "~1") + "/" + method,
            "parameters": {"subscription_id": "$response.body#/id"},
            "description": description}


_CREATED_LINKS: dict[int | str, dict[str, Any]] = {201: {"links": {
    "GetWebhook": _link("", "get", "Show the new subscription."),
    "ListDeliveries": _link("/deliveries", "get", "Its delivery log."),
    "DeleteWebhook": _link("", "delete", "Delete the new subscription."),
}}}


def _view(sub: Subscription, counts: dict[str, int] | None,
          model: type[WebhookView] = WebhookView, *, reveal: bool = False) -> Any:
    overlap = sub.previous_secret_until if sub.signing_secrets()[1:] else None
    return model(id=sub.id, url=sub.url, events=sub.events, description=sub.description,
                 secret=sub.secret if reveal else mask_secret(sub.secret),
                 created_at=sub.created_at, state=sub.state,  # type: ignore[arg-type]
                 disabled_reason=sub.disabled_reason, disabled_at=sub.disabled_at,
                 previous_secret_until=overlap, deliveries=DeliveryCounts(**(counts or {})))


def _delivery(d: Delivery) -> DeliveryView:
    return DeliveryView(id=d.id, event_id=d.event_id, event=d.event,
                        subscription_id=d.subscription_id, webhook_id=d.message_id,
                        status=d.status,  # type: ignore[arg-type]
                        attempts=d.attempts, next_attempt_at=d.next_attempt_at,
                        last_attempt_at=d.last_attempt_at, last_error=d.last_error,
                        response_code=d.response_code, created_at=d.created_at,
                        delivered_at=d.delivered_at)


def _get(outbox: WebhookEvents, subscription_id: int) -> Subscription:
    try:
        return outbox.subscription(subscription_id)
    except SubscriptionNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("", status_code=201, response_model=WebhookCreated, responses=_CREATED_LINKS,
             summary="Create a webhook subscription")
def create_webhook(body: WebhookCreate, outbox: Outbox, guard: Guard,
                   request: Request) -> WebhookCreated:
    """Subscribe a URL to events. The response holds the signing secret: the only time
    the API shows it. A target on a non-public address is refused (422) unless the
    operator allows it."""
    if body.secret is not None:
        try:  # checked here so that a 422 never echoes the secret back
            validate_secret(body.secret)
        except InvalidSubscription as exc:
            raise _secret_error(exc) from None
    refusal = guard.refusal(body.url)  # a sync route: FastAPI runs it in a worker thread
    if refusal:
        raise HTTPException(422, [{"type": "value_error", "loc": ["body", "url"],
                                   "msg": refusal}])
    sub = outbox.subscribe(body.url, body.events, body.secret, body.description)
    _audit(request, AuditAction.WEBHOOK_SUBSCRIBE, sub.id,
           {"url": redact_url(sub.url), "events": list(sub.events)})
    result: WebhookCreated = _view(sub, None, WebhookCreated, reveal=True)
    return result


@router.get("", response_model=list[WebhookView], summary="List webhook subscriptions")
def list_webhooks(outbox: Outbox) -> list[WebhookView]:
    """Every subscription, oldest first (secrets masked)."""
    counts = outbox.counts()
    return [_view(s, counts.get(s.id)) for s in outbox.subscriptions()]


@router.get("/events", response_model=list[EventView], summary="Recent webhook events")
def recent_events(outbox: Outbox,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[EventView]:
    """The newest recorded events (core and plugin), newest first."""
    return [EventView(**row) for row in outbox.recent(limit)]


@router.get("/{subscription_id}", response_model=WebhookView, responses=NOT_FOUND,
            summary="Show one webhook subscription")
def get_webhook(subscription_id: ResourceId, outbox: Outbox) -> WebhookView:
    """One subscription (secret masked) with its delivery counts."""
    sub = _get(outbox, subscription_id)
    result: WebhookView = _view(sub, outbox.counts(sub.id).get(sub.id))
    return result


@router.post("/{subscription_id}/rotate-secret", response_model=WebhookRotated,
             responses=NOT_FOUND, summary="Rotate a subscription's signing secret")
def rotate_secret(subscription_id: ResourceId, outbox: Outbox, request: Request,
                  body: SecretRotation | None = None) -> WebhookRotated:
    """Give the subscription a new signing secret, shown in full in this response only.
    During the overlap every delivery carries two signatures (new secret first, then the
    previous one), so a receiver verifies with either while it switches over."""
    body = body or SecretRotation()
    _get(outbox, subscription_id)
    overlap = (body.overlap_seconds if body.overlap_seconds is not None
               else _overlap_default(request))
    try:
        sub = outbox.rotate_secret(subscription_id, body.secret, overlap=overlap)
    except InvalidSubscription as exc:
        raise _secret_error(exc) from None
    except SubscriptionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    _audit(request, AuditAction.WEBHOOK_ROTATE_SECRET, subscription_id,
           {"url": redact_url(sub.url), "overlap_seconds": overlap})  # never the secret
    result: WebhookRotated = _view(sub, outbox.counts(sub.id).get(sub.id), WebhookRotated,
                                   reveal=True)
    return result


@router.post("/{subscription_id}/enable", response_model=WebhookView, responses=NOT_FOUND,
             summary="Enable a disabled webhook subscription")
def enable_webhook(subscription_id: ResourceId, outbox: Outbox,
                   request: Request) -> WebhookView:
    """Deliver to the subscription again (events recorded from now on); its deliveries
    that failed while disabled can be sent again with their retry operation."""
    try:
        sub = outbox.enable(subscription_id)
    except SubscriptionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    _audit(request, AuditAction.WEBHOOK_ENABLE, subscription_id, {"url": redact_url(sub.url)})
    result: WebhookView = _view(sub, outbox.counts(sub.id).get(sub.id))
    return result


@router.delete("/{subscription_id}", status_code=204, responses=NOT_FOUND,
               summary="Delete a webhook subscription")
def delete_webhook(subscription_id: ResourceId, outbox: Outbox,
                   request: Request) -> Response:
    """Delete the subscription and its delivery log; pending deliveries are dropped."""
    try:
        sub = outbox.subscription(subscription_id)
        outbox.unsubscribe(subscription_id)
    except SubscriptionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    _audit(request, AuditAction.WEBHOOK_UNSUBSCRIBE, subscription_id,
           {"url": redact_url(sub.url), "events": list(sub.events)})
    return Response(status_code=204)


def _audit(request: Request, action: AuditAction, subscription_id: int,
           details: dict[str, Any]) -> None:
    """Record a subscription change (sync routes run in a worker thread: written now;
    a failure is logged and the change stands)."""
    request.app.state.host.audit.record_quietly(
        admin_actor(request), action, target=f"webhook:{subscription_id}", details=details)


@router.get("/{subscription_id}/deliveries", response_model=list[DeliveryView],
            responses=NOT_FOUND, summary="The delivery log of one subscription")
def list_deliveries(
    subscription_id: ResourceId,
    outbox: Outbox,
    status: Annotated[Literal["pending", "delivered", "failed"] | None,
                      Query(description="Only deliveries in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, before_id("Only deliveries with a smaller id (to page "
                                            "back).")] = None,
) -> list[DeliveryView]:
    """Deliveries, newest first: status, attempts, next attempt, last error and the
    receiver's last response code."""
    _get(outbox, subscription_id)
    return [_delivery(d) for d in outbox.deliveries(subscription_id, status=status,
                                                    limit=limit, before=before)]


@router.post("/{subscription_id}/deliveries/{delivery_id}/retry",
             response_model=DeliveryView, responses=NOT_FOUND,
             summary="Send a delivery again")
def retry_delivery(subscription_id: ResourceId, delivery_id: ResourceId,
                   outbox: Outbox) -> DeliveryView:
    """Queue a delivery (typically a failed one) again, with its attempts reset."""
    _get(outbox, subscription_id)
    found = outbox.delivery(delivery_id)
    if found is None or found.subscription_id != subscription_id:
        raise HTTPException(404, f"subscription {subscription_id} has no delivery "
                                 f"{delivery_id}")
    retried = outbox.retry(delivery_id)
    assert retried is not None
    return _delivery(retried)
