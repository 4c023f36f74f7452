"""The ASGI application for ``uvicorn api.main:app`` (settings from ESSMAP_* variables)."""

from api.app import create_app

app = create_app()
