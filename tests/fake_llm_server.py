"""A scriptable fake OpenAI-compatible server on loopback, for fast tests of the LLM layer.

Shared by ``tests/llm`` (fixtures in its conftest) and ``tests/bench`` (the zero-shot method):
test modules import it directly (``pythonpath = ["tests"]``), like ``tiny_models``.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the fake server sends back: a chat answer, an error status, or raw bytes."""

    content: str = "ok"
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    finish_reason: str = "stop"


def case_number(body: dict[str, Any]) -> int | None:
    """The N of the first 'case-N' in the request's messages (the tests' ids)."""
    text = " ".join(m.get("content", "") for m in body.get("messages", []))
    match = re.search(r"case-(\d+)", text)
    return int(match.group(1)) if match else None


class FakeLLMServer:
    """Answers POST /v1/chat/completions with ``responder(body, call_number) -> Reply``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.responder: Callable[[dict[str, Any], int], Reply] = lambda body, n: Reply()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._send(200, json.dumps({"data": [{"id": "fake"}]}).encode())

            def do_POST(self) -> None:  # noqa: N802
                if not server.running:  # "gone": drop the connection without an answer
                    self.close_connection = True
                    return
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    number = len(server.requests)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    reply = server.responder(body, number)
                    if reply.delay:
                        time.sleep(reply.delay)
                finally:
                    with server.lock:
                        server.in_flight -= 1
                if reply.raw is not None:
                    payload = reply.raw
                elif reply.status >= 400:
                    payload = json.dumps({"error": {"message": reply.content}}).encode()
                else:
                    payload = json.dumps(
                        {
                            "id": f"chatcmpl-{number}",
                            "object": "chat.completion",
                            "created": 0,
                            "model": body.get("model", "fake"),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": reply.content},
                                    "finish_reason": reply.finish_reason,
                                }
                            ],
                            "usage": {
                                "prompt_tokens": 10,
                                "completion_tokens": 3,
                                "total_tokens": 13,
                            },
                        }
                    ).encode()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply.status, payload, reply.headers)

            def _send(self, status: int, payload: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.running = True

    @staticmethod
    def reply(**fields: Any) -> Reply:
        """A :class:`Reply` (handy where only the server object is at hand)."""
        return Reply(**fields)

    @property
    def url(self) -> str:
        """The base URL clients use."""
        return f"http://127.0.0.1:{self.port}/v1"

    def cases_asked(self) -> list[int | None]:
        """The case number of every request received, in order."""
        with self.lock:
            return [case_number(body) for body in self.requests]

    def stop(self) -> None:
        """Stop listening: later connections are refused."""
        if self.running:
            self.running = False
            self.httpd.shutdown()
            self.httpd.server_close()


@contextlib.contextmanager
def running() -> Iterator[FakeLLMServer]:
    """A running fake server, stopped on leaving the block (for fixtures in any folder)."""
    server = FakeLLMServer()
    try:
        yield server
    finally:
        server.stop()
