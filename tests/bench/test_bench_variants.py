"""``r2d bench --variant``: named variants of the training options, one row per method ×
variant. On a tiny T5: Stage 1 learns from LLM-written rationales in one variant and from both
columns' LLM text in the other; run.json records it; scoring always uses the test file's gold."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reason2decide.bench import BenchSpec, plan_bench
from reason2decide.bench.variants import Variant, parse_variant, parse_variants
from reason2decide.cli import app
from reason2decide.errors import R2DError
from tiny_models import save_tiny_t5, write_toy_dataset

runner = CliRunner()
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*contain their label verbatim"),
    pytest.mark.filterwarnings("ignore:.*also occur in train"),
]

LLM_HUMAN = "llm-human:stage1_rationale_col=llm_rationale"
LLM_LLM = "llm-llm:stage1_rationale_col=llm_rationale,rationale_col=llm_rationale"


def add_llm_column(path: Path) -> None:
    """Give every row an ``llm_rationale`` unlike its human ``rationale``."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        row["llm_rationale"] = f"the llm says {row['label']}"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("variants")
    data = root / "data"
    texts = write_toy_dataset(data, n_train=24, n_val=8)
    shutil.copy(data / "val.jsonl", data / "test.jsonl")
    for split in ("train", "val", "test"):
        add_llm_column(data / f"{split}.jsonl")
    return data, save_tiny_t5(root / "t5", [*texts, "the llm says"])


def bench_args(data: Path, model: Path, out: Path, *extra: str) -> list[str]:
    budget = ["--max-steps", "2", "--stage1-max-steps", "2", "--batch-size", "8"]
    budget += ["--eval-steps", "2", "--logging-steps", "1", "--lr", "3e-3"]
    budget += ["--max-input-length", "48", "--max-target-length", "12", "--eval-batch-size", "8"]
    return [
        "bench",
        *["--data", str(data), "--output", str(out), "--model", str(model)],
        *["--methods", "r2d", "--seeds", "0", "--no-bertscore", *budget, *extra],
    ]


def test_two_variants_give_two_rows_and_record_their_rationale_sources(toy, tmp_path):
    data, model = toy
    out = tmp_path / "bench"
    args = bench_args(data, model, out, "--variant", LLM_HUMAN, "--variant", LLM_LLM)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "[1/2] r2d [llm-human] seed 0: training" in result.output
    assert "[2/2] r2d [llm-llm] seed 0: training" in result.output

    runs = out / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["r2d@llm-human", "r2d@llm-llm"]
    train = str((data / "train.jsonl").resolve())
    sources = {
        name: json.loads((runs / f"r2d@{name}/seed0/run.json").read_text())["rationale_sources"]
        for name in ("llm-human", "llm-llm")
    }
    for name in sources:  # the toy's test file is its val file, whose questions train repeats
        overlap = sources[name]["stage1"].pop("overlap")
        assert overlap["test"] == overlap["validation"] and overlap["test"]["rows"] > 0
        assert overlap["dropped"] == 0
    assert sources["llm-human"] == {
        "stage2": {"file": train, "column": "rationale"},
        "stage1": {"file": train, "column": "llm_rationale"},
    }
    assert sources["llm-llm"] == {
        "stage2": {"file": train, "column": "llm_rationale"},
        "stage1": {"file": train, "column": "llm_rationale"},
    }

    # every run is scored against the test file's human rationales, the shared rationale_col
    test_gold = [
        json.loads(x)["rationale"] for x in (data / "test.jsonl").read_text().split("\n")[:-1]
    ]
    for name in ("llm-human", "llm-llm"):
        lines = (runs / f"r2d@{name}/seed0/eval/predictions.jsonl").read_text().splitlines()
        assert [json.loads(x)["gold_rationale"] for x in lines] == test_gold

    results = json.loads((out / "results.json").read_text())
    baselines = ["majority", "tfidf-lr", "copy-last-sentences", "copy-input"]
    assert list(results["summary"]) == ["r2d [llm-human]", "r2d [llm-llm]", *baselines]
    row = results["summary"]["r2d [llm-llm]"]
    assert row["method"] == "r2d" and row["variant"] == "llm-llm" and row["n_seeds"] == 1
    metrics = json.loads((runs / "r2d@llm-llm/seed0/eval/metrics.json").read_text())
    assert row["metrics"]["accuracy"]["mean"] == pytest.approx(metrics["accuracy"])
    assert results["variants"][0] == {
        "name": "llm-human",
        "overrides": {"stage1_rationale_col": "llm_rationale"},
        "rationale_sources": {
            "stage1": "column llm_rationale of train.jsonl",
            "stage2": "column rationale of train.jsonl",
        },
    }
    assert results["gold_rationale_col"] == "rationale"
    assert results["command"].count("--variant") == 2 and LLM_LLM in results["command"]
    with open(out / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["method"], r["variant"]) for r in rows if r["baseline"] == "false"] == [
        ("r2d", "llm-human"),
        ("r2d", "llm-llm"),
    ]
    md = (out / "results.md").read_text()
    assert "| r2d [llm-human] | 1 |" in md and "| r2d [llm-llm] | 1 |" in md
    assert "## Variants" in md and "gold column `rationale`" in md
    assert "| llm-llm | stage1_rationale_col=llm_rationale, rationale_col=llm_rationale |" in md
    assert "r2d@llm-human/seed0" in md
    assert (out / "plots" / "metric_accuracy.png").is_file()

    # the same command again: both runs skipped, nothing retrained
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert again.output.count("skipped (already complete)") == 2


def test_plan_with_variants_folders_configs_and_repeated_training_note(toy, tmp_path):
    data, model = toy
    notes: list[str] = []
    spec = BenchSpec(
        data=data,
        output=tmp_path / "b",
        methods=["sft", "r2d"],
        seeds=[0, 1],
        training={"model": str(model), "max_steps": 3},
        variants=[
            "human-human:stage1_rationale_col=rationale,rationale_col=rationale",
            LLM_HUMAN,
            "short:max-steps=2",
        ],
    )
    plan = plan_bench(spec, say=notes.append)
    assert [r.label for r in plan[:6]] == [
        "sft [human-human] seed 0",
        "sft [llm-human] seed 0",
        "sft [short] seed 0",
        "r2d [human-human] seed 0",
        "r2d [llm-human] seed 0",
        "r2d [short] seed 0",
    ]
    assert len(plan) == 12 and plan[6].label == "sft [human-human] seed 1"
    assert plan[4].path == (tmp_path / "b/runs/r2d@llm-human/seed0").resolve()
    assert plan[4].config.stage1_rationale_col == "llm_rationale"
    assert plan[4].config.max_steps == 3, "the shared budget applies"
    assert plan[5].config.max_steps == 2, "a variant's value wins over the shared flag"
    # sft uses no rationales: human-human and llm-human train the same sft model
    assert any(
        "sft trains the same model under variants human-human, llm-human" in n for n in notes
    )
    assert not any(n.startswith("note: r2d") for n in notes)


def test_parse_variant_forms():
    assert parse_variant("base") == Variant("base", {})
    v = parse_variant(" x.1 : stage1-rationale-col = llm , lr=1e-4, stage1_train= ")
    assert v.name == "x.1"
    assert v.overrides == {"stage1_rationale_col": "llm", "lr": "1e-4", "stage1_train": None}
    mapping = parse_variants({"a": {"alpha": 0.5}})
    assert mapping == [Variant("a", {"alpha": 0.5})]
    with pytest.raises(R2DError, match="given twice: a"):
        parse_variants(["a:lr=1", "a:lr=2"])
    with pytest.raises(R2DError, match="not key=value"):
        parse_variant("a:lr")
    with pytest.raises(R2DError, match="sets 'lr' twice"):
        parse_variant("a:lr=1,lr=2")


def assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.mark.parametrize(
    ("variant", "fragments"),
    [
        ("llm:stage1_rationale_column=llm_rationale", ("'llm'", "stage1_rationale_column")),
        ("llm:max_steps=0", ("'llm'", "max_steps", "greater than or equal to 1")),
        ("llm:lr=fast", ("'llm'", "lr")),
        ("llm:label_col=y", ("'label_col'", "test set")),
        ("llm:seed=3", ("'seed'", "--seeds")),
        ("r2d/x:lr=1", ("'r2d/x'", "folder")),
    ],
)
def test_bad_variants_are_user_errors_before_anything_runs(toy, tmp_path, variant, fragments):
    data, model = toy
    out = tmp_path / "o"
    result = runner.invoke(app, bench_args(data, model, out, "--variant", variant))
    assert_user_error(result, *fragments)
    assert not (out / "runs").exists()


def test_a_variant_column_the_data_lacks_fails_before_any_training(toy, tmp_path):
    data, model = toy
    out = tmp_path / "o"
    args = bench_args(data, model, out, "--variant", "ok", "--variant", "gpt:rationale_col=gpt")
    result = runner.invoke(app, args)
    assert_user_error(result, "train.jsonl", "gpt")
    assert not (out / "runs").exists(), "the first variant must not train first"
