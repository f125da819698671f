"""``--prior-correction val``: τ chosen after training, saved with the model, applied by the
predictor (and overridable with ``prior_tau``); without it nothing changes."""

from __future__ import annotations

import json

import pytest

from reason2decide.errors import R2DError
from reason2decide.inference import Predictor
from reason2decide.training import build_config, run_training
from tiny_models import save_tiny_t5, write_toy_dataset


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


def saved_tau(output) -> float:
    info = json.loads((output / "model" / "reason2decide.json").read_text())
    return info["prior_correction"]["tau"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("prior")
    texts = write_toy_dataset(root / "data")
    model = save_tiny_t5(root / "init", texts)
    plain = root / "plain"
    run_training(config_for(root, model, plain), say=lambda _: None)
    corrected = root / "corrected"
    said: list[str] = []
    manifest = run_training(
        config_for(root, model, corrected, prior_correction="val"), say=said.append
    )
    return root, plain, corrected, manifest, said


def test_the_choice_is_saved_with_the_model_and_in_the_manifest(runs):
    _, plain, corrected, manifest, said = runs
    info = json.loads((corrected / "model" / "reason2decide.json").read_text())
    record = info["prior_correction"]
    assert record["tau"] in {float(t) for t in record["validation_macro_f1"]}
    assert record["label_counts"] == {"yes": 24, "no": 24}
    assert record["validation_cases"] == 16
    assert manifest["stages"]["sft"]["prior_correction"]["tau"] == record["tau"]
    assert any("prior correction τ" in line for line in said)
    # a run without the option records the counts (for --prior-tau) but no correction
    plain_info = json.loads((plain / "model" / "reason2decide.json").read_text())
    assert "prior_correction" not in plain_info
    assert plain_info["label_counts"] == {"yes": 24, "no": 24}


def test_predictor_applies_the_saved_tau_and_an_override(runs):
    root, plain, corrected, _, _ = runs
    tau = saved_tau(corrected)
    assert Predictor.from_output(corrected, device="cpu").prior_tau == tau
    assert Predictor.from_output(plain, device="cpu").prior_tau == 0.0
    questions = ["does a child with fever today need a doctor", "a child with itch at night"]
    base = Predictor.from_output(plain, device="cpu").predict(questions, with_rationale=False)
    strong = Predictor.from_output(plain, device="cpu", prior_tau=1.0).predict(
        questions, with_rationale=False
    )
    # equal training counts: the prior is flat and the correction changes no probability
    for a, b in zip(base, strong, strict=True):
        assert a.label == b.label
        assert b.probabilities == pytest.approx(a.probabilities, abs=1e-5)


def test_skewed_counts_move_the_decision_toward_the_rare_label(runs):
    _, plain, _, _, _ = runs
    predictor = Predictor.from_output(plain, device="cpu")
    questions = [f"does a child with {w} need a doctor" for w in ("fever", "itch", "rash")]
    before = predictor.predict(questions, with_rationale=False)
    skewed = Predictor(
        predictor.backbone,
        predictor.labels,
        prior_tau=1.5,
        label_counts={"yes": 1000, "no": 1},
    ).predict(questions, with_rationale=False)
    for a, b in zip(before, skewed, strict=True):
        assert b.probabilities["no"] > a.probabilities["no"]
        assert sum(b.probabilities.values()) == pytest.approx(1.0, abs=1e-4)


def test_prior_tau_without_recorded_counts_or_with_generation_is_refused(runs):
    _, plain, _, _, _ = runs
    predictor = Predictor.from_output(plain, device="cpu")
    with pytest.raises(R2DError, match="no training label counts"):
        Predictor(predictor.backbone, predictor.labels, prior_tau=0.5)
    with pytest.raises(R2DError, match="closed-set label scoring"):
        Predictor(
            predictor.backbone,
            predictor.labels,
            label_decoding="generate",
            prior_tau=0.5,
            label_counts={"yes": 1},
        )


def test_prior_correction_with_generated_labels_is_a_config_error(tmp_path):
    root = tmp_path
    write_toy_dataset(root / "data")
    with pytest.raises(R2DError, match="prior-correction needs --label-decoding score"):
        config_for(root, "x", root / "out", prior_correction="val", label_decoding="generate")


def test_evaluate_records_the_tau_it_decided_with(runs):
    from typer.testing import CliRunner

    from reason2decide.cli import app

    root, _, corrected, _, _ = runs
    tau = saved_tau(corrected)
    test = root / "data" / "val.jsonl"
    for flags, expected in (([], tau), (["--prior-tau", "0"], 0.0)):
        out = root / f"eval-{len(flags)}"
        args = ["evaluate", str(corrected), "--test", str(test), "--output", str(out)]
        result = CliRunner().invoke(app, [*args, "--no-rationale", "--device", "cpu", *flags])
        assert result.exit_code == 0, result.output
        assert json.loads((out / "metrics.json").read_text())["prior_tau"] == expected
    refused = CliRunner().invoke(app, ["evaluate", str(corrected), "--prior-tau", "-1"])
    assert refused.exit_code != 0
