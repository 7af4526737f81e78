"""Answers every operation can give that no route declares itself, added to the schema.

FastAPI answers ``400 {"detail": "There was an error parsing the body"}`` when a request
body cannot be read at all (not UTF-8, say), before any handler runs; the host's own
routes and plugins' routes alike. A plugin's operation answers ``404`` once the plugin
is disabled or stopped (its routes leave the host). :func:`install` makes
``/api/openapi.json`` say both, so clients and schema-driven tests know the answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["PLUGIN_NOT_RUNNING", "UNREADABLE_BODY", "declare_unreadable_body", "install"]

UNREADABLE_BODY: dict[str, Any] = {
    "description": "The request body could not be read (not UTF-8, or not the declared "
                   "content type); nothing was done.",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["detail"],
        "properties": {"detail": {"type": "string",
                                  "examples": ["There was an error parsing the body"]}}}}},
}
"""The 400 answer to a body FastAPI cannot parse."""

PLUGIN_NOT_RUNNING: dict[str, Any] = {
    "description": "The plugin serving this operation is not running now (disabled, "
                   "stopped or quarantined): its routes are gone until it starts again.",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["detail"],
        "properties": {"detail": {"type": "string", "examples": ["Not Found"]}}}}},
}
"""The 404 a plugin's operation gives while the plugin is not running."""


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
            schema = declare_unreadable_body(build())
            _declare_plugin_not_running(app, schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_plugin_not_running(app: FastAPI, schema: dict[str, Any]) -> None:
    """:data:`PLUGIN_NOT_RUNNING` as the 404 of every plugin operation without one."""
    import re

    from .routes import flatten_routes

    paths = schema.get("paths") or {}
    for entry in app.router.routes:
        if getattr(entry, "plexichat_plugin", None) is None:
            continue
        for route in flatten_routes([entry]):
            operations = paths.get(re.sub(r"{([^}:]+)(:[^}]*)?}", r"{\1}", route.path), {})
            for method in route.methods or ():
                operation = operations.get(method.lower())
                if isinstance(operation, dict):
                    operation.setdefault("responses", {}).setdefault("404", PLUGIN_NOT_RUNNING)
