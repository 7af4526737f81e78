"""The permission table in ``plexichat.permissions`` is the one the host uses: every
permission opens a real ``PluginContext`` service, is documented, and every guide-style
``get_services()`` name requests a known permission."""

from __future__ import annotations

from pathlib import Path

import pytest

from plexichat.context import HostServices, PermissionDenied, PluginContext
from plexichat.interface import SERVICE_PERMISSIONS
from plexichat.permissions import (
    KNOWN_PERMISSIONS,
    PERMISSIONS,
    UNGATED_SERVICES,
    context_gates,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "PERMISSIONS.md"

# Accepted in manifests (the guide's vocabulary) but checked by no context service yet.
# A new permission belongs here only on purpose: otherwise it needs a gate.
RESERVED = {"plugin:read", "plugin:write"}


class _Outbox:
    def for_plugin(self, plugin: str, events: list[str]) -> object:
        return (plugin, events)


def _services() -> HostServices:
    return HostServices(store=object(), database=object(), ai=object(), analytics=object(),
                        security=object(), events=object(), webhooks=_Outbox(),
                        backup=object(), chat=object())


def test_names_are_unique_and_known():
    assert len({p.name for p in PERMISSIONS}) == len(PERMISSIONS)
    assert set(KNOWN_PERMISSIONS) == {p.name for p in PERMISSIONS}


def test_only_the_reserved_permissions_open_nothing():
    assert {p.name for p in PERMISSIONS if not p.services} == RESERVED, (
        "a permission in plexichat/permissions.py opens no PluginContext service: give it "
        "services=(...) the context gates, or mark it reserved here on purpose")


@pytest.mark.parametrize("permission", [p for p in PERMISSIONS if p.services],
                         ids=lambda p: p.name)
def test_every_permission_opens_its_context_services(permission):
    granted = PluginContext("p", granted={permission.name}, services=_services())
    bare = PluginContext("p", granted=set(), services=_services())
    for service in permission.services:
        assert hasattr(PluginContext, service), (
            f"{permission.name} names context.{service}, which PluginContext lacks")
        assert getattr(granted, service) is not None
        assert granted.service(service) is not None
        with pytest.raises(PermissionDenied) as denied:
            getattr(bare, service)
        assert denied.value.service == service
        assert denied.value.permission in KNOWN_PERMISSIONS


@pytest.mark.parametrize("service", sorted(context_gates()))
def test_a_denial_names_the_first_permission_of_the_service(service):
    with pytest.raises(PermissionDenied) as denied:
        PluginContext("p", services=_services()).service(service)
    assert denied.value.permission == context_gates()[service][0]
    assert f"context.{service}" in str(denied.value)


def test_db_and_chat_denials_name_the_read_permission():
    assert context_gates()["db"] == ("db:read", "db:write")
    assert context_gates()["chat"] == ("chat:read", "chat:write")


@pytest.mark.parametrize("permission", PERMISSIONS, ids=lambda p: p.name)
def test_every_permission_has_a_doc_row(permission):
    text = DOC.read_text(encoding="utf-8")
    assert f"\n| `{permission.name}` |" in text, (
        f"docs/PERMISSIONS.md has no row for {permission.name}: "
        "run python scripts/gen_permissions_doc.py")


def test_every_guide_service_maps_to_a_known_permission_or_none():
    for service, permission in SERVICE_PERMISSIONS.items():
        if permission is None:
            assert service in UNGATED_SERVICES
        else:
            assert permission in KNOWN_PERMISSIONS, (service, permission)
            assert service in KNOWN_PERMISSIONS[permission].services, (service, permission)


def test_every_gated_context_service_can_be_asked_for_by_a_guide_plugin():
    assert set(context_gates()) <= set(SERVICE_PERMISSIONS)
    assert SERVICE_PERMISSIONS["db"] == "db:write"
    assert SERVICE_PERMISSIONS["chat"] == "chat:write"


def test_a_guide_service_request_opens_the_service_it_names():
    for service, permission in SERVICE_PERMISSIONS.items():
        context = PluginContext("p", granted={permission} if permission else set(),
                                services=_services())
        assert context.service(service) is not None
