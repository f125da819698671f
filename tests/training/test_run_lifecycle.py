"""A run's life after training: Stage 2 alone from a run (--init), resuming it (--resume),
reloading its models elsewhere; and Stage-1 rows that overlap evaluation data."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from reason2decide.backbones import load_backbone
from reason2decide.data.example import Example
from reason2decide.data.training_data import load_training_data
from reason2decide.errors import R2DError
from reason2decide.inference import Predictor
from reason2decide.training import build_config, run_training
from reason2decide.training.output import resolve_init, resume_config
from tiny_models import save_tiny_t5, write_toy_dataset

QUIET = {"say": lambda _: None}


def tiny_config(root: Path, model: Path, output: Path, **overrides):
    flags = dict(
        train=root / "data" / "train.jsonl",
        val=root / "data" / "val.jsonl",
        output=output,
        model=str(model),
        max_steps=2,
        stage1_max_steps=2,
        batch_size=8,
        eval_steps=2,
        lr=3e-3,
        max_input_length=48,
        max_target_length=12,
        seed=1,
    )
    flags.update(overrides)
    return build_config(flags)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("lifecycle")
    texts = write_toy_dataset(root / "data")
    return root, save_tiny_t5(root / "t5", texts)


def fake_run(path: Path, stages: dict[str, str]) -> Path:
    """A run folder holding ``run.json`` and empty model folders (stage name → model folder)."""
    path.mkdir(parents=True)
    for folder in stages.values():
        (path / folder).mkdir(parents=True)
    manifest = {"status": "complete", "stages": {n: {"model_dir": f} for n, f in stages.items()}}
    (path / "run.json").write_text(json.dumps(manifest))
    return path


# ------------------------------------------------------------------ item 4: --stage 2 --init RUN
def test_init_from_a_two_stage_run_is_its_stage1_model(tmp_path):
    run = fake_run(tmp_path / "r2d", {"stage1": "stage1/model", "stage2": "model"})
    assert resolve_init(str(run)) == str(run / "stage1" / "model")


def test_init_from_a_stage1_only_run_is_its_model(tmp_path):
    run = fake_run(tmp_path / "s1", {"stage1": "model"})
    assert resolve_init(str(run)) == str(run / "model")


def test_init_from_a_run_without_stage1_model_is_refused_unless_the_model_is_named(tmp_path):
    run = fake_run(tmp_path / "dss", {"dss": "model"})
    with pytest.raises(R2DError, match="no Stage-1 model") as error:
        resolve_init(str(run))
    assert str(run / "model") in str(error.value), "the hint names the folder to pass"
    assert resolve_init(str(run / "model")) == str(run / "model")
    assert resolve_init("google/flan-t5-base") == "google/flan-t5-base"


# ------------------------------------------------------------------ item 5: fresh parameters
@pytest.fixture(scope="module")
def fresh_run(toy, tmp_path_factory):
    """A two-stage run from a T5 whose cross-attention is marked as not pretrained."""
    root, model = toy
    marked = tmp_path_factory.mktemp("marked") / "t5"
    shutil.copytree(model, marked)
    (marked / "backbone.json").write_text(
        json.dumps(
            {"kind": "seq2seq", "fresh_parameters": ["EncDecAttention"], "fresh_lr_scale": 10.0}
        )
    )
    output = marked.parent / "run"
    manifest = run_training(tiny_config(root, marked, output), **QUIET)
    return output, manifest


def test_trained_models_have_no_fresh_parameters(fresh_run):
    output, manifest = fresh_run
    assert manifest["stages"]["stage1"]["fresh_lr_scale"] == 10.0, "Stage 1 trains them at 10x"
    assert manifest["stages"]["stage2"]["fresh_lr_scale"] is None, "once trained: ordinary"
    for folder in (output / "stage1" / "model", output / "model"):
        saved = json.loads((folder / "backbone.json").read_text())
        assert saved["fresh_parameters"] == [] and saved["fresh_lr_scale"] == 1.0
        assert load_backbone(str(folder)).fresh_parameters == ()


def test_lora_on_a_trained_model_adapts_instead_of_training_in_full(fresh_run):
    from reason2decide.training.lora import apply_lora

    output, _ = fresh_run
    backbone = load_backbone(str(output / "stage1" / "model"))
    lora = apply_lora(backbone, r=2, alpha=4, dropout=0.0, target_modules="q,v")
    assert lora["fully_trained_modules"] == 0


def test_stage2_alone_from_the_run_starts_from_stage1_and_records_it(fresh_run, toy, tmp_path):
    root, model = toy
    output, _ = fresh_run
    config = tiny_config(root, model, tmp_path / "s2", stage="2", init=str(output))
    manifest = run_training(config, **QUIET)
    stage1_model = str((output / "stage1" / "model").resolve())
    assert manifest["init"] == {"given": str(output), "resolved": stage1_model}
    assert manifest["stages"]["stage2"]["init"] == str(output / "stage1" / "model")
    saved = json.loads((tmp_path / "s2" / "run.json").read_text())
    assert saved["init"]["resolved"] == stage1_model


# ------------------------------------------------------------------ item 6: --resume checks
@pytest.fixture()
def finished_sft(toy, tmp_path):
    """A finished label-only run on its own copy of the data."""
    root, model = toy
    shutil.copytree(root / "data", tmp_path / "data")
    config = tiny_config(tmp_path, model, tmp_path / "run", method="sft")
    run_training(config, **QUIET)
    return tmp_path, config


def test_resume_after_editing_the_training_file_is_refused(finished_sft):
    root, config = finished_sft
    labels_before = (root / "run" / "labels.json").read_text()
    train = root / "data" / "train.jsonl"
    rows = [json.loads(line) for line in train.read_text().splitlines()]
    rows[0]["label"] = "maybe"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(R2DError, match="training file") as error:
        run_training(config, resume=True, **QUIET)
    assert "train.jsonl" in str(error.value)
    assert (root / "run" / "labels.json").read_text() == labels_before


def test_resume_after_editing_the_validation_file_is_refused(finished_sft):
    root, config = finished_sft
    val = root / "data" / "val.jsonl"
    val.write_text(
        val.read_text() + val.read_text().splitlines()[0].replace("case-", "new-") + "\n"
    )
    with pytest.raises(R2DError, match="validation file") as error:
        run_training(config, resume=True, **QUIET)
    assert "val.jsonl" in str(error.value)


def test_resume_refuses_a_yaml_that_contradicts_the_run(tmp_path):
    config = build_config(
        {"train": tmp_path / "t.jsonl", "output": tmp_path / "run", "lr": 5e-5, "max_steps": 6}
    )
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text(json.dumps({"config": config.dump()}))
    same = tmp_path / "same.yaml"
    same.write_text(f"train: {tmp_path / 't.jsonl'}\nlr: 0.00005\nmax-steps: 6\n")
    assert resume_config(tmp_path / "run", {}, config_file=same).max_steps == 6
    other = tmp_path / "other.yaml"
    other.write_text(f"train: {tmp_path / 't.jsonl'}\nlr: 0.1\nmax-steps: 6\n")
    with pytest.raises(R2DError, match=r"lr=5e-05 \(in other.yaml 0.1\)"):
        resume_config(tmp_path / "run", {}, config_file=other)
    # the method's W under its old name is compared under the new one
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text("warmup-fraction: 0.5\n")
    with pytest.warns(FutureWarning), pytest.raises(R2DError, match="alpha_warmup_fraction"):
        resume_config(tmp_path / "run", {}, config_file=renamed)


def test_resume_of_a_run_json_without_its_config_is_a_user_error(tmp_path):
    # Regression: a run.json without "config" (another tool's, or damaged) raised KeyError.
    (tmp_path / "run").mkdir()
    for content in ({"status": "complete"}, [1, 2], {"config": "x"}):
        (tmp_path / "run" / "run.json").write_text(json.dumps(content))
        with pytest.raises(R2DError, match="holds no 'config' object"):
            resume_config(tmp_path / "run", {})


# ------------------------------------------------------------------ item 7: Stage-1 overlap
def cases(prefix: str, n: int, **extra) -> list[dict]:
    """``n`` rows with ids and questions of their own."""
    return [
        {
            "id": f"{prefix}-{i}",
            "question": f"{prefix} case number {i}",
            "label": ["yes", "no"][i % 2],
            "rationale": "because",
            **extra,
        }
        for i in range(n)
    ]


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def as_examples(rows: list[dict]) -> list[Example]:
    return [Example(id=r["id"], question=r["question"], label=r["label"]) for r in rows]


def test_stage1_file_rows_that_overlap_validation_and_test_are_counted_or_dropped(tmp_path):
    train, val = cases("train", 20), cases("val", 8)
    test = cases("test", 8)
    # 3 validation rows (same ids and questions), 2 test questions under other ids, 15 clean
    teacher = [
        *val[:3],
        *[{**r, "id": f"copy-{i}"} for i, r in enumerate(test[:2])],
        *cases("teacher", 15),
    ]
    flags = {
        "train": write_rows(tmp_path / "train.jsonl", train),
        "val": write_rows(tmp_path / "val.jsonl", val),
        "output": tmp_path / "o",
        "stage1_train": write_rows(tmp_path / "teacher.jsonl", teacher),
    }
    held_out = {"test": as_examples(test)}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_training_data(build_config(flags), needs_rationale=True, held_out=held_out)
    overlap = loaded.sources["rationales"]["stage1"]["overlap"]
    assert overlap == {
        "validation": {"rows": 3, "ids": 3, "questions": 3},
        "test": {"rows": 2, "ids": 0, "questions": 2},
        "dropped": 0,
    }
    assert len(loaded.stage1_train + loaded.stage1_val) == 20
    messages = [str(w.message) for w in caught if "Stage-1" in str(w.message)]
    assert len(messages) == 1 and "5 of 20 Stage-1 training rows" in messages[0]
    assert "--stage1-exclude-overlap" in messages[0]

    said: list[str] = []
    config = build_config({**flags, "stage1_exclude_overlap": True})
    loaded = load_training_data(config, needs_rationale=True, held_out=held_out, say=said.append)
    kept = loaded.stage1_train + loaded.stage1_val
    assert sorted(e.id for e in kept) == sorted(f"teacher-{i}" for i in range(15))
    assert loaded.sources["rationales"]["stage1"]["overlap"]["dropped"] == 5
    assert any("dropped 5 of 20" in s for s in said)


def test_stage1_column_rows_are_checked_against_the_test_set(tmp_path):
    train, val = cases("train", 20, llm="llm"), cases("val", 8, llm="llm")
    test = [{**r, "id": f"test-{i}"} for i, r in enumerate(train[:4])]
    config = build_config(
        {
            "train": write_rows(tmp_path / "train.jsonl", train),
            "val": write_rows(tmp_path / "val.jsonl", val),
            "output": tmp_path / "o",
            "stage1_rationale_col": "llm",
            "stage1_exclude_overlap": True,
        }
    )
    loaded = load_training_data(
        config, needs_rationale=True, held_out={"test": as_examples(test)}, **QUIET
    )
    assert [e.id for e in loaded.stage1_train] == [f"train-{i}" for i in range(4, 20)]
    assert len(loaded.for_stage("stage2")[0]) == 20, "Stage 2's rows are untouched"
    assert loaded.sources["rationales"]["stage1"]["overlap"]["test"]["rows"] == 4


# ------------------------------------------------------------------ item 12: bare model folder
@pytest.mark.parametrize(("method", "prompt"), [("dss", "unconditioned"), ("sft", None)])
def test_a_copied_model_folder_keeps_its_method(toy, tmp_path, method, prompt):
    root, model = toy
    config = tiny_config(
        root, model, tmp_path / "run", method=method, max_input_length=40, label_decoding="score"
    )
    run_training(config, **QUIET)
    bare = tmp_path / "elsewhere" / "my-model"
    shutil.copytree(tmp_path / "run" / "model", bare)
    predictor = Predictor.from_output(bare)
    assert predictor.rationale_prompt == prompt
    assert predictor.labels == ["no", "yes"]
    assert predictor.label_decoding == "score"
    assert predictor.backbone.max_input_length == 40
    out = predictor.predict(["does a child with rash need a doctor"])
    assert out[0].label in ("no", "yes")
    assert (out[0].rationale is None) == (prompt is None)


@pytest.mark.parametrize("module", ["reason2decide.methods", "reason2decide.inference"])
def test_each_layer_imports_first_in_a_fresh_interpreter(module):
    # the Predictor reads the model-info file of the training package: no import cycle
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
