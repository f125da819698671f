"""``r2d serve``: put a trained model behind an HTTP API and a web page (docs/serve.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from reason2decide.cli.app import app, console, user_errors
from reason2decide.cli.generation import dataclass_options, generation_options
from reason2decide.cli.predict import DEVICE, PRECISION
from reason2decide.generation import GenerationSettings
from reason2decide.serve.config import ServeSettings

# The standard logging levels (uvicorn's "trace" is not one: logging.setLevel refuses it).
LogLevel = Literal["critical", "error", "warning", "info", "debug"]


@app.command()
@user_errors
@dataclass_options(ServeSettings, "settings")
@generation_options
def serve(
    model_dir: Path = typer.Argument(..., help="Output folder of r2d train (or a model folder)."),
    device: str | None = DEVICE,
    precision: str = PRECISION,
    log_level: LogLevel = typer.Option(
        "info", case_sensitive=False, help="Server log level (any case)."
    ),
    *,
    settings: ServeSettings,  # from the flags dataclass_options adds
    generation: GenerationSettings,  # from the flags generation_options adds
) -> None:
    """Serve a trained model: JSON API under /v1, a web page at /, /health, /ready, /metrics.

    Binds to loopback unless --host says otherwise; a non-loopback host needs an API key
    (--api-key-env) or --insecure. SIGTERM finishes the requests in flight, then stops.
    """
    from reason2decide.serve.model import load_served_model
    from reason2decide.serve.server import serve as run

    settings.api_key()  # refuse unsafe settings before loading the model
    served = load_served_model(
        model_dir,
        batch_size=settings.max_batch_size,
        device=device,
        precision=precision,
        generation=generation,
    )
    who = served.identity
    console.print(
        f"Serving {who['method']} on {who['backbone']} (run {who['run_id']}) at "
        f"http://{settings.host}:{settings.port}/ - research tool, not a medical device.",
        highlight=False,
        soft_wrap=True,
    )
    run(served, settings, log_level=log_level)
