"""A client for OpenAI-compatible chat servers (vLLM, llama.cpp, Ollama, hosted APIs).

One file on purpose (over 400 lines): cache, retries and concurrency wrap the same request
object and share its key; the teacher, the zero-shot baseline and the judge use them together.

What it adds to the ``openai`` package:

- an on-disk cache keyed by the full request (server URL, model, messages and every sampling
  parameter), so that nothing is asked twice, across runs and processes;
- retries with exponential backoff and jitter on 408/409/429/5xx answers, timeouts, dropped
  connections and unreadable response bodies (``Retry-After`` is honoured, capped); other HTTP
  errors (bad request, wrong key, unknown model) stop at once with an :class:`R2DError` that says
  how to fix them;
- bounded concurrency over many items (:meth:`LLMClient.map`), results handed back in the
  calling thread as they finish (so callers can save each one at once), a fatal error stopping
  the run after the requests in flight have finished;
- token and request accounting (:class:`Usage`) and a progress bar.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from reason2decide.errors import R2DError
from reason2decide.io import atomic_open

T = TypeVar("T")
R = TypeVar("R")

#: Environment variable read for the API key when none is configured.
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
#: Environment variable that moves the default cache folder.
CACHE_ENV = "R2D_LLM_CACHE"
#: Sent as the key when the key's environment variable is unset (local servers need none).
NO_KEY = "sk-no-key-needed"
#: HTTP statuses worth retrying; every status >= 500 is retried too.
RETRYABLE_STATUSES = frozenset({408, 409, 429})
#: Version of the cache entry layout; part of every cache key.
CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    """``$R2D_LLM_CACHE``, else ``$XDG_CACHE_HOME/reason2decide/llm`` (``~/.cache/...``)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reason2decide" / "llm"


@dataclass(frozen=True)
class LLMConfig:
    """Where the server is and how to talk to it.

    ``cache_dir=None`` switches the cache off. ``max_retries`` counts the retries after the
    first attempt; the wait before retry ``k`` (0-based) is ``min(max_backoff, backoff * 2**k)``
    with ±50% jitter, or the server's ``Retry-After`` when it sends one (capped the same way).
    """

    base_url: str
    model: str
    api_key_env: str | None = DEFAULT_API_KEY_ENV
    timeout: float = 120.0
    max_retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0
    concurrency: int = 4
    cache_dir: Path | None = field(default_factory=default_cache_dir)

    def __post_init__(self) -> None:
        if not self.base_url.strip():
            raise R2DError("the server URL is empty", field="base_url", hint="pass --base-url")
        if not self.model.strip():
            raise R2DError("the model name is empty", field="model", hint="pass --model")
        if self.concurrency < 1:
            raise R2DError("concurrency must be at least 1", field="concurrency")
        if self.timeout <= 0:
            raise R2DError("the timeout must be positive", field="timeout")
        if self.max_retries < 0:
            raise R2DError("max_retries cannot be negative", field="max_retries")

    @property
    def normalized_url(self) -> str:
        """The base URL without trailing slashes, as used in cache keys."""
        return self.base_url.strip().rstrip("/")

    def api_key(self) -> str:
        """The API key from ``api_key_env``; a placeholder when unset (local servers)."""
        if self.api_key_env:
            value = os.environ.get(self.api_key_env, "").strip()
            if value:
                return value
        return NO_KEY


@dataclass(frozen=True)
class ChatRequest:
    """One chat-completions request: the messages and the sampling parameters.

    ``extra`` holds further request fields passed through as they are (``top_p``, ``stop``,
    ``response_format``, server-specific options); they are part of the cache key.
    """

    messages: tuple[tuple[str, str], ...]
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        messages: Sequence[Mapping[str, str]] | Sequence[tuple[str, str]],
        **params: Any,
    ) -> ChatRequest:
        """Build a request from ``[{"role": ..., "content": ...}, ...]`` or ``(role, content)``."""
        pairs: list[tuple[str, str]] = []
        for message in messages:
            if isinstance(message, Mapping):
                pairs.append((str(message["role"]), str(message["content"])))
            else:
                role, content = message
                pairs.append((str(role), str(content)))
        return cls(messages=tuple(pairs), **params)

    def message_dicts(self) -> list[dict[str, str]]:
        """The messages in the wire format."""
        return [{"role": role, "content": content} for role, content in self.messages]

    def body(self, model: str) -> dict[str, Any]:
        """The JSON body sent to ``/chat/completions``."""
        body: dict[str, Any] = {
            "model": model,
            "messages": self.message_dicts(),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        body.update(self.extra)
        return body


@dataclass(frozen=True)
class ChatResult:
    """The answer to one request: its text, why generation stopped, tokens, and provenance."""

    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    key: str
    cached: bool = False

    @property
    def truncated(self) -> bool:
        """Whether the answer was cut by the token limit."""
        return self.finish_reason == "length"


@dataclass
class Usage:
    """Running totals for one client; safe to update from several threads."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        """Add to the named counters."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens of the requests sent (cache hits cost none)."""
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, int]:
        """The counters as a plain dict (for metrics and provenance files)."""
        with self._lock:
            data = {f.name: getattr(self, f.name) for f in fields(self) if f.name[0] != "_"}
        data["total_tokens"] = data["prompt_tokens"] + data["completion_tokens"]
        return data


def request_fingerprint(model: str, request: ChatRequest) -> str:
    """sha256 of the request body alone (model, messages, sampling), whatever the server URL.

    Resumable runs match finished rows on this, so that a server restarted elsewhere does not
    make them ask again; the cache uses :func:`request_key`, which adds the URL.
    """
    canonical = json.dumps(
        request.body(model), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def request_key(config: LLMConfig, request: ChatRequest) -> str:
    """The cache key of ``request`` sent to ``config``'s server: sha256 of the canonical request."""
    canonical = json.dumps(
        {
            "format": CACHE_FORMAT,
            "base_url": config.normalized_url,
            "body": request.body(config.model),
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """One JSON file per answered request, under ``root/<first two hex digits>/<key>.json``.

    Files are written atomically, so several processes may share a cache. An unreadable entry
    counts as absent and is overwritten.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer for ``key``, or ``None``."""
        path = self._path(key)
        try:
            with open(path, encoding="utf-8") as handle:
                entry = json.load(handle)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("response"), dict):
            return None
        return entry["response"]

    def put(self, key: str, request_body: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        """Store the answer for ``key`` (the request is stored beside it for inspection)."""
        path = self._path(key)
        try:
            with atomic_open(path) as handle:
                json.dump(
                    {"key": key, "request": dict(request_body), "response": dict(response)},
                    handle,
                    ensure_ascii=False,
                )
        except OSError as exc:
            raise R2DError(
                f"cannot write the LLM cache: {exc.strerror or exc}",
                path=path,
                hint="pass --cache-dir with a writable folder, or --no-cache",
            ) from None


class _Retryable(Exception):
    """A failure worth another attempt; ``wait`` is the server's Retry-After, if any."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class LLMClient:
    """A cached, retrying, concurrent client for one model on one OpenAI-compatible server."""

    def __init__(self, config: LLMConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        import openai

        self.config = config
        self.usage = Usage()
        self.cache = ResponseCache(config.cache_dir) if config.cache_dir is not None else None
        self._sleep = sleep
        self._openai = openai.OpenAI(
            base_url=config.normalized_url,
            api_key=config.api_key(),
            timeout=config.timeout,
            max_retries=0,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._openai.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one request ----------------------------------------------------------------------

    def key(self, request: ChatRequest) -> str:
        """The cache key of ``request`` on this client's server and model."""
        return request_key(self.config, request)

    def fingerprint(self, request: ChatRequest) -> str:
        """``request``'s fingerprint for this client's model (see :func:`request_fingerprint`)."""
        return request_fingerprint(self.config.model, request)

    def chat(self, request: ChatRequest) -> ChatResult:
        """Answer ``request``: from the cache when it was asked before, else from the server.

        Raises :class:`R2DError` when the server refuses the request or stays unreachable
        after ``max_retries`` retries.
        """
        key = self.key(request)
        if self.cache is not None:
            stored = self.cache.get(key)
            if stored is not None:
                self.usage.add(cache_hits=1)
                return ChatResult(
                    content=str(stored.get("content") or ""),
                    finish_reason=stored.get("finish_reason"),
                    prompt_tokens=int(stored.get("prompt_tokens") or 0),
                    completion_tokens=int(stored.get("completion_tokens") or 0),
                    key=key,
                    cached=True,
                )
        body = request.body(self.config.model)
        result = self._send_with_retries(body, key)
        if self.cache is not None:
            self.cache.put(
                key,
                body,
                {
                    "content": result.content,
                    "finish_reason": result.finish_reason,
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": result.completion_tokens,
                },
            )
        return result

    def _send_with_retries(self, body: dict[str, Any], key: str) -> ChatResult:
        config = self.config
        last = ""
        for attempt in range(config.max_retries + 1):
            if attempt:
                self.usage.add(retries=1)
            try:
                return self._send(body, key)
            except _Retryable as exc:
                last = exc.reason
                if attempt == config.max_retries:
                    break
                delay = min(config.max_backoff, config.backoff * 2**attempt)
                delay *= 0.5 + random.random()
                if exc.wait is not None:
                    delay = min(config.max_backoff, exc.wait)
                self._sleep(delay)
        self.usage.add(failures=1)
        raise R2DError(
            f"the LLM server at {config.normalized_url} failed {config.max_retries + 1} "
            f"time(s) in a row; last error: {last}",
            field="base_url",
            hint="check that the server is running and reachable; finished rows are kept, "
            "so running the same command again resumes",
        )

    def _send(self, body: dict[str, Any], key: str) -> ChatResult:
        import openai

        params = dict(body)
        model = params.pop("model")
        messages = params.pop("messages")
        known = {"temperature", "max_tokens", "seed", "stop", "top_p", "response_format"}
        extra_body = {k: params.pop(k) for k in list(params) if k not in known}
        self.usage.add(requests=1)
        try:
            response = self._openai.chat.completions.create(
                model=model,
                messages=messages,
                extra_body=extra_body or None,
                **params,
            )
        except openai.APIStatusError as exc:
            status = exc.status_code
            detail = _error_detail(exc)
            if status in RETRYABLE_STATUSES or status >= 500:
                raise _Retryable(f"HTTP {status}: {detail}", _retry_after(exc.response)) from exc
            raise self._fatal(status, detail) from None
        except openai.APIConnectionError as exc:  # includes APITimeoutError
            kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection error"
            cause = exc.__cause__ or exc
            raise _Retryable(f"{kind}: {cause}") from exc
        except (openai.APIResponseValidationError, ValueError) as exc:
            raise _Retryable(f"unreadable response: {exc}") from exc
        return self._result(response, key)

    def _result(self, response: Any, key: str) -> ChatResult:
        choices = getattr(response, "choices", None)
        if not choices:
            raise _Retryable("the response has no choices")
        choice = choices[0]
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None) if message is not None else None
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        self.usage.add(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        return ChatResult(
            content=content if isinstance(content, str) else "",
            finish_reason=getattr(choice, "finish_reason", None),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            key=key,
        )

    def _fatal(self, status: int, detail: str) -> R2DError:
        self.usage.add(failures=1)
        config = self.config
        where = f"the LLM server at {config.normalized_url} answered HTTP {status}: {detail}"
        if status in (401, 403):
            env = config.api_key_env or DEFAULT_API_KEY_ENV
            return R2DError(where, field="api_key", hint=f"set ${env} to a valid API key")
        if status == 404:
            return R2DError(
                where,
                field="model",
                hint=f"check the model name '{config.model}' and that --base-url ends where the "
                "server's /chat/completions lives (usually .../v1)",
            )
        return R2DError(where, hint="the server refused the request; check the model options")

    # --- many items -----------------------------------------------------------------------

    def map(
        self,
        function: Callable[[T], R],
        items: Sequence[T],
        *,
        on_result: Callable[[int, R], None] | None = None,
        progress: bool = False,
        description: str = "LLM",
    ) -> list[R]:
        """Run ``function`` over ``items`` with at most ``concurrency`` running at once.

        ``function`` typically calls :meth:`chat` one or more times. ``on_result(index, result)``
        runs in the calling thread as each item finishes, in completion order, so it can save the
        result at once. On the first error no new item starts; the items already running finish
        (and are handed to ``on_result``), then the error is raised. Returns the results in the
        order of ``items``.
        """
        results: list[Any] = [None] * len(items)
        if not items:
            return results
        first_error: BaseException | None = None
        with (
            _progress(progress, description, len(items), self.usage) as advance,
            ThreadPoolExecutor(max_workers=self.config.concurrency) as pool,
        ):
            pending: dict[Future[R], int] = {}
            next_index = 0

            def submit_more() -> None:
                nonlocal next_index
                while next_index < len(items) and len(pending) < self.config.concurrency:
                    pending[pool.submit(function, items[next_index])] = next_index
                    next_index += 1

            try:
                submit_more()
                while pending:
                    done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                    for future in done:
                        index = pending.pop(future)
                        try:
                            value = future.result()
                        except BaseException as exc:  # noqa: BLE001 - re-raised below
                            if first_error is None:
                                first_error = exc
                            continue
                        results[index] = value
                        if on_result is not None:
                            on_result(index, value)
                        advance()
                    if first_error is None:
                        submit_more()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        if first_error is not None:
            raise first_error
        return results


def _error_detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
    return str(getattr(exc, "message", None) or exc)[:300]


@contextlib.contextmanager
def _progress(enabled: bool, description: str, total: int, usage: Usage) -> Iterator[Callable]:
    """A rich progress bar on stderr showing items done, time left and tokens used."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[tokens]} tok, {task.fields[cached]} cached"),
        console=Console(stderr=True),
    )
    task = bar.add_task(description, total=total, tokens=0, cached=0)

    def advance() -> None:
        bar.update(task, advance=1, tokens=usage.total_tokens, cached=usage.cache_hits)

    with bar:
        yield advance
