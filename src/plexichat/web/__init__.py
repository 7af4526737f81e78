"""The web side of the host: the FastAPI app factory and its core routers."""

from .app import create_app

__all__ = ["create_app"]
