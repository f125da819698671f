"""Each method's loss on a tiny T5: the right prompts go into the batches, the configured
weights combine the losses, and α and p follow the schedule."""

from __future__ import annotations

import pytest
import torch

from reason2decide.backbones import load_backbone
from reason2decide.data.readers import read_examples
from reason2decide.errors import R2DError
from reason2decide.methods import (
    METHODS,
    DSSConfig,
    DSSObjective,
    R2DCConfig,
    R2DCObjective,
    SFTObjective,
    Stage1Objective,
    Stage2Config,
    Stage2Objective,
    method_stages,
)
from reason2decide.methods.base import draw_generator
from reason2decide.methods.label_decoding import predict_labels_eval
from tiny_models import save_tiny_t5, write_toy_dataset

LABELS = ["no", "yes"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("objectives")
    texts = write_toy_dataset(root / "data", n_train=8, n_val=0)
    backbone = load_backbone(str(save_tiny_t5(root / "t5", texts)), max_input_length=48)
    return backbone, read_examples(root / "data" / "train.jsonl")


class Recorder:
    """Records every (prompts, targets) batch the objective asks the backbone to encode."""

    def __init__(self, backbone, monkeypatch):
        self.calls: list[tuple[list[str], list[str]]] = []
        original = backbone.encode_pairs

        def encode(prompts, targets):
            self.calls.append((list(prompts), list(targets)))
            return original(prompts, targets)

        monkeypatch.setattr(backbone, "encode_pairs", encode)


def separate_loss(backbone, prompts, targets) -> float:
    with torch.no_grad():
        return float(backbone.loss(backbone.model, prompts, targets))


def test_stage1_explains_without_a_label(setup, monkeypatch):
    backbone, examples = setup
    rec = Recorder(backbone, monkeypatch)
    out = Stage1Objective(backbone, LABELS).compute_loss(backbone.model, examples, 0)
    assert rec.calls == [
        ([f"explain: {e.question}" for e in examples], [e.rationale for e in examples])
    ]
    assert out.loss.item() == pytest.approx(separate_loss(backbone, *rec.calls[0]), rel=1e-5)


def test_sft_predicts_only(setup, monkeypatch):
    backbone, examples = setup
    rec = Recorder(backbone, monkeypatch)
    out = SFTObjective(backbone, LABELS).compute_loss(backbone.model, examples, 0)
    assert rec.calls == [
        ([f"predict: {e.question}" for e in examples], [e.label for e in examples])
    ]
    assert "loss_expl" not in out.logs


def test_dss_weights_an_unconditioned_rationale(setup, monkeypatch):
    backbone, examples = setup
    rec = Recorder(backbone, monkeypatch)
    objective = DSSObjective(backbone, LABELS, config=DSSConfig(alpha=0.3))
    out = objective.compute_loss(backbone.model, examples, 5)
    (pred_prompts, pred_targets), (expl_prompts, expl_targets) = rec.calls
    assert pred_prompts == [f"predict: {e.question}" for e in examples]
    assert expl_prompts == [f"explain: {e.question}" for e in examples]
    assert expl_targets == [e.rationale for e in examples]
    lp = separate_loss(backbone, pred_prompts, pred_targets)
    le = separate_loss(backbone, expl_prompts, expl_targets)
    assert out.loss.item() == pytest.approx(0.3 * lp + 0.7 * le, rel=1e-5)


def test_stage2_before_w_uses_gold_labels_and_no_label_weight(setup, monkeypatch):
    backbone, examples = setup
    rec = Recorder(backbone, monkeypatch)
    objective = Stage2Objective(backbone, LABELS, max_steps=100)  # W = 5
    out = objective.compute_loss(backbone.model, examples, 0)
    assert out.logs["alpha"] == 0.0 and out.logs["p_pred"] == 0.0
    explain = rec.calls[-1][0]
    assert explain == [f"given label: {e.label}, explain: {e.question}" for e in examples]
    assert out.loss.item() == pytest.approx(out.logs["loss_expl"], rel=1e-5)


def test_stage2_conditions_on_predictions_with_probability_p(setup, monkeypatch):
    backbone, examples = setup
    config = Stage2Config(p_max=1.0, ramp_fraction=0.1)  # p = 1 from step W + M = 15
    objective = Stage2Objective(backbone, LABELS, max_steps=100, config=config)
    predicted = predict_labels_eval(
        backbone, backbone.model, [e.question for e in examples], LABELS
    ).labels
    rec = Recorder(backbone, monkeypatch)
    out = objective.compute_loss(backbone.model, examples, 50)
    assert out.logs["p_pred"] == 1.0 and out.logs["frac_predicted"] == 1.0
    assert out.logs["alpha"] == pytest.approx(0.7)
    (pred_prompts, pred_targets), (expl_prompts, expl_targets) = rec.calls[-2:]
    assert expl_prompts == [
        f"given label: {y}, explain: {e.question}" for y, e in zip(predicted, examples, strict=True)
    ]
    assert expl_targets == [e.rationale for e in examples], "rationale target stays gold"
    assert pred_targets == [e.label for e in examples]
    lp = separate_loss(backbone, pred_prompts, pred_targets)
    le = separate_loss(backbone, expl_prompts, expl_targets)
    assert out.loss.item() == pytest.approx(0.7 * lp + 0.3 * le, rel=1e-5)


def test_per_example_draws_follow_p_and_are_reproducible(setup):
    backbone, examples = setup
    objective = Stage2Objective(backbone, LABELS, max_steps=1000, seed=3)
    step = 50 + 300  # p = 0.5
    a = torch.rand(1000, generator=draw_generator(3, step))
    b = torch.rand(1000, generator=draw_generator(3, step))
    c = torch.rand(1000, generator=draw_generator(3, step + 1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # the second micro-batch of an accumulated step draws its own coins, reproducibly
    d = torch.rand(1000, generator=draw_generator(3, step, 1))
    assert torch.equal(d, torch.rand(1000, generator=draw_generator(3, step, 1)))
    assert not torch.equal(a, d)
    assert (a < objective.schedule.p_pred(step)).float().mean().item() == pytest.approx(
        0.5, abs=0.05
    )


def test_no_sampling_ablation_keeps_gold_labels(setup, monkeypatch):
    backbone, examples = setup
    objective = Stage2Objective(
        backbone, LABELS, max_steps=100, config=Stage2Config(sampling=False)
    )
    rec = Recorder(backbone, monkeypatch)
    out = objective.compute_loss(backbone.model, examples, 99)
    assert out.logs["p_pred"] == 0.0
    assert rec.calls[-1][0] == [f"given label: {e.label}, explain: {e.question}" for e in examples]


def test_r2dc_cycle_loss_is_finite_and_reaches_the_rationale_logits(setup):
    backbone, examples = setup
    objective = R2DCObjective(backbone, LABELS, max_steps=100)
    prompts = [f"given label: {e.label}, explain: {e.question}" for e in examples]
    batch = backbone.encode_pairs(prompts, [e.rationale for e in examples])
    logits, labels = backbone.forward_logits(backbone.model, batch)
    logits = logits.detach().requires_grad_(True)
    loss = objective.cycle_loss(backbone.model, logits, labels, [e.label for e in examples], 0.8)
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    # padded rationale positions are masked out of the soft prompt: no gradient reaches them
    assert logits.grad[labels == -100].abs().sum() == 0


def test_r2dc_step_adds_the_weighted_cycle_loss_after_w(setup):
    backbone, examples = setup
    config = R2DCConfig(cycle_weight=0.1)
    objective = R2DCObjective(backbone, LABELS, max_steps=100, config=config)
    early = objective.compute_loss(backbone.model, examples, 0)
    assert "loss_cycle" not in early.logs and early.logs["tau"] == 1.0
    torch.manual_seed(0)
    late = objective.compute_loss(backbone.model, examples, 60)
    logs = late.logs
    expected = (
        logs["alpha"] * logs["loss_pred"]
        + (1 - logs["alpha"]) * logs["loss_expl"]
        + 0.1 * logs["loss_cycle"]
    )
    assert late.loss.item() == pytest.approx(expected, rel=1e-5)
    assert 0.0 < logs["tau"] < 1.0 and 0.0 <= logs["frac_predicted"] <= 1.0
    assert logs["gumbel_temperature"] == pytest.approx(2 ** (-0.6), rel=1e-4)
    assert objective.state_dict()["threshold"]["tau"] == logs["tau"]


def token_geomean(backbone, questions, labels) -> list[float]:
    """exp(mean token log-probability) of ``labels`` after ``predict: `` (end-of-sequence in)."""
    backbone.model.eval()
    with torch.no_grad():
        prompts = [f"predict: {q}" for q in questions]
        logprobs, mask = backbone.token_logprobs(backbone.model, prompts, labels)
    backbone.model.train()
    return torch.exp(logprobs.sum(-1) / mask.sum(-1)).tolist()


@pytest.mark.parametrize("labels", [LABELS, ["no", "yes, see a doctor today"]])
def test_r2dc_confidence_is_the_token_geomean_of_the_predicted_label(setup, labels):
    """Issue 10, item 3: with closed-set scoring, c is the predicted label's geometric-mean token
    probability (the published c), not its probability over the label set, unless asked."""
    backbone, examples = setup
    questions = [e.question for e in examples]
    out = predict_labels_eval(backbone, backbone.model, questions, labels)
    expected = token_geomean(backbone, questions, out.labels)
    set_probability = out.probabilities.max(-1).values.tolist()

    objective = R2DCObjective(backbone, labels, max_steps=100)
    logs = objective.compute_loss(backbone.model, examples, 0).logs
    assert logs["confidence"] == pytest.approx(sum(expected) / len(expected), rel=1e-4)
    assert logs["confidence"] != pytest.approx(sum(set_probability) / len(examples), rel=1e-3)
    assert objective.config.confidence == "token-geomean"

    chosen = R2DCConfig(confidence="set-probability")
    objective = R2DCObjective(backbone, labels, max_steps=100, config=chosen)
    logs = objective.compute_loss(backbone.model, examples, 0).logs
    assert logs["confidence"] == pytest.approx(sum(set_probability) / len(examples), rel=1e-5)


def test_r2dc_confidence_comes_from_the_config(setup, tmp_path):
    from reason2decide.training.config import build_config
    from reason2decide.training.objectives import build_objective

    backbone, _ = setup
    flags = {"method": "r2dc", "train": tmp_path / "t.jsonl", "output": tmp_path / "out"}
    config = build_config(flags)
    assert config.r2dc_confidence == "token-geomean"
    assert config.dump()["r2dc_confidence"] == "token-geomean"  # what run.json records
    config = build_config({**flags, "r2dc_confidence": "set-probability"})
    objective = build_objective("stage2", backbone, LABELS, config, max_steps=10)
    assert objective.config.confidence == "set-probability"
    with pytest.raises(R2DError, match="needs --label-decoding score"):
        build_config({**flags, "r2dc_confidence": "set-probability", "label_decoding": "generate"})
    with pytest.raises(R2DError, match="r2dc_confidence"):
        build_config({**flags, "r2dc_confidence": "max-probability"})


def test_method_registry():
    assert method_stages("r2d") == ("stage1", "stage2")
    assert method_stages("r2d-no-stage1") == ("stage2",)
    assert method_stages("sft") == ("sft",)
    assert method_stages("r2d", "2") == ("stage2",)
    assert not METHODS["sft"].requires_rationale and METHODS["sft"].rationale is None
    assert METHODS["dss"].rationale == "unconditioned"
    with pytest.raises(R2DError, match="unknown method"):
        method_stages("magic")
    with pytest.raises(R2DError, match="single stage"):
        method_stages("sft", "2")


def test_dead_method_attributes_are_gone():
    # What a method needs is its MethodSpec's; the copies on objectives were never read.
    import reason2decide.methods as methods
    from reason2decide.methods.base import Objective

    assert not hasattr(Objective, "requires_rationale")
    assert not hasattr(SFTObjective, "requires_rationale")
    assert not hasattr(methods, "METHOD_STAGES") and "METHOD_STAGES" not in methods.__all__


def test_every_r2dc_constant_is_reachable_from_the_training_config():
    from dataclasses import fields

    from reason2decide.training.config import TrainConfig

    # Stage-2 constants whose TrainConfig option has another name (or is the method itself).
    carried = {"warmup_fraction": "alpha_warmup_fraction", "patience": "stage2_patience"}
    options = set(TrainConfig.model_fields) | {"method"}
    unreachable = [
        f.name
        for f in fields(R2DCConfig)
        if f.name != "sampling"  # set by the method (r2d-no-sampling)
        and carried.get(f.name, f.name) not in options
        and f"r2dc_{f.name}" not in options
    ]
    assert unreachable == []
