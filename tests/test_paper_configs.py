"""The paper configs under configs/ load and validate through the loader of ``r2d train
--config`` and hold the published settings, each value with a comment naming its source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reason2decide.training.config import build_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

#: The published budget every method shares (Reason2Decide's reference defaults).
BUDGET = {
    "lr": 5e-5,
    "batch_size": 64,
    "warmup_ratio": 0.0,
    "max_steps": 30_000,
    "eval_steps": 500,
    "stage2_patience": 5,
    "max_input_length": 1024,
    "max_target_length": 256,
}
STAGE2 = {
    "stage1_max_steps": 50_000,
    "stage1_patience": 3,
    "alpha": 0.7,
    "alpha_warmup_fraction": 0.05,
    "ramp_fraction": 0.6,
    "p_max": 0.9,
}
EXPECTED = {
    "r2d": {**BUDGET, **STAGE2},
    "r2dc": {
        **BUDGET,
        **STAGE2,
        "cycle_weight": 0.1,
        "gumbel_start": 1.0,
        "gumbel_min": 0.5,
        "confidence_sharpness": 10.0,
        "r2dc_confidence": "token-geomean",
    },
    "sft": BUDGET,
    "dss": {**BUDGET, "dss_alpha": 0.5},
}


def test_every_paper_config_is_listed():
    found = sorted(p.name for p in CONFIGS.glob("*-paper.yaml"))
    assert found == sorted(f"{method}-paper.yaml" for method in EXPECTED)


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_paper_config_loads_with_the_published_values(method, tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text('{"question": "q", "label": "yes", "rationale": "r"}\n')
    flags = {"train": train, "output": tmp_path / "run"}  # as r2d train's flags give them
    config = build_config(flags, CONFIGS / f"{method}-paper.yaml")
    assert config.method == method
    assert {key: getattr(config, key) for key in EXPECTED[method]} == EXPECTED[method]
    assert config.train == train, "the data comes from the flags, not the paper config"


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_every_value_names_its_source(method):
    lines = (CONFIGS / f"{method}-paper.yaml").read_text().splitlines()
    for number, line in enumerate(lines, 1):
        if re.match(r"^[a-z0-9-]+:", line):
            assert "  # " in line, f"{method}-paper.yaml:{number}: no comment on {line!r}"
