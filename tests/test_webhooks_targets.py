"""Webhook targets on non-public addresses are refused — when subscribing and again
before each delivery — unless the operator allows them.

Private, link-local and metadata addresses (10.x, 169.254.169.254) appear here only as
inputs that must be refused: deliveries in these tests go to a recording transport or to
a receiver on 127.0.0.1, never to them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time

import httpx
import pytest
from support.api import AUTH, TOKEN, eventually
from support.host import running_host
from support.webhook_receiver import receiving

from plexichat.config import HostSettings
from plexichat.storage import Database
from plexichat.webhooks import DeliveryWorker, TargetGuard, WebhookEvents
from plexichat.webhooks.target_guard import address_kind, parse_networks

OPT_IN = "PLEXICHAT_WEBHOOK_ALLOW_PRIVATE"


def _no_dns(host, port):
    raise AssertionError(f"no name should be resolved here, asked for {host!r}")


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("fd00::1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
    ("0.0.0.0", "unspecified"), ("::ffff:127.0.0.1", "loopback"),
    ("100.64.0.1", "not globally routable"),
])
def test_non_public_addresses_are_named(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_are_targets(address):
    assert address_kind(ipaddress.ip_address(address)) is None
    assert TargetGuard(resolver=_no_dns).refusal(f"https://{address}/hook".replace(
        "https://2606:4700::1111", "https://[2606:4700::1111]")) is None


def test_literal_addresses_are_refused_by_default_naming_address_and_opt_in():
    guard = TargetGuard(resolver=_no_dns)
    for url, address, kind in [("http://127.0.0.1:8080/hook", "127.0.0.1", "loopback"),
                               ("http://169.254.169.254/latest/meta-data/",
                                "169.254.169.254", "link-local"),
                               ("http://[::1]:9000/", "::1", "loopback"),
                               ("https://10.0.0.7/hook", "10.0.0.7", "private")]:
        reason = guard.refusal(url)
        assert reason is not None and f"{address} is a {kind} address" in reason, url
        assert OPT_IN in reason and "PLEXICHAT_WEBHOOK_ALLOWED_NETWORKS" in reason


def test_the_opt_ins_allow_what_they_name():
    everything = TargetGuard(allow_private=True, resolver=_no_dns)
    assert everything.refusal("http://169.254.169.254/latest/meta-data/") is None
    assert everything.refusal("http://127.0.0.1:9/") is None
    listed = TargetGuard(allowed_networks=parse_networks("127.0.0.1/32, 10.20.0.0/16"),
                         resolver=_no_dns)
    assert listed.refusal("http://127.0.0.1:9/") is None
    assert listed.refusal("http://10.20.3.4/") is None
    assert "10.21.0.1 is a private address" in listed.refusal("http://10.21.0.1/")
    assert "169.254.169.254" in listed.refusal("http://169.254.169.254/")


def test_every_address_a_name_resolves_to_must_be_allowed():
    answers = {"public.example": ["93.184.215.14"],
               "mixed.example": ["93.184.215.14", "10.9.8.7"],
               "metadata.example": ["169.254.169.254"]}

    def resolver(host, port):
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]

    guard = TargetGuard(resolver=resolver)
    assert guard.refusal("https://public.example/hook") is None
    assert guard.refusal("https://mixed.example/hook") == (
        "mixed.example resolves to 10.9.8.7 is a private address: webhooks are not sent "
        "there (set PLEXICHAT_WEBHOOK_ALLOW_PRIVATE=1, or list the network in "
        "PLEXICHAT_WEBHOOK_ALLOWED_NETWORKS (CIDR, comma-separated), to allow it)")
    assert "169.254.169.254 is a link-local" in guard.refusal("http://metadata.example/")
    # a name that does not resolve is left to the attempt, which fails like any other
    assert guard.refusal("https://nowhere.example/") is None


def test_malformed_networks_are_refused_with_the_setting():
    with pytest.raises(ValueError, match="'10.0.0.0/33' is not an IP network"):
        HostSettings(webhook_allowed_networks="127.0.0.1/32,10.0.0.0/33")
    settings = HostSettings(webhook_allowed_networks=" 127.0.0.1 , 10.1.2.3/8")
    assert settings.webhook_allowed_networks == "127.0.0.1/32,10.0.0.0/8"
    assert TargetGuard.from_settings(settings).allowed_networks == parse_networks(
        "127.0.0.1/32,10.0.0.0/8")


# --- the API ------------------------------------------------------------------------------


def _create(client, url):
    return client.post("/api/v1/webhooks", headers=AUTH,
                       json={"url": url, "events": ["message.posted"]})


def test_the_api_refuses_non_public_targets_by_default(tmp_path):
    with running_host(tmp_path / "data", admin_token=TOKEN) as client:
        for url, address in [("http://127.0.0.1:9/hook", "127.0.0.1"),
                             ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
                             ("http://10.0.0.7/hook", "10.0.0.7"),
                             ("http://localhost:9/hook", "localhost resolves to ")]:
            response = _create(client, url)
            assert response.status_code == 422, (url, response.text)
            (problem,) = response.json()["detail"]
            assert problem["loc"] == ["body", "url"]
            assert address in problem["msg"] and OPT_IN in problem["msg"], problem
        assert client.get("/api/v1/webhooks", headers=AUTH).json() == []


def test_the_api_accepts_an_allowed_network(tmp_path):
    with running_host(tmp_path / "data", admin_token=TOKEN,
                      webhook_allowed_networks="127.0.0.1/32") as client:
        assert _create(client, "http://127.0.0.1:9/hook").status_code == 201
        refused = _create(client, "http://169.254.169.254/latest/meta-data/")
        assert refused.status_code == 422
        assert "169.254.169.254 is a link-local address" in refused.json()["detail"][0]["msg"]


# --- delivery time ------------------------------------------------------------------------


def test_a_name_resolving_to_loopback_is_refused_at_delivery_time(tmp_path):
    """The subscription was made when the name pointed elsewhere; now it resolves to
    loopback: the delivery fails with the reason and the receiver gets nothing."""
    with receiving() as receiver, running_host(
            tmp_path / "data", admin_token=TOKEN, webhook_poll_interval=0.2) as client:
        outbox = client.app.state.webhook_worker.outbox
        for url in (f"http://localhost:{receiver.port}/hook", receiver.url()):
            sub = outbox.subscribe(url, ["*"])
            outbox.record("message.posted", "core", {"text": "hello"})

            def failed(sub_id=sub.id):
                found = client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=AUTH,
                                   params={"status": "failed"}).json()
                return found or None

            (delivery,) = eventually(failed, timeout=10, what="a failed delivery")
            assert "loopback address" in delivery["last_error"], delivery
            assert OPT_IN in delivery["last_error"]
            assert (delivery["attempts"], delivery["response_code"]) == (1, None)
        time.sleep(0.3)
        assert receiver.received == []


def test_the_same_loopback_receiver_gets_the_delivery_when_allowed(tmp_path):
    with receiving() as receiver, running_host(
            tmp_path / "data", admin_token=TOKEN, webhook_poll_interval=0.2,
            webhook_allow_private=True) as client:
        outbox = client.app.state.webhook_worker.outbox
        outbox.subscribe(f"http://localhost:{receiver.port}/hook", ["*"])
        outbox.record("message.posted", "core", {"text": "hello"})
        assert len(receiver.wait_for(1)) == 1


def test_metadata_and_private_targets_are_never_sent(tmp_path):
    """Deliveries go through a recording transport: even a broken guard sends nothing
    out of the machine."""
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: (sent.append(request),
                                                     httpx.Response(204))[1])
    database = Database(f"sqlite:///{tmp_path / 'webhooks.db'}")
    outbox = WebhookEvents(database)
    try:
        metadata = outbox.subscribe("http://169.254.169.254/latest/meta-data/", ["*"])
        private = outbox.subscribe("http://10.0.0.7/hook", ["*"])
        public = outbox.subscribe("http://93.184.215.14/hook", ["*"])
        outbox.record("message.posted", "core", {"text": "hello"})

        async def scenario():
            worker = DeliveryWorker(outbox, transport=transport,
                                    guard=TargetGuard(resolver=_no_dns))
            await worker.start()  # the client it builds uses the recording transport
            try:
                await worker.run_once()
            finally:
                await worker.stop()

        asyncio.run(scenario())
        for sub, address in ((metadata, "169.254.169.254"), (private, "10.0.0.7")):
            (delivery,) = outbox.deliveries(sub.id)
            assert delivery.status == "failed", delivery
            assert delivery.last_error.startswith(f"{address} is a "), delivery.last_error
        assert [str(r.url) for r in sent] == ["http://93.184.215.14/hook"]
        assert outbox.deliveries(public.id)[0].status == "delivered"
    finally:
        database.dispose()


def test_redirects_are_not_followed(tmp_path):
    """A public receiver answering 307 towards the metadata service gets a failed
    attempt; the Location is never requested (the transport records every request)."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(307, headers={"location": "http://169.254.169.254/latest/"})

    database = Database(f"sqlite:///{tmp_path / 'webhooks.db'}")
    outbox = WebhookEvents(database)
    try:
        sub = outbox.subscribe("http://93.184.215.14/hook", ["*"])
        outbox.record("message.posted", "core", {"text": "hello"})

        async def scenario():
            worker = DeliveryWorker(outbox, transport=httpx.MockTransport(answer),
                                    max_attempts=1, guard=TargetGuard(resolver=_no_dns))
            await worker.start()
            try:
                await worker.run_once()
            finally:
                await worker.stop()

        asyncio.run(scenario())
        (delivery,) = outbox.deliveries(sub.id)
        assert (delivery.status, delivery.response_code) == ("failed", 307)
        assert [str(r.url) for r in sent] == ["http://93.184.215.14/hook"]
    finally:
        database.dispose()
