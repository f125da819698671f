"""benchmarks/vs_reference.py: the Stage-2 split at the first sampling step (the same step as
our schedule's), both sides' commands, and the table of medians, per-pair ratios and memory."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.methods.schedules import Stage2Schedule


@pytest.fixture(scope="module")
def vs(benchmark_script):
    return benchmark_script("vs_reference")


@pytest.mark.parametrize("max_steps", [20, 40, 100, 1000])
def test_first_sampling_step_is_where_our_schedule_first_samples(vs, max_steps):
    schedule = Stage2Schedule(max_steps=max_steps)
    first_index = next(s for s in range(max_steps) if schedule.p_pred(s) > 0)
    # the bar shows step k once 0-based step k - 1 is done
    assert vs.sampling_start(max_steps) == first_index + 1
    assert schedule.warmup_steps == int(vs.ALPHA_WARMUP_FRACTION * max_steps)
    assert schedule.ramp_steps == int(vs.RAMP_FRACTION * max_steps)


def test_split_steps_before_and_after_sampling(vs):
    split = vs.split_steps({4: 8.0, 2: 4.0, 3: 4.5, 5: 9.0}, first_sampling=4)
    assert split == {"all": [4.0, 4.5, 8.0, 9.0], "before": [4.0, 4.5], "after": [8.0, 9.0]}
    assert vs.median(split["after"]) == 8.5
    assert vs.median([]) is None


def _run(vs, stage, side, pair, steps, rss, tree=None):
    first = vs.sampling_start(10) if stage == "stage2" else 10**9
    split = vs.split_steps(dict(enumerate(steps, start=2)), first)
    return {"stage": stage, "side": side, "pair": pair, "step_s": {"2": 1.0}, "split_s": split,
            "peak_rss_mib": rss, "peak_tree_pss_mib": tree}  # fmt: skip


def test_table_per_stage_with_per_pair_ratios_and_memory(vs):
    # Stage 2 of 10 steps samples from step 2 (W = 0): the before part is empty
    assert vs.sampling_start(10) == 2
    runs = [
        _run(vs, "sft", "reference", 0, [2.0, 2.0, 2.2], 1024),
        _run(vs, "sft", "ours", 0, [1.0, 1.0, 1.1], 2048),
        _run(vs, "sft", "reference", 1, [3.0, 3.0], 1024),
        _run(vs, "sft", "ours", 1, [2.0, 2.0], 1536, tree=4096),
        _run(vs, "stage2", "reference", 0, [8.0, 8.0], 1024, tree=5120),
        _run(vs, "stage2", "ours", 0, [4.0, 4.0], 1024),
    ]
    rows = vs.stage_rows(runs)
    assert [r["title"] for r in rows] == [
        "SFT",
        "Stage 2 before sampling",
        "Stage 2 with sampling",
        "Stage 2, all steps",
    ]
    sft = rows[0]
    assert sft["pair_ratios"] == pytest.approx([2.0, 1.5])
    # medians over all of a side's steps: reference [2, 2, 2.2, 3, 3] -> 2.2; ours -> 1.1
    assert sft["reference"]["median_s"] == pytest.approx(2.2)
    assert sft["ratio"] == pytest.approx(2.0)
    assert sft["ours"]["peak_rss_mib"] == 2048 and sft["ours"]["peak_tree_mib"] == 4096
    assert rows[1]["reference"]["median_s"] is None and rows[1]["pair_ratios"] == [None]
    table = vs.markdown_table(rows)
    lines = table.splitlines()
    assert lines[2] == "| SFT | 2.20 | 1.10 | 2.00 (2.00 / 1.50) | 1.00 | 2.00 (4.00) |"
    assert lines[3].startswith("| Stage 2 before sampling | – | – | – (–) |")
    assert lines[4] == "| Stage 2 with sampling | 8.00 | 4.00 | 2.00 (2.00) | 1.00 (5.00) | 1.00 |"


def _sides(vs, tmp_path):
    return vs.Sides("ref-python", tmp_path / "ref", "our-python", tmp_path / "ours", tmp_path)


@pytest.mark.parametrize("stage", ["sft", "stage1", "stage2"])
def test_our_command_runs_the_reference_settings(vs, tmp_path, monkeypatch, stage):
    settings = vs.Settings(steps={"sft": 30, "stage1": 30, "stage2": 40})
    command = vs.ours_command(
        stage, _sides(vs, tmp_path), settings, tmp_path / "model", "t.jsonl", "v.jsonl", tmp_path
    )
    assert command[:4] == ["our-python", "-m", "reason2decide.cli", "train"]
    seen = {}

    def run_training(config, **kwargs):
        seen["config"] = config
        return {"wall_time_s": 0.0}

    monkeypatch.setattr("reason2decide.training.recipes.run_training", run_training)
    result = CliRunner().invoke(app, command[3:])
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert (config.batch_size, config.max_input_length, config.max_target_length) == (8, 256, 256)
    assert config.precision == vs.REFERENCE_PRECISION[stage]
    assert config.seed == settings.seed
    if stage == "sft":
        assert (config.method, config.max_steps, config.eval_steps) == ("sft", 30, 31)
    elif stage == "stage1":
        assert (config.method, config.stage, config.stage1_max_steps) == ("r2d", "1", 30)
        assert config.stage1_eval_steps == 31
    else:
        assert (config.method, config.stage, config.max_steps, config.eval_steps) == (
            "r2d", "2", 40, 41
        )  # fmt: skip
        schedule = Stage2Schedule(
            40, warmup_fraction=config.alpha_warmup_fraction, ramp_fraction=config.ramp_fraction
        )
        assert (schedule.warmup_steps, schedule.ramp_steps) == (2, 24)
        assert config.init == str(tmp_path / "model")


def test_reference_commands_use_its_flags(vs, tmp_path):
    settings = vs.Settings(steps={"sft": 30, "stage1": 30, "stage2": 40})
    sides = _sides(vs, tmp_path)
    args = ("model", "t.jsonl", "v.jsonl", tmp_path / "out")
    stage1 = vs.reference_command("stage1", sides, settings, *args)
    stage2 = vs.reference_command("stage2", sides, settings, *args)
    assert stage1[:2] == ["ref-python", str(tmp_path / "ref" / "src/r2d/train_stage1.py")]
    flags = dict(zip(stage1[2::2], stage1[3::2], strict=True))
    assert flags == {
        "--train_file": "t.jsonl", "--valid_file": "v.jsonl", "--model_name": "model",
        "--output_dir": str(tmp_path / "out"), "--batch_size": "8", "--max_steps": "30",
        "--eval_steps": "31", "--max_input_length": "256", "--grad_steps": "1", "--seed": "42",
        "--max_output_length": "256",
    }  # fmt: skip
    assert "--stage1_model_dir" in stage2 and "--model_name" not in stage2
    assert stage2[stage2.index("--max_steps") + 1] == "40"
