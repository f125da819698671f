"""``r2d serve``: a trained model behind an HTTP API and a web page.

The top layer beside the CLI: it uses the inference and data layers, and only the CLI uses it.
Modules: ``config`` (the options), ``model`` (loading a run folder), ``batcher``
(micro-batching), ``app`` (the FastAPI application), ``server`` (uvicorn), ``audit``,
``metrics``, ``bulk``, ``schemas``, ``static/index.html`` (the page). Nothing is imported here,
so that the CLI can read the options without loading torch or FastAPI.
"""
