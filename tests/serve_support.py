"""For the server tests (tests/serve): a tiny run folder (random tiny T5, two labels, run.json,
an evaluation), a fake predictor with controllable pass times, a test client."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tiny_models import save_tiny_t5, write_toy_dataset

LABELS = ["no", "yes"]


def make_run_folder(root: Path) -> Path:
    """``root/run`` laid out as ``r2d train`` leaves it (model/, labels.json, run.json) plus
    an ``r2d evaluate`` output in ``eval/``."""
    texts = write_toy_dataset(root / "data", n_train=8, n_val=4)
    out = root / "run"
    model = save_tiny_t5(out / "model", texts)
    labels = json.dumps({"labels": LABELS})
    (model / "labels.json").write_text(labels)
    (out / "labels.json").write_text(labels)
    info = {
        "method": "r2d",
        "objective": "stage2",
        "rationale_prompt": "conditioned",
        "label_decoding": "score",
        "max_input_length": 64,
        "max_target_length": 8,
    }
    (model / "reason2decide.json").write_text(json.dumps(info))
    run = {
        "status": "complete",
        "method": "r2d",
        "seed": 0,
        "started_at": "2026-01-01T00:00:00+00:00",
        "config": {"method": "r2d", "model": "tiny-t5"},
        "labels": LABELS,
        "data": {
            "train": {"path": str(root / "data/train.jsonl"), "sha256": "ab" * 32, "rows": 8},
            "val": {"path": str(root / "data/val.jsonl"), "sha256": "cd" * 32, "rows": 4},
            "n_train": 8,
        },
    }
    (out / "run.json").write_text(json.dumps(run))
    (out / "eval").mkdir()
    metrics = {
        "accuracy": 0.75,
        "macro_f1": 0.7,
        "n": 4,
        "test": {"path": "/data/test.jsonl", "sha256": "ef" * 32, "rows": 4},
    }
    (out / "eval" / "metrics.json").write_text(json.dumps(metrics))
    return out


class FakePredictor:
    """Stands in for a Predictor: label = 'yes' when the text has 'yes' in it; optional sleeps
    per pass; records every pass."""

    labels = LABELS
    label_decoding = "score"
    prior_tau = 0.0
    explains = True
    rationale_prompt = "conditioned"

    def __init__(self, label_sleep: float = 0.0, rationale_sleep: float = 0.0) -> None:
        self.label_sleep = label_sleep
        self.rationale_sleep = rationale_sleep
        self.passes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    def inference_context(self):  # noqa: ANN201
        return contextlib.nullcontext()

    def score_batch(self, questions: Sequence[str]):  # noqa: ANN201
        from reason2decide.inference import Prediction

        with self.lock:
            self.passes.append(("label", list(questions)))
        time.sleep(self.label_sleep)
        out = []
        for q in questions:
            label = "yes" if "yes" in q else "no"
            p = 0.9 if label == "yes" else 0.1
            out.append(Prediction(label, {"no": round(1 - p, 6), "yes": p}))
        return out

    def explain_batch(self, questions: Sequence[str], labels: Sequence[str]) -> list[str]:
        with self.lock:
            self.passes.append(("rationale", list(questions)))
        time.sleep(self.rationale_sleep)
        return [f"because {q} -> {y}" for q, y in zip(questions, labels, strict=True)]


def fake_served(predictor: FakePredictor | None = None):
    from reason2decide.serve.model import ServedModel

    identity = {"method": "r2d", "backbone": "fake", "run_id": "fake-000"}
    info = {"model": identity, "labels": LABELS, "explains": True}
    return ServedModel(predictor or FakePredictor(), identity, info)  # type: ignore[arg-type]


@contextlib.contextmanager
def client_for(served_model, **settings) -> Iterator:
    """A TestClient (lifespan run: batcher started, audit log closed at the end)."""
    from fastapi.testclient import TestClient

    from reason2decide.serve.app import create_app
    from reason2decide.serve.config import ServeSettings

    app = create_app(served_model, ServeSettings(**settings))
    with TestClient(app) as client:
        yield client


@contextlib.contextmanager
def running_server(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yield its URL."""
    import socket

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
