"""Permission gates for guide-style plugins (``PluginInterface`` subclasses).

A plugin whose manifest says ``"permissions": []`` and that reaches for ``context.db``
while starting is ``failed`` with a reason naming ``PermissionDenied``, and the host
serves on; services requested through ``get_services()`` are gated the same way. (The
same for module-style ``@hookimpl`` plugins is in ``test_grants.py``.)
"""

from __future__ import annotations

import pytest
from support.api import TOKEN, detail
from support.dists import make_plugin
from support.host import assert_host_serves, make_healthy, running_host

NO_PERMISSIONS = {"name": "guide", "type": "feature", "permissions": []}

TOUCHES_DB = """
    from plexichat import PluginInterface

    class Guide(PluginInterface):
        async def initialize(self):
            self.context.db
            return True
"""

WANTS_DB_SERVICE = """
    from plexichat import PluginInterface

    class Guide(PluginInterface):
        def get_services(self):
            return {"logger": True, "db": True}
"""

WANTS_CHAT_SERVICE = """
    from plexichat import PluginInterface

    class Guide(PluginInterface):
        def get_services(self):
            return {"chat": True}
"""

HANDLES_DENIAL = """
    from plexichat import PermissionDenied, PluginInterface

    class Guide(PluginInterface):
        denied = None

        def initialize(self):
            try:
                self.context.db
            except PermissionDenied as exc:
                self.denied = exc
            return True
"""


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def guide(site, code):
    make_healthy(site)
    make_plugin(site, "guide", code=code, manifest=NO_PERMISSIONS,
                entry_point="plx_guide:Guide")


def test_empty_permissions_and_touching_db_in_initialize_fails_the_plugin(site, data_dir):
    guide(site, TOUCHES_DB)
    with running_host(data_dir, "guide", "healthy", admin_token=TOKEN) as client:
        info = detail(client, "guide")
        assert info["state"] == "failed"
        assert "PermissionDenied" in info["reason"]
        assert "'guide'" in info["reason"]
        assert "context.db" in info["reason"]
        assert "'db:read'" in info["reason"]
        assert info["permissions_granted"] == []
        assert_host_serves(client)
        assert client.get("/api/v1/health/ready").status_code == 200


def test_a_service_from_get_services_is_granted_by_default(site, data_dir):
    guide(site, WANTS_DB_SERVICE)
    with running_host(data_dir, "guide", "healthy", admin_token=TOKEN) as client:
        info = detail(client, "guide")
        assert info["state"] == "started", info["reason"]
        assert info["permissions_granted"] == ["db:write"]
        assert client.app.state.host.records["guide"].obj.db is not None


def test_a_service_from_get_services_without_a_grant_fails_the_plugin(site, data_dir):
    guide(site, WANTS_DB_SERVICE)
    with running_host(data_dir, "guide", "healthy", admin_token=TOKEN,
                      strict_permissions=True) as client:
        info = detail(client, "guide")
        assert info["state"] == "failed"
        assert "PermissionDenied" in info["reason"]
        assert "context.db" in info["reason"]
        assert info["permissions_requested"] == ["db:write"]
        assert info["permissions_granted"] == []
        assert_host_serves(client)


def test_a_plugin_may_catch_the_denial_and_carry_on(site, data_dir):
    guide(site, HANDLES_DENIAL)
    with running_host(data_dir, "guide", "healthy", admin_token=TOKEN) as client:
        assert detail(client, "guide")["state"] == "started"
        denied = client.app.state.host.records["guide"].obj.denied
        assert (denied.plugin, denied.service, denied.permission) == ("guide", "db", "db:read")


def test_the_chat_service_from_get_services_requests_chat_write(site, data_dir):
    guide(site, WANTS_CHAT_SERVICE)
    with running_host(data_dir, "guide", "healthy", admin_token=TOKEN) as client:
        info = detail(client, "guide")
        assert info["state"] == "started", info["reason"]
        assert info["permissions_requested"] == ["chat:write"]
        assert info["permissions_granted"] == ["chat:write"]
        assert client.app.state.host.records["guide"].obj.chat is not None
