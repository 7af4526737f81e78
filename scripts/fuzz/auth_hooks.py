"""Schemathesis hooks of ``scripts/fuzz_api.py``: the bearer token of every request.

``PLEXICHAT_FUZZ_ROLE`` chooses it: ``admin`` sends the admin token
(``PLEXICHAT_FUZZ_ADMIN_TOKEN``); ``user`` logs the registered user in
(``PLEXICHAT_FUZZ_USER`` / ``PLEXICHAT_FUZZ_PASSWORD`` at ``PLEXICHAT_FUZZ_URL``) and
logs in again whenever an answer is 401 — the fuzzer calls ``POST /users/logout`` too.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import schemathesis

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _login() -> str:
    body = json.dumps({"name": os.environ["PLEXICHAT_FUZZ_USER"],
                       "password": os.environ["PLEXICHAT_FUZZ_PASSWORD"]}).encode()
    request = urllib.request.Request(
        os.environ["PLEXICHAT_FUZZ_URL"] + "/api/v1/users/login", data=body,
        headers={"content-type": "application/json"}, method="POST")
    with _opener.open(request, timeout=10) as response:
        return str(json.loads(response.read())["token"])


@schemathesis.auth(refresh_interval=600, retry_on=[401])
class BearerToken:
    """The admin token, or a fresh user token (again after each 401)."""

    def get(self, case: Any, ctx: Any) -> str:
        """The token of this run's role."""
        if os.environ.get("PLEXICHAT_FUZZ_ROLE") == "admin":
            return os.environ["PLEXICHAT_FUZZ_ADMIN_TOKEN"]
        return _login()

    def set(self, case: Any, data: str, ctx: Any) -> None:
        """Send it as ``Authorization: Bearer <token>``."""
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
