"""The model a server answers with: its :class:`Predictor`, who it is, and what is known of it
(its run's data, its test metrics, its model card)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reason2decide.errors import R2DError
from reason2decide.generation import GenerationSettings
from reason2decide.inference import Predictor
from reason2decide.metric_names import HEADLINE_METRICS
from reason2decide.training.model_card import CARD_FILE, read_card_facts

#: Metrics of an evaluation that /v1/info and the page show (when present).
SHOWN_METRICS = (*HEADLINE_METRICS, "n")


@dataclass
class ServedModel:
    """A loaded :class:`Predictor` and the facts about it every answer and /v1/info carry."""

    predictor: Predictor
    identity: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return self.predictor.labels


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def run_id(root: Path, model_dir: Path) -> str:
    """A short stable id of the run: a hash of its ``run.json`` (or, for a bare model folder,
    of its ``config.json`` and ``labels.json``), after the folder's name."""
    digest = hashlib.sha256()
    sources = [root / "run.json"] if (root / "run.json").is_file() else []
    sources = sources or [model_dir / "config.json", model_dir / "labels.json"]
    for path in sources:
        if path.is_file():
            digest.update(path.read_bytes())
    return f"{root.resolve().name}-{digest.hexdigest()[:12]}"


def file_facts(
    record: dict[str, Any], keys: tuple[str, ...] = ("sha256", "rows", "bytes")
) -> dict[str, Any]:
    """What may be shown of a data file: its name without the folders it sat in on the
    training machine (they can name people, projects or hosts), its hash and size."""
    out = {k: record[k] for k in keys if k in record}
    if isinstance(record.get("path"), str):
        out = {"file": record["path"].replace("\\", "/").rsplit("/", 1)[-1], **out}
    return out


def find_evaluation(root: Path, model_dir: Path) -> dict[str, Any] | None:
    """The test metrics of the model: from the newest ``metrics.json`` of an ``r2d evaluate``
    kept in the run folder (``OUT`` itself or one level below), else from the model card that
    ``r2d evaluate`` completes; None when neither has any."""
    candidates = [root / "metrics.json", *sorted(root.glob("*/metrics.json"))]
    found = [p for p in candidates if p.is_file()]
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for path in found:
        metrics = _read_json(path)
        if not metrics or "accuracy" not in metrics:
            continue
        test = metrics.get("test") if isinstance(metrics.get("test"), dict) else {}
        return {
            "file": str(path.relative_to(root)),
            "test_set": file_facts(test, ("sha256", "rows")),
            "metrics": {k: metrics[k] for k in SHOWN_METRICS if k in metrics},
        }
    facts = read_card_facts(model_dir) or {}
    evaluation = facts.get("evaluation")
    if isinstance(evaluation, dict) and evaluation.get("metrics"):
        n = evaluation.get("n_evaluated")
        return {
            "file": f"{model_dir.name}/{CARD_FILE}",
            "test_set": file_facts(evaluation.get("test_set") or {}, ("sha256", "rows")),
            "metrics": {**evaluation["metrics"], **({"n": n} if n is not None else {})},
        }
    return None


def describe(root: Path, predictor: Predictor) -> tuple[dict[str, Any], dict[str, Any]]:
    """The identity (method, backbone, run id) and the info of the model in ``root``."""
    model_dir = root / "model" if (root / "model").is_dir() else root
    run = _read_json(root / "run.json") or {}
    model_info = _read_json(model_dir / "reason2decide.json") or {}
    backbone = _read_json(model_dir / "backbone.json") or {}
    config = run.get("config", {}) if isinstance(run.get("config"), dict) else {}
    method = model_info.get("method") or run.get("method") or "unknown"
    backbone_name = (
        config.get("model")
        or backbone.get("name")
        or backbone.get("model")
        or predictor.backbone.name
    )
    identity = {"method": method, "backbone": backbone_name, "run_id": run_id(root, model_dir)}
    card = model_dir / CARD_FILE
    data = run.get("data", {}) if isinstance(run.get("data"), dict) else {}
    info = {
        "model": identity,
        "labels": predictor.labels,
        "label_decoding": predictor.label_decoding,
        # the decision prior correction every prediction uses (0: the plain arg-max)
        "prior_tau": predictor.prior_tau,
        "explains": predictor.explains,
        "rationale_prompt": predictor.rationale_prompt,
        "input": {"fields": ["text"], "template": None},
        "generation": predictor.generation.to_dict(),
        "data": {
            name: file_facts(value)
            for name, value in data.items()
            if isinstance(value, dict) and "sha256" in value
        },
        "run": {k: run[k] for k in ("status", "started_at", "finished_at", "seed") if k in run},
        "evaluation": find_evaluation(root, model_dir),
        "model_card": card.read_text(encoding="utf-8") if card.is_file() else None,
    }
    return identity, info


def load_served_model(
    path: str | Path,
    *,
    batch_size: int = 16,
    device: str | None = None,
    precision: str = "auto",
    generation: GenerationSettings | None = None,
) -> ServedModel:
    """Load the run folder (or bare model folder) ``path`` once, for serving."""
    root = Path(path)
    if not root.exists():
        raise R2DError("no such run or model folder", path=root)
    predictor = Predictor.from_output(
        root, batch_size=batch_size, device=device, precision=precision, generation=generation
    )
    identity, info = describe(root, predictor)
    return ServedModel(predictor, identity, info)
