"""The audit log: one JSON line per prediction request, written and flushed as it is answered."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def text_hash(text: str) -> str:
    """How a case's text appears in the audit log unless texts are kept: its SHA-256."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class AuditLog:
    """Appends one JSON object per line to ``path``; each line is flushed when written, so a
    line the server wrote survives the server."""

    def __init__(self, path: str | Path, *, keep_text: bool = False) -> None:
        self.path = Path(path)
        self.keep_text = keep_text
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()

    def record(
        self,
        *,
        request_id: str,
        client: str | None,
        endpoint: str,
        status: int,
        model: dict[str, Any],
        texts: list[str],
        predictions: list[dict[str, Any]],
        latency_s: float,
    ) -> None:
        """Write the line of one request (``predictions`` empty when it was refused)."""
        line = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "request_id": request_id,
            "client": client,
            "endpoint": endpoint,
            "status": status,
            "model": model,
            "n_cases": len(texts),
            "inputs": texts if self.keep_text else [text_hash(t) for t in texts],
            "ids": [p.get("id") for p in predictions],
            "labels": [p.get("label") for p in predictions],
            "probabilities": [p.get("probabilities") for p in predictions],
            "latency_ms": round(latency_s * 1000.0, 2),
        }
        data = json.dumps(line, ensure_ascii=False) + "\n"
        with self._lock:
            if self._handle.closed:
                return
            self._handle.write(data)
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if not self._handle.closed:
                self._handle.flush()
                self._handle.close()
