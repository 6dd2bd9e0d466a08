"""ASGI entry for multi-process serving: ``uvicorn beachsaver.asgi:app``."""

from beachsaver.app import create_app

app = create_app(configure_logging=True)
