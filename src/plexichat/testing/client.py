"""An HTTP client of an in-process PlexiChat app."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .app import wait_ready

__all__ = ["PlexiChatClient"]


class PlexiChatClient(TestClient):
    """:class:`fastapi.testclient.TestClient` that knows the app's admin token.

    ``with PlexiChatClient(app) as client`` runs the app's lifespan (plugins start in
    the background); :meth:`wait_ready` waits for them. Entering a client that is
    already running does not start the host again, and leaving it (or :meth:`stop`)
    stops the host once. With ``admin=True`` every request carries ``Authorization:
    Bearer <admin token>``; otherwise pass ``headers=client.admin_headers`` where a
    request needs it.
    """

    _running = False

    def __init__(self, app: Any, *, admin: bool = False, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        token = app.state.settings.admin_token
        self.admin_token: str | None = token.get_secret_value() if token else None
        self.admin_headers: dict[str, str] = (
            {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {})
        if admin:
            self.headers.update(self.admin_headers)

    def __enter__(self) -> PlexiChatClient:
        if not self._running:
            super().__enter__()
            self._running = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._running:
            self._running = False
            super().__exit__(*exc_info)

    def stop(self) -> None:
        """Run the app's shutdown (plugins stop), as leaving ``with`` does."""
        self.__exit__(None, None, None)

    @property
    def host(self) -> Any:
        """The app's :class:`~plexichat.host.PluginHost`."""
        return self.app.state.host  # type: ignore[attr-defined]

    def wait_ready(self, *, timeout: float = 30.0, expect_started: bool = True) -> None:
        """See :func:`plexichat.testing.wait_ready`."""
        wait_ready(self, timeout=timeout, expect_started=expect_started)

    def plugin(self, name: str) -> dict[str, Any]:
        """``GET /api/v1/plugins/{name}`` as JSON (asserts it answers 200)."""
        response = self.get(f"/api/v1/plugins/{name}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def plugin_state(self, name: str) -> str:
        """The live state of one plugin (``started``, ``failed`` …)."""
        return str(self.plugin(name)["state"])
