import pytest

from reason2decide.errors import R2DError
from reason2decide.evaluation import bertscore, resolve_encoder

KEYS = {"bertscore_precision", "bertscore_recall", "bertscore_f1"}
REF = "The patient has a fever and a cough, which suggests a respiratory infection."
UNRELATED = "Quarterly revenue grew because of strong sales in the retail segment."


def test_default_encoder_is_offline_minilm():
    name, layers = resolve_encoder()
    assert name.endswith("model")
    assert layers == 6


def test_identical_scores_one_and_beats_unrelated():
    same = bertscore([REF], [REF])
    assert set(same) == KEYS
    for value in same.values():
        assert value == pytest.approx(1.0, abs=1e-4)
    other = bertscore([REF], [UNRELATED])
    assert set(other) == KEYS
    assert other["bertscore_f1"] < same["bertscore_f1"] - 0.1


def test_mean_over_examples_and_empty_text_scores_zero():
    pair = bertscore([REF], [UNRELATED])
    both = bertscore([REF, REF], [UNRELATED, REF])
    assert both["bertscore_f1"] == pytest.approx((pair["bertscore_f1"] + 1.0) / 2, abs=1e-4)
    with_empty = bertscore([REF, REF, ""], [REF, "  ", REF])
    assert with_empty["bertscore_f1"] == pytest.approx(1 / 3, abs=1e-4)


def test_several_references_take_the_best():
    multi = bertscore([[UNRELATED, REF]], [REF])
    assert multi["bertscore_f1"] == pytest.approx(1.0, abs=1e-4)


def test_explicit_layer_and_errors(tmp_path):
    assert bertscore([REF], [REF], num_layers=3)["bertscore_f1"] == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(R2DError, match="layer 7"):
        resolve_encoder(None, 7)
    with pytest.raises(R2DError, match="no config.json"):
        resolve_encoder(str(tmp_path))
    with pytest.raises(R2DError, match="no such encoder folder"):
        resolve_encoder(str(tmp_path / "missing"))
    with pytest.raises(R2DError, match="cannot load"):
        resolve_encoder("no-such-org/no-such-encoder")
