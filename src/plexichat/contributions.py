"""Typed values plugins return from hooks, and the host's records of what they added."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RouterSpec", "normalize_routers"]


@dataclass(frozen=True)
class RouterSpec:
    """A router a plugin contributes, mounted under ``prefix``."""

    router: Any
    """A :class:`fastapi.APIRouter`."""
    prefix: str = ""


def normalize_routers(value: Any) -> list[RouterSpec]:
    """Accept every shape ``register_routers`` may return; raise TypeError otherwise."""
    from fastapi import APIRouter

    if value is None:
        return []
    if isinstance(value, RouterSpec):
        return [value]
    if isinstance(value, APIRouter):
        return [RouterSpec(value)]
    if isinstance(value, Mapping):
        specs = []
        for prefix, router in value.items():
            if not isinstance(router, APIRouter):
                raise TypeError(f"router for prefix {prefix!r} is {type(router).__name__}, "
                                "not fastapi.APIRouter")
            specs.append(RouterSpec(router, prefix=str(prefix)))
        return specs
    if isinstance(value, (list, tuple)):
        out: list[RouterSpec] = []
        for item in value:
            out.extend(normalize_routers(item))
        return out
    raise TypeError(
        f"register_routers returned {type(value).__name__}; expected an APIRouter, a "
        "RouterSpec, a list of them or a {prefix: router} mapping"
    )
