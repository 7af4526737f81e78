"""Which addresses webhook deliveries may go to.

A webhook target is a URL an operator (or anyone holding the admin token) chose; left
unchecked it lets the host POST into its own network: a database port on 127.0.0.1, a
router's admin page, a cloud metadata service on 169.254.169.254. So a target whose
host is, or resolves to, an address that is not globally routable — loopback, private,
link-local, multicast, reserved, unspecified, shared (carrier-grade NAT) — is refused,
both when the subscription is made and again before every delivery (DNS answers can
change in between), unless the operator allows it:

* ``PLEXICHAT_WEBHOOK_ALLOW_PRIVATE=1`` allows every address;
* ``PLEXICHAT_WEBHOOK_ALLOWED_NETWORKS=127.0.0.1/32,10.20.0.0/16`` allows the listed
  networks (CIDR) only.

Names are resolved with :func:`socket.getaddrinfo`; every address a name resolves to must
be allowed. A name that does not resolve is not refused here: the delivery attempt then
fails (and is retried) like any unreachable receiver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ALLOW_PRIVATE_ENV", "ALLOWED_NETWORKS_ENV", "IPAddress", "IPNetwork",
           "TargetGuard", "address_kind", "parse_networks"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int | None], Sequence[str]]

ALLOW_PRIVATE_ENV = "PLEXICHAT_WEBHOOK_ALLOW_PRIVATE"
ALLOWED_NETWORKS_ENV = "PLEXICHAT_WEBHOOK_ALLOWED_NETWORKS"
_OPT_IN = (f"set {ALLOW_PRIVATE_ENV}=1, or list the network in {ALLOWED_NETWORKS_ENV} "
           "(CIDR, comma-separated), to allow it")


def address_kind(address: IPAddress) -> str | None:
    """Why ``address`` is not a public target (``"loopback"``, ``"private"``...), or None
    when it is globally routable."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_kind(address.ipv4_mapped)
    for kind, flag in (("unspecified", address.is_unspecified),
                       ("loopback", address.is_loopback),
                       ("link-local", address.is_link_local),
                       ("multicast", address.is_multicast),
                       ("reserved", address.is_reserved),
                       ("private", address.is_private)):
        if flag:
            return kind
    if not address.is_global:
        return "not globally routable"
    return None


def parse_networks(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR networks from a comma-separated string (or strings); ``ValueError`` names a
    malformed one."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks: list[IPNetwork] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP network in CIDR form, such as "
                             "127.0.0.1/32 or 10.0.0.0/8") from None
    return tuple(networks)


def _resolve(host: str, port: int | None) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class TargetGuard:
    """The operator's choice of which webhook target addresses are allowed."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=_resolve, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Any) -> TargetGuard:
        """The guard of the host's ``webhook_allow_private`` and
        ``webhook_allowed_networks`` settings."""
        return cls(allow_private=bool(settings.webhook_allow_private),
                   allowed_networks=parse_networks(settings.webhook_allowed_networks))

    def refusal_of_address(self, address: IPAddress) -> str | None:
        """Why a delivery may not go to ``address``, or None when it may."""
        if self.allow_private:
            return None
        kind = address_kind(address)
        if kind is None or any(address in net for net in self.allowed_networks
                               if net.version == address.version):
            return None
        return f"{address} is a {kind} address: webhooks are not sent there ({_OPT_IN})"

    def refusal(self, url: str) -> str | None:
        """Why a delivery may not go to ``url``'s host (an address, or a name and every
        address it resolves to), or None when it may. Blocks on DNS: call it off the
        event loop (:meth:`refusal_async`)."""
        if self.allow_private:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            port = None
        literal = _literal(host)
        if literal is not None:
            return self.refusal_of_address(literal)
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError):
            return None  # unresolvable: the attempt fails like any unreachable receiver
        for text in addresses:
            address = _literal(text)
            if address is None:
                continue
            reason = self.refusal_of_address(address)
            if reason is not None:
                return f"{host} resolves to {reason}"
        return None

    async def refusal_async(self, url: str) -> str | None:
        """:meth:`refusal`, with the DNS lookup in a worker thread (an address needs
        none)."""
        if self.allow_private or _literal(urlsplit(url).hostname or "") is not None:
            return self.refusal(url)
        return await asyncio.to_thread(self.refusal, url)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
