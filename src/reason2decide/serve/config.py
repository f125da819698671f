"""The server's options, declared once: the ``r2d serve`` flags are built from these fields."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any

from reason2decide.errors import R2DError


def _option(default: Any, help: str) -> Any:  # noqa: A002 - the word the CLI uses
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ServeSettings:
    """Where the server listens, who may call it, how much it accepts, how it batches."""

    host: str = _option(
        "127.0.0.1",
        "Address to listen on. Anything but loopback needs --api-key-env or --insecure.",
    )
    port: int = _option(8000, "Port to listen on (0 = any free port).")
    api_key_env: str | None = _option(
        None, "Environment variable holding the API key callers send as 'Authorization: Bearer'."
    )
    insecure: bool = _option(False, "Allow a non-loopback --host without an API key.")
    cors_origin: list[str] | None = _option(
        None, "Allow browser calls from this origin (repeatable). [CORS off]"
    )
    max_batch_size: int = _option(16, "Most cases in one model pass (micro-batching).")
    max_wait_ms: float = _option(
        5.0, "Longest a case waits for others to join its batch, in milliseconds."
    )
    max_body_bytes: int = _option(10_000_000, "Largest request body, in bytes (413 above).")
    max_cases: int = _option(64, "Most cases in one POST /v1/predict (413 above).")
    max_bulk_cases: int = _option(5000, "Most cases in one bulk upload (413 above).")
    max_text_chars: int = _option(20_000, "Longest case text, in characters (422 above).")
    request_timeout_s: float = _option(
        60.0, "A predict request not answered in this many seconds gets 503."
    )
    bulk_timeout_s: float = _option(
        900.0, "A bulk upload not answered in this many seconds gets 503."
    )
    audit_log: str | None = _option(None, "Append one JSON line per prediction request here.")
    audit_log_text: bool = _option(
        False, "Store the case texts in the audit log. [only their SHA-256]"
    )

    def __post_init__(self) -> None:
        positive = ("max_batch_size", "max_body_bytes", "max_cases", "max_bulk_cases")
        for name in (*positive, "max_text_chars", "request_timeout_s", "bulk_timeout_s"):
            if getattr(self, name) <= 0:
                raise R2DError(f"{name}={getattr(self, name)!r} must be above 0", field=name)
        if self.max_wait_ms < 0:
            raise R2DError("max_wait_ms must be 0 or more", field="max_wait_ms")
        if not 0 <= self.port <= 65535:
            raise R2DError(f"port {self.port} is not a TCP port", field="port")

    @property
    def loopback(self) -> bool:
        """Whether :attr:`host` only accepts connections from this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name: resolvable to anything
            return False

    def api_key(self) -> str | None:
        """The API key callers must send, or None when the server is open; refuses a
        non-loopback host without a key (unless :attr:`insecure`)."""
        if self.api_key_env:
            key = os.environ.get(self.api_key_env, "")
            if not key:
                raise R2DError(
                    f"the environment variable {self.api_key_env} is unset or empty",
                    field="api_key_env (--api-key-env)",
                    hint=f"export {self.api_key_env}=<a long random secret>",
                )
            return key
        if not self.loopback and not self.insecure:
            raise R2DError(
                f"--host {self.host} accepts connections from other machines and needs an API key",
                field="host (--host)",
                hint="give --api-key-env NAME with the key in $NAME, or --insecure on a trusted "
                "network, or keep the loopback default behind a reverse proxy",
            )
        return None
