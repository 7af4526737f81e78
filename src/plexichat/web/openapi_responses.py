"""Answers every operation can give that no route declares itself, added to the schema.

FastAPI answers ``400 {"detail": "There was an error parsing the body"}`` when a request
body cannot be read at all (not UTF-8, say), before any handler runs; the host's own
routes and plugins' routes alike. :func:`install` makes ``/api/openapi.json`` say so on
every operation that takes a body, so clients and schema-driven tests know the answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["UNREADABLE_BODY", "declare_unreadable_body", "install"]

UNREADABLE_BODY: dict[str, Any] = {
    "description": "The request body could not be read (not UTF-8, or not the declared "
                   "content type); nothing was done.",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["detail"],
        "properties": {"detail": {"type": "string",
                                  "examples": ["There was an error parsing the body"]}}}}},
}
"""The 400 answer to a body FastAPI cannot parse."""


def declare_unreadable_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with :data:`UNREADABLE_BODY` as the 400 of every operation that takes a
    request body and declares no 400 of its own (changed in place, and returned)."""
    for path_item in (schema.get("paths") or {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("400", UNREADABLE_BODY)
    return schema


def install(app: FastAPI) -> None:
    """Have ``app.openapi()`` (and ``/api/openapi.json``) declare the unreadable-body
    answer; the schema is still built again whenever the routes change."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_unreadable_body(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
