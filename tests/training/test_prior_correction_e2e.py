"""``--prior-correction val``: τ chosen after training, saved with the model, applied by the
predictor to decisions and to the label the rationale is written for (and overridable with
``prior_tau``); without it nothing changes."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.errors import R2DError
from reason2decide.inference import Predictor
from reason2decide.training import build_config, run_training
from tiny_models import save_tiny_t5, write_toy_dataset

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*contain their label verbatim"),
    pytest.mark.filterwarnings("ignore:.*also occur in train"),
]
QUESTIONS = [
    "does a child with fever today need a doctor",
    "does a child with itch at night need a doctor",
    "does a child with rash since monday need a doctor",
]


def config_for(root, model, output, **overrides):
    flags = dict(
        method="sft",
        train=root / "data" / "train.jsonl",
        val=root / "data" / "val.jsonl",
        output=output,
        model=str(model),
        max_steps=8,
        batch_size=8,
        eval_steps=4,
        lr=3e-3,
        max_input_length=48,
        max_target_length=12,
        seed=1,
    )
    return build_config({**flags, **overrides})


def with_saved_correction(run, target, tau, counts):
    """A copy of ``run`` whose model records the prior correction ``tau`` over ``counts``."""
    shutil.copytree(run, target)
    info_file = target / "model" / "reason2decide.json"
    info = json.loads(info_file.read_text())
    info["prior_correction"] = {"tau": tau, "chosen_by": "test"}
    info["label_counts"] = counts
    info_file.write_text(json.dumps(info))
    return target


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("prior")
    texts = write_toy_dataset(root / "data")
    # skew the training labels: every "yes" row, one "no" row in three
    train = root / "data" / "train.jsonl"
    rows = [json.loads(line) for line in train.read_text().splitlines()]
    no_rows = [r for r in rows if r["label"] == "no"]
    kept = [r for r in rows if r["label"] == "yes"] + no_rows[::3]
    train.write_text("".join(json.dumps(r) + "\n" for r in kept))
    model = save_tiny_t5(root / "init", texts)
    plain = root / "plain"
    run_training(config_for(root, model, plain), say=lambda _: None)
    corrected = root / "corrected"
    said: list[str] = []
    manifest = run_training(
        config_for(root, model, corrected, prior_correction="val"), say=said.append
    )
    toward_no = with_saved_correction(plain, root / "toward-no", 1.5, {"yes": 1000, "no": 1})
    return root, plain, corrected, manifest, said, toward_no


def test_the_choice_is_saved_with_the_model_and_in_the_manifest(runs):
    _, plain, corrected, manifest, said, _ = runs
    info = json.loads((corrected / "model" / "reason2decide.json").read_text())
    record = info["prior_correction"]
    assert record["tau"] in {float(t) for t in record["validation_macro_f1"]}
    assert info["label_counts"] == {"yes": 24, "no": 8}  # what τ divides by
    assert record["validation_cases"] == 16
    assert manifest["stages"]["sft"]["prior_correction"]["tau"] == record["tau"]
    assert any("prior correction τ" in line for line in said)
    assert Predictor.from_output(corrected, device="cpu").prior_tau == record["tau"]
    # a run without the option records the counts (for --prior-tau) but no correction
    plain_info = json.loads((plain / "model" / "reason2decide.json").read_text())
    assert "prior_correction" not in plain_info
    assert plain_info["label_counts"] == {"yes": 24, "no": 8}
    assert Predictor.from_output(plain, device="cpu").prior_tau == 0.0


def test_a_saved_tau_moves_every_decision_and_an_override_undoes_it(runs):
    _, plain, _, _, _, toward_no = runs
    base = Predictor.from_output(plain, device="cpu").predict(QUESTIONS, with_rationale=False)
    predictor = Predictor.from_output(toward_no, device="cpu")
    assert predictor.prior_tau == 1.5
    moved = predictor.predict(QUESTIONS, with_rationale=False)
    for a, b in zip(base, moved, strict=True):
        assert b.label == "no"  # (1000 / 1)^1.5 outweighs whatever the tiny model says
        assert b.probabilities["no"] > a.probabilities["no"]
        assert sum(b.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    undone = Predictor.from_output(toward_no, device="cpu", prior_tau=0.0)
    again = undone.predict(QUESTIONS, with_rationale=False)
    assert [p.to_dict() for p in again] == [p.to_dict() for p in base]


def test_the_rationale_is_written_for_the_corrected_label(runs, monkeypatch):
    _, plain, _, _, _, _ = runs
    backbone = Predictor.from_output(plain, device="cpu").backbone
    for counts, expected in (({"yes": 1000, "no": 1}, "no"), ({"yes": 1, "no": 1000}, "yes")):
        predictor = Predictor(
            backbone, ["yes", "no"], prior_tau=1.5, label_counts=counts, batch_size=8
        )
        explained: list[str] = []

        def explain(questions, labels, explained=explained):
            explained.extend(labels)
            return ["because"] * len(questions)

        monkeypatch.setattr(predictor, "explain_batch", explain)
        predictions = predictor.predict(QUESTIONS)
        assert [p.label for p in predictions] == [expected] * 3
        assert explained == [expected] * 3


def test_cases_with_their_own_options_are_left_alone(runs):
    _, plain, _, _, _, toward_no = runs
    choices = [None, ("fever", "itch"), None]
    base = Predictor.from_output(plain, device="cpu").predict(
        QUESTIONS, with_rationale=False, choices=choices
    )
    moved = Predictor.from_output(toward_no, device="cpu").predict(
        QUESTIONS, with_rationale=False, choices=choices
    )
    assert moved[1].to_dict() == base[1].to_dict()
    assert set(moved[1].probabilities) == {"fever", "itch"}
    assert moved[0].label == moved[2].label == "no"


def test_evaluate_records_the_tau_it_decided_with(runs):
    root, _, _, _, _, toward_no = runs
    test = root / "data" / "val.jsonl"
    for flags, expected in (([], 1.5), (["--prior-tau", "0"], 0.0)):
        out = root / f"eval-{len(flags)}"
        args = ["evaluate", str(toward_no), "--test", str(test), "--output", str(out)]
        result = CliRunner().invoke(app, [*args, "--no-rationale", "--device", "cpu", *flags])
        assert result.exit_code == 0, result.output
        assert json.loads((out / "metrics.json").read_text())["prior_tau"] == expected
        labels = {json.loads(line)["label"] for line in (out / "predictions.jsonl").open()}
        if expected:
            assert labels == {"no"}
    args = ["evaluate", str(toward_no), "--test", str(test), "--output", str(root / "bad")]
    refused = CliRunner().invoke(app, [*args, "--prior-tau", "-1"])
    assert refused.exit_code == 2 and "prior-tau" in refused.output
    assert not (root / "bad" / "metrics.json").exists()


def test_bad_prior_tau_and_missing_counts_are_refused(runs):
    _, plain, _, _, _, _ = runs
    predictor = Predictor.from_output(plain, device="cpu")
    with pytest.raises(R2DError, match="no training label counts"):
        Predictor(predictor.backbone, predictor.labels, prior_tau=0.5)
    for bad in (float("nan"), float("inf"), -0.5):
        with pytest.raises(R2DError, match="finite number ≥ 0"):
            Predictor(predictor.backbone, predictor.labels, prior_tau=bad, label_counts={"yes": 1})
    with pytest.raises(R2DError, match="closed-set label scoring"):
        Predictor(
            predictor.backbone,
            predictor.labels,
            label_decoding="generate",
            prior_tau=0.5,
            label_counts={"yes": 1},
        )


def test_config_refuses_a_correction_with_nothing_to_correct(tmp_path):
    write_toy_dataset(tmp_path / "data")
    with pytest.raises(R2DError, match="prior-correction needs --label-decoding score"):
        config_for(
            tmp_path, "x", tmp_path / "out", prior_correction="val", label_decoding="generate"
        )
    with pytest.raises(R2DError, match="Stage 1 alone"):
        config_for(tmp_path, "x", tmp_path / "o", method="r2d", prior_correction="val", stage="1")


def test_sharded_parameters_are_refused_before_anything_is_written(tmp_path, monkeypatch):
    import reason2decide.training.run as run_module

    write_toy_dataset(tmp_path / "data")
    monkeypatch.setattr(run_module, "parameters_sharded", lambda: True)
    config = config_for(tmp_path, "x", tmp_path / "out", prior_correction="val")
    with pytest.raises(R2DError, match="sharded parameters"):
        run_training(config, say=lambda _: None)
    assert not (tmp_path / "out").exists()
