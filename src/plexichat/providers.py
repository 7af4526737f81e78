"""Which object provides each host service, and which plugin replaced it.

A plugin may replace a host service through ``register_services`` (an ``ai_node``
providing ``ai``, say) or add one of its own; when it goes, the host's own provider
comes back.
"""

from __future__ import annotations

from typing import Any

from .context import HostServices

__all__ = ["ServiceProviders"]

REPLACEABLE = ("ai", "backup", "chat", "webhooks", "security", "analytics")
"""Host services a plugin may replace; any other name adds a service of its own."""


class ServiceProviders:
    """Puts plugin-provided services into ``services`` and takes them out again."""

    def __init__(self, services: HostServices) -> None:
        self.services = services
        self.owners: dict[str, str] = {}
        """``{service: plugin}`` for every service a plugin provides."""
        self._defaults = {name: getattr(services, name) for name in REPLACEABLE}

    def provide(self, service: str, provider: Any, plugin: str) -> None:
        """Let ``plugin`` replace the host's ``service`` (e.g. an ``ai_node`` for ``ai``)."""
        owner = self.owners.get(service)
        if owner is not None and owner != plugin:
            raise ValueError(f"service {service!r} is already provided by plugin {owner!r}")
        if service in REPLACEABLE:
            setattr(self.services, service, provider)
        else:
            self.services.extra[service] = provider
        self.owners[service] = plugin

    def restore(self, service: str) -> None:
        """Put the host's own provider back when the plugin that replaced it goes."""
        self.owners.pop(service, None)
        if service in REPLACEABLE:
            setattr(self.services, service, self._defaults[service])
        else:
            self.services.extra.pop(service, None)
