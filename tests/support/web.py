"""Driving the web UI as a browser would: log in, read the CSRF token, send raw paths."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from fastapi.testclient import TestClient

from .api import TOKEN

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(client: TestClient, token: str = TOKEN) -> str:
    """Log in through the form; return the session's CSRF token."""
    response = client.post("/login", data={"token": token, "next": "/plugins"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/plugins").text)


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    match = _CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def field_block(html: str, name: str) -> str:
    """The markup of one generated settings field (``data-field="name"``)."""
    anchor = html.find(f'data-field="{name}"')
    assert anchor != -1, f"no field {name!r} in the form"
    start = html.rfind('<div class="plx-field', 0, anchor)
    end = html.find('<div class="plx-field', anchor)
    end = html.find("</form>", start) if end == -1 else end
    return html[start:end]


def raw_get(client: TestClient, raw_path: str) -> tuple[int, bytes]:
    """``GET raw_path`` exactly as written (no client-side ``..`` normalisation), the way
    uvicorn hands it to the app: ``path`` percent-decoded, ``raw_path`` as sent."""
    path, _, query = raw_path.partition("?")
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "server": ("testserver", 80),
        "client": ("127.0.0.1", 12345), "root_path": "",
        "path": urllib.parse.unquote(path), "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"), "headers": [(b"host", b"testserver")],
    }
    status: list[int] = []
    body = bytearray()

    async def call() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await client.app(scope, receive, send)  # type: ignore[arg-type]

    assert client.portal is not None, "use the client inside `with`"
    client.portal.call(call)
    return status[0], bytes(body)
