"""Scheduled-sampling draws under gradient accumulation (issue 10, item 1): ``r2d train
--gradient-accumulation-steps 2`` gives every micro-batch of an optimizer step its own draws, and
the same seed repeats them exactly."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import reason2decide.methods.r2d as r2d_module
from reason2decide.cli import app
from tiny_models import save_tiny_t5, write_toy_dataset

BATCH, ACCUMULATION, STEPS = 4, 2, 4
DRAW_GENERATOR = r2d_module.draw_generator


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("draws")
    texts = write_toy_dataset(root / "data", n_train=32, n_val=8)
    return root / "data", save_tiny_t5(root / "t5", texts)


def recorded_draws(toy, output: Path, seed: int, monkeypatch) -> dict[int, list[list[float]]]:
    """Train Stage 2 with accumulation; per optimizer step, the uniforms each micro-batch drew."""
    data, model = toy
    draws: dict[int, list[list[float]]] = defaultdict(list)

    def recording(seed_, step, *rest):
        generator = DRAW_GENERATOR(seed_, step, *rest)
        copy = torch.Generator()
        copy.set_state(generator.get_state())
        draws[step].append(torch.rand(BATCH, generator=copy).tolist())
        return generator

    monkeypatch.setattr(r2d_module, "draw_generator", recording)
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--method", "r2d-no-stage1",
            "--train", str(data / "train.jsonl"),
            "--val", str(data / "val.jsonl"),
            "--model", str(model),
            "--output", str(output),
            "--max-steps", str(STEPS),
            "--batch-size", str(BATCH),
            "--gradient-accumulation-steps", str(ACCUMULATION),
            "--warmup-fraction", "0",
            "--eval-steps", str(STEPS),
            "--max-input-length", "48",
            "--max-target-length", "12",
            "--seed", str(seed),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return dict(draws)


def test_micro_batches_draw_independently_and_repeat_for_the_seed(toy, tmp_path, monkeypatch):
    first = recorded_draws(toy, tmp_path / "a", 5, monkeypatch)
    # p = 0 at step 0 (no draws); every later step draws once per micro-batch
    assert sorted(first) == list(range(1, STEPS))
    for step, micro_batches in first.items():
        assert len(micro_batches) == ACCUMULATION, step
        assert micro_batches[0] != micro_batches[1], f"step {step} repeats its draws"
    every = [tuple(d) for parts in first.values() for d in parts]
    assert len(set(every)) == len(every)
    assert recorded_draws(toy, tmp_path / "b", 5, monkeypatch) == first
    assert recorded_draws(toy, tmp_path / "c", 6, monkeypatch) != first
