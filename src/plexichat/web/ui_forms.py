"""The web UI's forms: url-encoded bodies read with a size limit, and POSTs checked
against the session's CSRF token and the ``Origin`` header."""

from __future__ import annotations

import hmac
import urllib.parse

from fastapi import Request

from .ui_render import error_page
from .ui_session import Answer, UISession, require_login

__all__ = ["MAX_FORM_BYTES", "checked_post", "read_form", "same_origin"]

MAX_FORM_BYTES = 1024 * 1024


async def read_form(request: Request) -> dict[str, list[str]]:
    """The fields of a url-encoded form body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise Answer(await error_page(request, 413, "The form is too large."))
    if kind != "application/x-www-form-urlencoded" and (body or kind):
        raise Answer(await error_page(request, 415, "Forms must be sent url-encoded."))
    form: dict[str, list[str]] = {}
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                       max_num_fields=2000)
    except (UnicodeDecodeError, ValueError):
        raise Answer(await error_page(request, 400, "The form could not be read.")) from None
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return form


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site.

    Browsers send ``Origin`` with every form POST; clients that send none are let
    through to the CSRF token check.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    netloc = urllib.parse.urlsplit(origin).netloc
    hosts = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "")}
    return bool(netloc) and netloc in hosts


async def checked_post(request: Request) -> tuple[UISession, dict[str, list[str]]]:
    """The session and form of a POST whose CSRF token (and ``Origin``) check out."""
    session = await require_login(request)
    form = await read_form(request)
    token = (form.get("csrf_token") or [""])[0]
    if not same_origin(request) or not hmac.compare_digest(token.encode(),
                                                            session.csrf.encode()):
        raise Answer(await error_page(
            request, 403, "This form did not come from your current session (CSRF check "
            "failed). Reload the page and try again."))
    return session, form
