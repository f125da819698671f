"""The model card: Hugging Face format (YAML metadata + Markdown), made from run.json, completed
with test metrics, rebuilt from its own metadata."""

from __future__ import annotations

import json

import yaml

from reason2decide.training.model_card import (
    add_evaluation,
    card_facts,
    read_card_facts,
    render_card,
    write_model_card,
)

MANIFEST = {
    "method": "r2dc",
    "rationale_prompt": "conditioned",
    "seed": 3,
    "config": {"model": "minilm-bert2bert", "label_decoding": "score", "max_input_length": 160},
    "labels": ["emergency now", "self-care at home"],
    "data": {
        "train": {"path": "/d/train.jsonl", "sha256": "a" * 64, "bytes": 10, "rows": 100},
        "n_train": 90,
        "n_val": 10,
    },
    "stages": {"stage2": {"max_steps": 240, "steps_done": 240, "learning_rate": 5e-5}},
    "distributed": {"global_batch_size": 16},
    "wall_time_s": 981.0,
}
METRICS = {"accuracy": 0.6851, "macro_f1": 0.649, "bleu": 0.2, "n": 200, "per_class": {}}
TEST = {"path": "/d/test.jsonl", "sha256": "b" * 64, "rows": 200}


def metadata(text: str) -> dict:
    assert text.startswith("---\n")
    head, sep, _ = text[4:].partition("\n---\n")
    assert sep
    return yaml.safe_load(head)


def test_card_from_a_run_says_what_the_model_is():
    text = render_card(card_facts(MANIFEST))
    meta = metadata(text)
    assert meta["library_name"] == "transformers" and "r2dc" in meta["tags"]
    assert "model-index" not in meta  # no test metrics yet
    for fragment in (
        "r2dc on minilm-bert2bert",
        "`emergency now`, `self-care at home`",
        "sha256 `" + "a" * 64,
        "100 rows",
        "train 90, val 10",
        "240 steps",
        "global batch size 16",
        "## Intended use",
        "## Limitations",
        "not a medical device",
        "Not evaluated yet",
    ):
        assert fragment in text, fragment


def test_evaluation_adds_metrics_and_a_model_index(tmp_path):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps(MANIFEST))
    write_model_card(run / "model", card_facts(MANIFEST))
    path = add_evaluation(run, METRICS, TEST)
    text = path.read_text()
    meta = metadata(text)
    (result,) = meta["model-index"][0]["results"]
    values = {m["type"]: m["value"] for m in result["metrics"]}
    assert values == {"accuracy": 0.6851, "macro_f1": 0.649, "bleu": 0.2}
    assert result["dataset"]["name"] == "test.jsonl"
    assert "| accuracy | 0.6851 |" in text and "200 cases evaluated" in text
    # a second evaluation replaces the first; the rest of the card stays
    add_evaluation(run, {**METRICS, "accuracy": 0.7}, TEST)
    facts = read_card_facts(run / "model")
    assert facts["evaluation"]["metrics"]["accuracy"] == 0.7
    assert facts["labels"] == MANIFEST["labels"]


def test_run_without_a_card_gets_one_and_a_bare_model_folder_is_left_alone(tmp_path):
    run = tmp_path / "old-run"
    (run / "model").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps(MANIFEST))
    assert add_evaluation(run, METRICS, TEST) == run / "model" / "README.md"
    bare = tmp_path / "bare"
    bare.mkdir()
    assert add_evaluation(bare, METRICS, TEST) is None
    assert not (bare / "README.md").exists()
    (bare / "README.md").write_text("# someone else's card\n")
    assert read_card_facts(bare) is None
