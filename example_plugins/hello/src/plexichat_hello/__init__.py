"""plexichat-hello: one route, registered through the ``register_routers`` hook."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from plexichat import hookimpl

router = APIRouter(tags=["hello"])


class Greeting(BaseModel):
    """What the hello routes answer."""

    message: str = Field(examples=["Hello from PlexiChat!"])


@router.get("", response_model=Greeting)
async def hello() -> Greeting:
    """Say hello."""
    return Greeting(message="Hello from PlexiChat!")


@router.get("/{name}", response_model=Greeting)
async def hello_name(name: str) -> Greeting:
    """Say hello to someone."""
    return Greeting(message=f"Hello, {name}!")


@hookimpl
def startup(context):
    context.logger.info("hello plugin started")


@hookimpl
def register_routers():
    return {"/api/v1/hello": router}
