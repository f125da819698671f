"""The FastAPI application: JSON API under ``/v1``, health checks, metrics and the web page.

One file on purpose (a little over 400 lines): the routes share one set of dependencies
(authorisation, limits, the batcher, the audit log) built in :func:`create_app`; the work itself
is in the neighbouring modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reason2decide import __version__
from reason2decide.serve.audit import AuditLog
from reason2decide.serve.batcher import MicroBatcher
from reason2decide.serve.bulk import BulkError, detect_format, read_cases, write_answers
from reason2decide.serve.config import ServeSettings
from reason2decide.serve.metrics import Metrics
from reason2decide.serve.model import ServedModel
from reason2decide.serve.schemas import ErrorResponse, PredictRequest, PredictResponse

logger = logging.getLogger("reason2decide.serve")

#: Paths counted in /metrics under their own name (anything else counts as "other").
KNOWN_PATHS = (
    "/",
    "/health",
    "/ready",
    "/metrics",
    "/openapi.json",
    "/v1/info",
    "/v1/predict",
    "/v1/predict/bulk",
)
PREDICT_PATHS = ("/v1/predict", "/v1/predict/bulk")
#: The answer to a /v1/predict body that is not UTF-8 JSON, or not sent as JSON.
NOT_JSON = "the body must be UTF-8 JSON (Content-Type: application/json)"
NOTE = "Research tool, not a medical device: do not use it to make clinical decisions."
#: The page loads nothing from elsewhere, and the browser is told to refuse it too.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; connect-src 'self' blob:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Refused(HTTPException):
    """A request refused with ``status``; ``field`` names the part of the request at fault."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(status_code=status, detail=message)
        self.field = field


def _error(
    request: Request, status: int, message: str, field: str | None, **headers: str
) -> JSONResponse:
    body = ErrorResponse(
        error=message, field=field, request_id=getattr(request.state, "request_id", None)
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers or None)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as the request field it names: ``cases[2].text``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "header", "path"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "body"


class _Guard:
    """Outermost layer: a request id for each request, the body size limit (while the body is
    read, whatever the Content-Length says), the request counts and latencies, and the JSON 500
    of an unexpected error (``on_error`` then sees the request's scope)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics,
        on_error: Callable[[Scope], None] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")
        endpoint = path if path in KNOWN_PATHS else "other"
        started = time.perf_counter()
        status = [500]
        answered = [False]
        limit = self.max_body_bytes
        received = [0]

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                if received[0] > limit:
                    raise Refused(413, f"the request body is over {limit} bytes", "body")
            return message

        async def tagged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered[0] = True
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            declared = dict(scope.get("headers", [])).get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                body = ErrorResponse(
                    error=f"the request body is over {limit} bytes",
                    field="body",
                    request_id=request_id,
                )
                response = JSONResponse(body.model_dump(), status_code=413)
                await response(scope, receive, tagged_send)
                return
            await self.app(scope, counted_receive, tagged_send)
        except Exception as exc:
            # Answered and logged here, by type only (its message may quote a case): past this
            # layer, Starlette's ServerErrorMiddleware would re-raise it for the server to log
            # with its message and traceback.
            logger.error("request %s failed: %s", request_id, type(exc).__name__)
            status[0] = 500
            if not answered[0]:
                body = ErrorResponse(
                    error="internal error; the request id is in the server log",
                    request_id=request_id,
                )
                await JSONResponse(body.model_dump(), status_code=500)(scope, receive, tagged_send)
            if self.on_error is not None:
                self.on_error(scope)
        finally:
            self.metrics.request(endpoint, status[0], time.perf_counter() - started)


def _page() -> str:
    return resources.files("reason2decide.serve").joinpath("static/index.html").read_text("utf-8")


def create_app(served: ServedModel, settings: ServeSettings | None = None) -> FastAPI:
    """The application serving ``served`` under ``settings`` (raises ``R2DError`` when the
    settings are unsafe: a non-loopback host without an API key)."""
    settings = settings or ServeSettings()
    api_key = settings.api_key()
    metrics = Metrics()
    batcher = MicroBatcher(
        served.predictor,
        max_batch_size=settings.max_batch_size,
        max_wait_ms=settings.max_wait_ms,
        observe=metrics.model_pass,
    )
    audit = (
        AuditLog(settings.audit_log, keep_text=settings.audit_log_text)
        if settings.audit_log
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        try:
            yield
        finally:
            await batcher.stop()
            if audit is not None:
                audit.close()

    app = FastAPI(
        title="reason2decide",
        version=__version__,
        description=f"Clinical decisions with rationales from a trained model. {NOTE}",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.served = served
    app.state.settings = settings
    app.state.batcher = batcher
    app.state.metrics = metrics
    app.state.audit = audit

    async def authorised(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), api_key.encode()
        ):
            raise Refused(
                401, "missing or wrong API key (Authorization: Bearer KEY)", "authorization"
            )

    def write_audit(
        request: Request,
        status: int,
        texts: list[str],
        rows: list[dict[str, Any]],
        started: float,
    ) -> None:
        if audit is None or getattr(request.state, "audited", False):
            return
        request.state.audited = True
        audit.record(
            request_id=request.state.request_id,
            client=request.client.host if request.client else None,
            endpoint=request.url.path,
            status=status,
            model=served.identity,
            texts=texts,
            predictions=rows,
            latency_s=time.perf_counter() - started,
        )

    async def answer(
        request: Request,
        cases: list[tuple[str | None, str]],
        rationale: bool,
        timeout_s: float,
        started: float,
        background: bool = False,
    ) -> list[dict[str, Any]]:
        texts = [text for _, text in cases]
        try:
            predictions = await asyncio.wait_for(
                batcher.predict(texts, rationale=rationale, background=background), timeout_s
            )
        except asyncio.TimeoutError:
            write_audit(request, 503, texts, [], started)
            raise Refused(503, f"no answer within {timeout_s:g} s: the server is busy") from None
        except Exception as exc:
            # The type only: an exception's message may quote a case.
            logger.error("request %s failed: %s", request.state.request_id, type(exc).__name__)
            write_audit(request, 500, texts, [], started)
            raise Refused(500, "the model failed on this request (request id in the log)") from None
        rows = [
            {"id": case_id, **p.to_dict()}
            for (case_id, _), p in zip(cases, predictions, strict=True)
        ]
        write_audit(request, 200, texts, rows, started)
        metrics.served(request.url.path, len(rows))
        return rows

    def check_texts(cases: list[tuple[str | None, str]], field_of: Callable[[int], str]) -> None:
        for index, (_, text) in enumerate(cases):
            if not text.strip():
                raise Refused(422, "the case text is empty", field_of(index))
            if len(text) > settings.max_text_chars:
                raise Refused(
                    422,
                    f"the case text has {len(text)} characters, over the limit of "
                    f"{settings.max_text_chars}",
                    field_of(index),
                )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        field = field_path(first.get("loc", ()))
        status = 422
        if first.get("type") == "json_invalid":
            message, field = "the body is not valid JSON", "body"
        elif tuple(first.get("loc", ())) == ("body",) and isinstance(first.get("input"), bytes):
            # FastAPI reads a body as JSON only when its Content-Type says so
            status, message = 400, NOT_JSON
        else:
            message = str(first.get("msg", "invalid request"))
        if request.url.path in PREDICT_PATHS:
            write_audit(request, status, [], [], time.perf_counter())
        return _error(request, status, message, field)

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException) -> JSONResponse:
        headers: dict[str, str] = {}
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if exc.status_code == 503:
            headers["Retry-After"] = "5"
        message, field = str(exc.detail), getattr(exc, "field", None)
        if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI's 400 for a non-UTF-8 body
            message, field = NOT_JSON, "body"
        if request.url.path in PREDICT_PATHS:  # refused before the model: still one audit line
            write_audit(request, exc.status_code, [], [], time.perf_counter())
        return _error(request, exc.status_code, message, field, **headers)

    def failed(scope: Scope) -> None:
        """One audit line for a prediction request that failed unexpectedly (answered 500)."""
        request = Request(scope)
        if request.url.path in PREDICT_PATHS:
            write_audit(request, 500, [], [], time.perf_counter())

    refusals: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse} for code in (400, 401, 413, 422, 503)
    }

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(_page(), headers=PAGE_HEADERS)

    @app.get("/health", summary="The process is up.")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", summary="The model is loaded and the batcher runs.")
    async def ready(request: Request) -> JSONResponse:
        if batcher.running:
            return JSONResponse({"status": "ready", "model": served.identity})
        return _error(request, 503, "not ready", None)

    @app.get("/metrics", dependencies=[Depends(authorised)], response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(
            metrics.render(batcher.pending), media_type="text/plain; version=0.0.4"
        )

    @app.get("/v1/info", dependencies=[Depends(authorised)], responses=refusals)
    async def info() -> dict[str, Any]:
        """Which model answers, its labels, inputs, training data and test metrics."""
        return {
            **served.info,
            "note": NOTE,
            "limits": {
                "max_body_bytes": settings.max_body_bytes,
                "max_cases": settings.max_cases,
                "max_bulk_cases": settings.max_bulk_cases,
                "max_text_chars": settings.max_text_chars,
            },
        }

    @app.post(
        "/v1/predict",
        dependencies=[Depends(authorised)],
        response_model=PredictResponse,
        responses=refusals,
    )
    async def predict(body: PredictRequest, request: Request) -> dict[str, Any]:
        """Decide one case or several: label, probabilities, and (unless ``rationale`` is
        false) the rationale written for the label."""
        started = time.perf_counter()
        cases = [(c.id, c.text) for c in body.as_cases()]
        if len(cases) > settings.max_cases:
            raise Refused(
                413, f"{len(cases)} cases, over the limit of {settings.max_cases}", "cases"
            )
        if not cases:
            raise Refused(422, "no cases", "cases")
        single = body.cases is None
        check_texts(cases, lambda i: "text" if single else f"cases[{i}].text")
        rows = await answer(request, cases, body.rationale, settings.request_timeout_s, started)
        return {
            "model": served.identity,
            "request_id": request.state.request_id,
            "predictions": rows,
        }

    @app.post(
        "/v1/predict/bulk",
        dependencies=[Depends(authorised)],
        responses=refusals,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def bulk(
        request: Request,
        format: str | None = Query(  # noqa: A002 - the query parameter's name
            None, description="The upload's format, csv or jsonl. [from Content-Type]"
        ),
        output: str = Query("jsonl", description="The answer's format, jsonl or csv."),
        rationale: bool = Query(True, description="Write a rationale for each case."),
    ) -> Response:
        """A CSV or JSONL file of cases (a ``text`` or ``question`` column, optional ``id``)
        answered in the same order, as JSONL or CSV."""
        started = time.perf_counter()
        if output not in ("jsonl", "csv"):
            raise Refused(422, "output must be jsonl or csv", "output")
        try:
            kind = detect_format(request.headers.get("content-type"), format)
            cases = read_cases(await request.body(), kind)
        except BulkError as exc:
            raise Refused(422, str(exc), exc.field) from None
        if not cases:
            raise Refused(422, "the file holds no cases", "body")
        if len(cases) > settings.max_bulk_cases:
            raise Refused(
                413,
                f"{len(cases)} cases, over the bulk limit of {settings.max_bulk_cases}",
                "body",
            )
        check_texts(cases, lambda i: f"case {i + 1}.text")
        rows = await answer(
            request, cases, rationale, settings.bulk_timeout_s, started, background=True
        )
        media = "application/x-ndjson" if output == "jsonl" else "text/csv"
        return Response(
            write_answers(rows, output, served.labels),
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="predictions.{output}"',
                "X-Model": json.dumps(served.identity),
            },
        )

    app.add_middleware(
        _Guard, max_body_bytes=settings.max_body_bytes, metrics=metrics, on_error=failed
    )
    if settings.cors_origin:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origin),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app
