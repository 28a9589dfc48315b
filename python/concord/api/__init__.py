"""Concord's REST API: :func:`create_app` builds the ASGI application (``concord api``
serves it with uvicorn)."""

from .app import create_app

__all__ = ["create_app"]
