"""``r2d bench`` user errors: each exits 2 with one message, before anything is trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.cli.bench import parse_methods, parse_seeds
from reason2decide.errors import R2DError

runner = CliRunner()


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    row = {"id": "a", "question": "fever?", "label": "yes", "rationale": "fever means yes"}
    other = {"id": "b", "question": "itch?", "label": "no", "rationale": "itch means no"}
    for split in ("train", "val", "test"):
        (folder / f"{split}.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(other) + "\n")
    return folder


def bench(*args) -> object:
    return runner.invoke(app, ["bench", *[str(a) for a in args]])


def assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_unknown_method_lists_the_choices(data, tmp_path):
    result = bench("--data", data, "--output", tmp_path / "o", "--methods", "r2d,cot")
    assert_user_error(result, "'cot'", "sft", "r2d-no-sampling", "r2dc")
    assert not (tmp_path / "o").exists()


def test_bad_seeds_and_repeated_methods(data, tmp_path):
    assert_user_error(bench("--data", data, "--output", tmp_path, "--seeds", "0,x"), "'x'")
    assert_user_error(bench("--data", data, "--output", tmp_path, "--seeds", "1,1"), "twice")
    result = bench("--data", data, "--output", tmp_path, "--methods", "sft,sft")
    assert_user_error(result, "sft")


def test_missing_split_names_the_folder(data, tmp_path):
    (data / "test.jsonl").unlink()
    result = bench("--data", data, "--output", tmp_path / "o", "--methods", "sft")
    assert_user_error(result, str(data), "test", "r2d data prepare")
    assert_user_error(bench("--data", tmp_path / "nope", "--output", tmp_path), "nope")


def test_config_that_picks_a_stage_is_refused(data, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("stage: '1'\n")
    result = bench("--data", data, "--output", tmp_path / "o", "--config", config)
    assert_user_error(result, "c.yaml", "stage")
    config.write_text("learning_rte: 1\n")
    result = bench("--data", data, "--output", tmp_path / "o", "--config", config)
    assert_user_error(result, "learning_rte")


def test_bad_budget_value_names_the_flag(data, tmp_path):
    result = bench("--data", data, "--output", tmp_path / "o", "--max-steps", "0")
    assert_user_error(result, "--max-steps")


def test_parsers():
    assert parse_methods(" r2d , sft,") == ["r2d", "sft"]
    assert parse_seeds("0, 1,2") == [0, 1, 2] and parse_seeds([3]) == [3]
    with pytest.raises(R2DError, match="no methods"):
        parse_methods(",")


def test_help_explains_the_budget():
    result = runner.invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--stage1-max-steps" in text and "two-stage methods" in text


def fake_run(
    planned, *, status: str, model: bool = False, settings=None, train_sha=None, generation=None
):
    """Write what a run leaves behind (no training): run.json, model/, eval/metrics.json
    (decoded with ``generation``, default the default settings; False: recorded none)."""
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.generation import GenerationSettings

    path = planned.path
    path.mkdir(parents=True, exist_ok=True)
    config = planned.config.dump()
    sha = train_sha or fingerprint(config["train"])["sha256"]
    manifest = {"status": status, "config": config, "data": {"train": {"sha256": sha}}}
    (path / "run.json").write_text(json.dumps(manifest))
    if model:
        (path / "model").mkdir(exist_ok=True)
    if settings is not None:
        (path / "eval").mkdir(exist_ok=True)
        metrics = {"bench_eval": {"settings": settings}}
        if generation is not False:
            metrics["generation"] = (generation or GenerationSettings()).to_dict()
        (path / "eval/metrics.json").write_text(json.dumps(metrics))


def test_plan_states_and_clashes(data, tmp_path):
    from reason2decide.bench import BenchSpec, plan_bench
    from reason2decide.bench.plan import eval_settings

    spec = BenchSpec(data=data, output=tmp_path / "b", methods=["sft"], seeds=[0, 1, 2, 3])
    plan = plan_bench(spec, say=lambda _: None)
    assert [(r.method, r.seed, r.state) for r in plan] == [("sft", s, "new") for s in range(4)]
    assert plan[1].path == (tmp_path / "b/runs/sft/seed1").resolve()
    assert plan[1].config.seed == 1 and plan[1].config.method == "sft"
    settings = eval_settings(spec, data / "test.jsonl")
    fake_run(plan[0], status="running")
    fake_run(plan[1], status="complete", model=True)
    fake_run(plan[2], status="complete", model=True, settings=settings)
    fake_run(plan[3], status="complete", model=True, settings={**settings, "test_limit": 5})
    states = [r.state for r in plan_bench(spec, say=lambda _: None)]
    assert states == ["resume", "evaluate", "complete", "evaluate"]

    # a moved bench folder is the same bench; other training data is not
    moved = tmp_path / "moved"
    (tmp_path / "b").rename(moved)
    spec.output = moved
    assert [r.state for r in plan_bench(spec, say=lambda _: None)][2] == "complete"
    fake_run(plan_bench(spec, say=lambda _: None)[0], status="running", train_sha="0" * 64)
    with pytest.raises(R2DError, match="train file's content changed"):
        plan_bench(spec, say=lambda _: None)


def test_other_rationale_decoding_reevaluates_without_retraining(data, tmp_path):
    from reason2decide.bench import BenchSpec, plan_bench
    from reason2decide.bench.plan import eval_settings
    from reason2decide.generation import GREEDY, GenerationSettings

    spec = BenchSpec(data=data, output=tmp_path / "b", methods=["sft"], seeds=[0, 1, 2])
    plan = plan_bench(spec, say=lambda _: None)
    settings = eval_settings(spec, data / "test.jsonl")
    fake_run(plan[0], status="complete", model=True, settings=settings)
    fake_run(plan[1], status="complete", model=True, settings=settings, generation=GREEDY)
    # evaluated before the settings were recorded: that was plain greedy decoding
    fake_run(plan[2], status="complete", model=True, settings=settings, generation=False)
    assert GenerationSettings() != GREEDY  # the measured defaults are not plain greedy
    states = [r.state for r in plan_bench(spec, say=lambda _: None)]
    assert states == ["complete", "evaluate", "evaluate"]
    spec.generation = GREEDY
    states = [r.state for r in plan_bench(spec, say=lambda _: None)]
    assert states == ["evaluate", "complete", "complete"]


def test_methods_that_need_rationales_fail_before_any_training(data, tmp_path):
    row = {"id": "a", "question": "fever?", "label": "yes"}
    other = {"id": "b", "question": "itch?", "label": "no"}
    (data / "train.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(other) + "\n")
    result = bench("--data", data, "--output", tmp_path / "o", "--methods", "sft,r2d")
    assert_user_error(result, "train.jsonl", "rationale")
    assert not (tmp_path / "o" / "runs").exists(), "sft must not train first"


def test_bench_under_several_processes_is_refused(data, tmp_path, monkeypatch):
    # torchrun/accelerate launch set WORLD_SIZE: every process would train and write every run
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = bench("--data", data, "--output", tmp_path / "o", "--methods", "sft")
    assert_user_error(result, "one process", "WORLD_SIZE=2", "torchrun")
    assert not (tmp_path / "o").exists()


def test_compare_to_names_a_row_and_is_checked_before_anything_runs(data, tmp_path):
    from reason2decide.bench import BenchSpec, plan_bench
    from reason2decide.bench.plan import reference_row

    def reference(**options):
        spec = BenchSpec(data=data, output=tmp_path / "b", methods=["sft", "dss"], **options)
        return reference_row(spec, plan_bench(spec, say=lambda _: None))

    assert reference() == "sft"
    assert reference(compare_to="dss") == "dss"
    assert reference(compare_to="majority") == "majority"
    with pytest.raises(R2DError, match="'r2d' is not a row") as error:
        reference(compare_to="r2d")
    assert "sft, dss, majority, tfidf-lr" in str(error.value)
    with pytest.raises(R2DError, match="'majority' is not a row"):
        reference(compare_to="majority", baselines=False)
    for resamples in (-1, 1, 199):
        with pytest.raises(R2DError, match="bootstrap-resamples"):
            reference(bootstrap_resamples=resamples)
    assert not (tmp_path / "b").exists()
