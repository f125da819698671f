"""End to end: tiny T5 and tiny Llama train Stage 1 + Stage 2, save, reload and predict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import TrainerCallback

from reason2decide.inference import Predictor
from reason2decide.methods.schedules import Stage2Schedule
from reason2decide.training import build_config, run_training
from tiny_models import save_tiny_llama, save_tiny_t5, write_toy_dataset

STAGE1_STEPS, STAGE2_STEPS = 12, 30


def read_log(output: Path) -> list[dict]:
    lines = (output / "log_history.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def config_for(data: Path, model: Path, output: Path, **overrides):
    flags = dict(
        train=data / "train.jsonl",
        val=data / "val.jsonl",
        output=output,
        model=str(model),
        max_steps=STAGE2_STEPS,
        stage1_max_steps=STAGE1_STEPS,
        batch_size=8,
        eval_steps=6,
        logging_steps=1,
        lr=3e-3,
        max_input_length=48,
        max_target_length=12,
        seed=1,
    )
    flags.update(overrides)
    return build_config(flags)


@pytest.fixture(scope="module", params=["t5", "llama"])
def trained(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"e2e-{request.param}")
    texts = write_toy_dataset(root / "data")
    save = save_tiny_t5 if request.param == "t5" else save_tiny_llama
    model = save(root / "init", texts)
    manifest = run_training(config_for(root / "data", model, root / "run"), say=lambda _: None)
    return root, manifest


def test_output_folder_holds_model_labels_manifest_and_log(trained):
    root, manifest = trained
    out = root / "run"
    for name in ("model", "labels.json", "run.json", "log_history.jsonl", "stage1/model"):
        assert (out / name).exists(), name
    assert json.loads((out / "labels.json").read_text())["labels"] == ["no", "yes"]
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "complete" and run["seed"] == 1
    assert run["config"]["max_steps"] == STAGE2_STEPS
    assert run["data"]["train"]["sha256"] and run["data"]["n_train"] == 48
    assert set(run["environment"]) >= {"torch", "transformers", "python"}
    assert run["stages"]["stage1"]["steps_done"] == STAGE1_STEPS
    assert run["stages"]["stage2"]["steps_done"] == STAGE2_STEPS
    assert run["wall_time_s"] > 0
    # CPU seconds of the process: > 0, summed over the stages
    stages = run["stages"].values()
    assert all(s["cpu_time_s"] > 0 for s in stages)
    assert run["cpu_time_s"] == pytest.approx(sum(s["cpu_time_s"] for s in stages), abs=0.02)
    assert not list(out.glob("stage*/checkpoint-*")), "checkpoints are removed once a stage ends"


def test_log_has_one_line_per_step_with_schedule_values(trained):
    root, _ = trained
    rows = [r for r in read_log(root / "run") if "loss" in r]
    stage1 = [r for r in rows if r["stage"] == "stage1"]
    stage2 = [r for r in rows if r["stage"] == "stage2"]
    assert [r["step"] for r in stage1] == list(range(1, STAGE1_STEPS + 1))
    assert [r["step"] for r in stage2] == list(range(1, STAGE2_STEPS + 1))
    schedule = Stage2Schedule(max_steps=STAGE2_STEPS)
    for row in stage2:
        # the loss of optimisation step s (1-based in the log) was computed at 0-based step s-1
        assert row["alpha"] == pytest.approx(schedule.alpha(row["step"] - 1))
        assert row["p_pred"] == pytest.approx(schedule.p_pred(row["step"] - 1))
        expected = row["alpha"] * row["loss_pred"] + (1 - row["alpha"]) * row["loss_expl"]
        assert row["loss"] == pytest.approx(expected, rel=1e-4)
    assert stage2[-1]["p_pred"] > 0.5 and stage2[-1]["frac_predicted"] >= 0.0
    evals = [r for r in read_log(root / "run") if "eval_macro_f1" in r]
    assert evals and all(0.0 <= r["eval_macro_f1"] <= 1.0 for r in evals)


def test_losses_fall(trained):
    root, _ = trained
    rows = [r for r in read_log(root / "run") if "loss" in r]
    stage1 = [r["loss"] for r in rows if r["stage"] == "stage1"]
    stage2 = [r["loss_pred"] for r in rows if r["stage"] == "stage2"]
    assert sum(stage1[-3:]) / 3 < sum(stage1[:3]) / 3
    assert sum(stage2[-5:]) / 5 < sum(stage2[:5]) / 5


def test_reloaded_model_predicts_inside_the_label_set(trained):
    root, _ = trained
    predictor = Predictor.from_output(root / "run", batch_size=4)
    questions = [
        "does a child with fever today need a doctor",
        "does a child with itch need a doctor",
    ]
    out = predictor.predict(questions)
    assert [p.label in ("no", "yes") for p in out] == [True, True]
    for p in out:
        assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        assert isinstance(p.rationale, str)
    generated = Predictor.from_output(root / "run", label_decoding="generate").predict(
        questions, with_rationale=False
    )
    assert all(isinstance(p.label, str) and p.probabilities is None for p in generated)


class Interrupt(TrainerCallback):
    """Simulate a crash in Stage 2 after the step-``at`` checkpoint exists."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, args, state, control, **kwargs):
        if "stage2" in args.output_dir and state.global_step == self.at:
            raise KeyboardInterrupt("simulated interruption")


def test_resume_continues_from_the_last_checkpoint(tmp_path):
    texts = write_toy_dataset(tmp_path / "data")
    model = save_tiny_t5(tmp_path / "init", texts)
    config = config_for(tmp_path / "data", model, tmp_path / "run", max_steps=20, eval_steps=5)
    with pytest.raises(KeyboardInterrupt):
        run_training(config, say=lambda _: None, callbacks=[Interrupt(at=13)])
    assert (tmp_path / "run/stage1/stage.json").is_file()
    assert (tmp_path / "run/stage2/checkpoint-10").is_dir()
    assert not (tmp_path / "run/model").exists()

    said: list[str] = []
    manifest = run_training(config, resume=True, say=said.append)
    assert any("stage1: already complete" in s for s in said)
    stage2 = manifest["stages"]["stage2"]
    assert stage2["resumed_from_step"] == 10 and stage2["steps_done"] == 20
    first, second = stage2["attempts"]
    assert not first["completed"] and second["completed"]
    assert stage2["wall_time_s"] == pytest.approx(first["wall_time_s"] + second["wall_time_s"])
    assert first["cpu_time_s"] > 0 and second["cpu_time_s"] > 0
    assert stage2["cpu_time_s"] == pytest.approx(first["cpu_time_s"] + second["cpu_time_s"])
    assert manifest["status"] == "complete" and manifest["resumed_at"]
    steps = [
        r["step"] for r in read_log(tmp_path / "run") if r["stage"] == "stage2" and "loss" in r
    ]
    assert steps == list(range(1, 21)), "log lines after the checkpoint are replaced, not doubled"
    assert (tmp_path / "run/model/model.safetensors").is_file()


def test_stage_two_alone_starts_from_init(tmp_path, trained):
    root, _ = trained
    config = config_for(
        root / "data",
        root / "init",
        tmp_path / "s2",
        stage="2",
        init=str(root / "run"),
        max_steps=4,
        eval_steps=2,
    )
    manifest = run_training(config, say=lambda _: None)
    assert list(manifest["stages"]) == ["stage2"]
    assert manifest["stages"]["stage2"]["init"].endswith("run/stage1/model")


def test_repeat_task_reaches_the_saved_model_and_the_predictor(tmp_path):
    texts = write_toy_dataset(tmp_path / "data")
    model = save_tiny_llama(tmp_path / "init", texts)
    config = config_for(
        tmp_path / "data", model, tmp_path / "run", method="sft", max_steps=2, repeat_task=True
    )
    assert config.repeat_task is True
    run_training(config, say=lambda _: None)
    saved = json.loads((tmp_path / "run" / "model" / "backbone.json").read_text())
    assert saved["repeat_task"] is True
    predictor = Predictor.from_output(tmp_path / "run", batch_size=4)
    assert predictor.backbone.repeat_task is True
