"""Run the application under uvicorn until SIGINT/SIGTERM (then: stop accepting, finish the
requests in flight, drain the batcher, close the audit log)."""

from __future__ import annotations

import logging

from reason2decide.serve.app import create_app
from reason2decide.serve.config import ServeSettings
from reason2decide.serve.model import ServedModel


def serve(served: ServedModel, settings: ServeSettings, *, log_level: str = "info") -> None:
    """Serve ``served`` on ``settings.host:settings.port`` until stopped."""
    import uvicorn

    app = create_app(served, settings)
    logging.getLogger("reason2decide.serve").setLevel(log_level.upper())
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        # Requests in flight at SIGTERM may take as long as their own timeouts allow.
        timeout_graceful_shutdown=int(max(settings.request_timeout_s, settings.bulk_timeout_s)) + 5,
        server_header=False,
    )
    uvicorn.Server(config).run()
