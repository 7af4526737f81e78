"""``/api/v1/webhooks``: subscription validation, secrets shown once, the admin token,
the delivery log and recent events, and what the OpenAPI schema documents."""

from __future__ import annotations

import base64

import pytest
from standardwebhooks import Webhook
from support.api import AUTH, TOKEN
from support.host import running_host

from plexichat.webhooks import InvalidSubscription, generate_secret, mask_secret, sign_headers
from plexichat.webhooks.validation import (
    event_matches,
    validate_events,
    validate_secret,
    validate_url,
)


@pytest.fixture
def client(tmp_path):
    # the delivery log test subscribes a closed port of 127.0.0.1: allowed explicitly
    with running_host(tmp_path / "data", admin_token=TOKEN, webhook_poll_interval=0.2,
                      webhook_allowed_networks="127.0.0.1/32") as client:
        yield client


def create(client, **body):
    return client.post("/api/v1/webhooks", headers=AUTH, json=body)


# --- validation -------------------------------------------------------------------------

@pytest.mark.parametrize("url, message", [
    ("ftp://example.com/hook", "url must use http or https, not 'ftp'"),
    ("javascript:alert(1)", "is not absolute"),
    ("file:///etc/passwd", "url must use http or https, not 'file'"),
    ("example.com/hook", "is not absolute"),
    ("/relative/hook", "is not absolute"),
    ("http:///nohost", "url has no host"),
    ("https://user:pw@example.com/hook", "must not contain credentials"),
    ("https://example.com:99999/hook", "invalid port"),
    ("https://example.com/hook#frag", "fragment"),
    ("https://exa mple.com/hook", "spaces"),
    ("", "url is required"),
    ("https://example.com/" + "x" * 2000, "longer than"),
])
def test_bad_urls_are_refused_with_a_reason(url, message):
    with pytest.raises(InvalidSubscription, match=message.replace("(", r"\(")) as caught:
        validate_url(url)
    assert caught.value.field == "url"


def test_good_urls_are_kept():
    assert validate_url(" https://example.com/h?x=1 ") == "https://example.com/h?x=1"
    assert validate_url("HTTP://127.0.0.1:8080/hook") == "HTTP://127.0.0.1:8080/hook"
    assert validate_url("http://[::1]:9000/") == "http://[::1]:9000/"


def test_event_names():
    assert validate_events(["message.posted", "message.*", "*", "message.posted"]) == [
        "message.posted", "message.*", "*"]
    for bad in ([], ["message..posted"], ["mess age"], ["*.posted"], [""], "message.posted"):
        with pytest.raises(InvalidSubscription) as caught:
            validate_events(bad)
        assert caught.value.field == "events"
    assert event_matches(["*"], "anything.at.all")
    assert event_matches(["message.*"], "message.posted")
    assert not event_matches(["message.*"], "messages.posted")
    assert not event_matches(["message.posted"], "message.deleted")


def test_secrets_have_the_standard_webhooks_form():
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert generate_secret() != secret
    assert validate_secret(secret) == secret
    for bad, message in [("plain", "whsec_"), ("whsec_***", "base64"),
                         ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes")]:
        with pytest.raises(InvalidSubscription, match=message):
            validate_secret(bad)
    masked = mask_secret(secret)
    assert masked.startswith("whsec_…") and secret not in masked and len(masked) < 15


def test_signatures_verify_with_the_reference_package():
    secret = generate_secret()
    body = '{"type":"a.b","timestamp":"2024-01-01T00:00:00Z","data":{}}'
    headers = sign_headers(secret, "msg_1", body)
    assert Webhook(secret).verify(body.encode(), headers) == {
        "type": "a.b", "timestamp": "2024-01-01T00:00:00Z", "data": {}}
    # the signature is the spec's HMAC-SHA256 of "<id>.<timestamp>.<body>"
    import hashlib
    import hmac

    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(
        key, f"msg_1.{headers['webhook-timestamp']}.{body}".encode(), hashlib.sha256
    ).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


# --- the API ----------------------------------------------------------------------------

def test_non_http_schemes_are_refused_naming_the_field(client):
    response = create(client, url="ftp://example.com/hook", events=["*"])
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "url"]
    assert "url must use http or https, not 'ftp'" in problem["msg"]
    assert client.get("/api/v1/webhooks", headers=AUTH).json() == []


def test_bad_events_and_secrets_are_refused_naming_the_field(client):
    response = create(client, url="https://example.com/hook", events=[])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events"]

    bad_secret = "whsec_" + base64.b64encode(b"too short but secret").decode()
    response = create(client, url="https://example.com/hook", events=["*"],
                      secret=bad_secret)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "secret"]
    assert "24 to 64 bytes" in problem["msg"]
    assert bad_secret not in response.text  # not even an invalid secret is echoed


def test_the_secret_is_returned_once(client):
    response = create(client, url="https://example.com/hook", events=["message.posted"],
                      description="audit log")
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["events"] == ["message.posted"]
    assert created["description"] == "audit log"
    assert created["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0}

    listed = client.get("/api/v1/webhooks", headers=AUTH)
    shown = client.get(f"/api/v1/webhooks/{created['id']}", headers=AUTH)
    for response in (listed, shown):
        assert response.status_code == 200
        assert secret not in response.text
        assert secret.removeprefix("whsec_") not in response.text
    assert shown.json()["secret"] == mask_secret(secret)
    assert listed.json() == [shown.json()]


def test_a_given_secret_is_kept(client):
    secret = generate_secret()
    created = create(client, url="https://example.com/hook", events=["*"], secret=secret)
    assert created.json()["secret"] == secret
    outbox = client.app.state.webhook_worker.outbox
    assert outbox.subscription(created.json()["id"]).secret == secret


def test_delete(client):
    sub = create(client, url="https://example.com/hook", events=["*"]).json()
    assert client.delete(f"/api/v1/webhooks/{sub['id']}", headers=AUTH).status_code == 204
    missing = client.get(f"/api/v1/webhooks/{sub['id']}", headers=AUTH)
    assert missing.status_code == 404
    assert f"no webhook subscription has id {sub['id']}" in missing.json()["detail"]
    assert client.delete(f"/api/v1/webhooks/{sub['id']}", headers=AUTH).status_code == 404
    assert client.get(f"/api/v1/webhooks/{sub['id']}/deliveries",
                      headers=AUTH).status_code == 404


def test_every_endpoint_needs_the_admin_token(client):
    sub = create(client, url="https://example.com/hook", events=["*"]).json()
    calls = [("get", "/api/v1/webhooks"), ("post", "/api/v1/webhooks"),
             ("get", f"/api/v1/webhooks/{sub['id']}"),
             ("delete", f"/api/v1/webhooks/{sub['id']}"),
             ("get", f"/api/v1/webhooks/{sub['id']}/deliveries"),
             ("post", f"/api/v1/webhooks/{sub['id']}/deliveries/1/retry"),
             ("get", "/api/v1/webhooks/events")]
    for method, path in calls:
        assert client.request(method, path).status_code == 401, path
        wrong = {"Authorization": "Bearer wrong"}
        assert client.request(method, path, headers=wrong).status_code == 403, path


def test_recent_events_and_the_delivery_log(client):
    sub = create(client, url="http://127.0.0.1:9/never", events=["message.*"]).json()
    outbox = client.app.state.webhook_worker.outbox
    first = outbox.record("message.posted", "core", {"n": 1})
    outbox.record("user.registered", "core", {"n": 2})
    events = client.get("/api/v1/webhooks/events", headers=AUTH, params={"limit": 10}).json()
    assert [(e["event"], e["source"], e["payload"]) for e in events] == [
        ("user.registered", "core", {"n": 2}), ("message.posted", "core", {"n": 1})]
    log = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=AUTH).json()
    assert [(d["event_id"], d["event"]) for d in log] == [(first, "message.posted")]
    assert set(log[0]) == {
        "id", "event_id", "event", "subscription_id", "webhook_id", "status", "attempts",
        "next_attempt_at", "last_attempt_at", "last_error", "response_code", "created_at",
        "delivered_at"}
    assert client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=AUTH,
                      params={"status": "bogus"}).status_code == 422
    assert client.get("/api/v1/webhooks/events", headers=AUTH,
                      params={"limit": 0}).status_code == 422


def test_openapi_documents_the_webhook_api(client):
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/webhooks"]) == {"get", "post"}
    assert set(paths["/api/v1/webhooks/{subscription_id}"]) == {"get", "delete"}
    assert "get" in paths["/api/v1/webhooks/{subscription_id}/deliveries"]
    assert "get" in paths["/api/v1/webhooks/events"]
    components = schema["components"]["schemas"]
    for model in ("WebhookCreate", "WebhookCreated", "WebhookView", "DeliveryView",
                  "EventView"):
        assert model in components, model
    assert "never shown again" in components["WebhookCreated"]["properties"]["secret"][
        "description"]
    post = paths["/api/v1/webhooks"]["post"]
    assert post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "WebhookCreated")


@pytest.mark.parametrize("bad_id", [2**31, 2**63, 10**30, 0])
def test_ids_the_database_cannot_hold_answer_422(client, bad_id):
    for method, path in [("GET", f"/api/v1/webhooks/{bad_id}"),
                         ("DELETE", f"/api/v1/webhooks/{bad_id}"),
                         ("GET", f"/api/v1/webhooks/{bad_id}/deliveries"),
                         ("POST", f"/api/v1/webhooks/1/deliveries/{bad_id}/retry"),
                         ("POST", f"/api/v1/webhooks/{bad_id}/deliveries/1/retry")]:
        response = client.request(method, path, headers=AUTH)
        assert response.status_code == 422, (path, response.text)
    largest = 2**31 - 1  # PostgreSQL INTEGER
    assert client.get(f"/api/v1/webhooks/{largest}/deliveries",
                      headers=AUTH).status_code == 404
    assert client.get("/api/v1/webhooks/1/deliveries", headers=AUTH,
                      params={"before": 2**31}).status_code == 422
