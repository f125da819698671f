import pytest

from reason2decide.errors import R2DError
from reason2decide.label_metrics import expected_calibration_error, label_metrics

LABELS = ["yes", "no", "maybe"]
GOLD = ["yes", "yes", "yes", "no", "no", "maybe"]
PRED = ["yes", "no", "yes", "no", "yes", "no"]


def test_hand_computed_example():
    m = label_metrics(GOLD, PRED, LABELS)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(3 / 6)
    # yes: predicted 3 times, 2 right; 3 gold, 2 found.
    assert m["per_class"]["yes"] == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}
    )
    # no: predicted 3 times, 1 right; 2 gold, 1 found; F1 = 2PR/(P+R) = (1/3)/(5/6).
    assert m["per_class"]["no"] == pytest.approx(
        {"precision": 1 / 3, "recall": 1 / 2, "f1": 0.4, "support": 2}
    )
    # maybe: never predicted -> precision 0 (zero_division=0), never found.
    assert m["per_class"]["maybe"] == pytest.approx(
        {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    )
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.4 + 0.0) / 3)
    assert m["confusion_matrix"]["labels"] == LABELS
    assert m["confusion_matrix"]["matrix"] == [[2, 1, 0], [1, 1, 0], [0, 1, 0]]
    assert m["n_predicted_outside_labels"] == 0


def test_label_order_sets_matrix_order():
    m = label_metrics(GOLD, PRED, ["maybe", "no", "yes"])
    assert m["confusion_matrix"]["matrix"] == [[0, 1, 0], [0, 1, 1], [0, 1, 2]]


def test_predictions_outside_label_set_are_wrong_and_not_classes():
    m = label_metrics(["yes", "no", "no"], ["yes", "perhaps", "no"], ["yes", "no"])
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["n_predicted_outside_labels"] == 1
    assert set(m["per_class"]) == {"yes", "no"}
    assert m["per_class"]["yes"] == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    )
    assert m["per_class"]["no"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    )
    # Averaged over the two real classes only; a third "perhaps" class (F1 0) would give 5/9.
    assert m["macro_f1"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert m["confusion_matrix"]["matrix"] == [[1, 0], [0, 1]]
    assert m["confusion_matrix"]["outside_labels"] == [0, 1]


def test_gold_outside_label_set_is_counted_and_wrong():
    m = label_metrics(["yes", "other", "no"], ["yes", "yes", "no"], ["yes", "no"])
    assert m["n_gold_outside_labels"] == 1
    assert m["accuracy"] == pytest.approx(2 / 3)
    # "yes": TP 1, FP 1 (the "other" case) -> precision 0.5, recall 1.0
    assert m["per_class"]["yes"]["precision"] == pytest.approx(0.5)
    assert m["per_class"]["yes"]["support"] == 1
    assert m["confusion_matrix"]["matrix"] == [[1, 0], [0, 1]]


def test_bad_inputs():
    with pytest.raises(R2DError):
        label_metrics(["yes"], ["yes"], [])
    with pytest.raises(R2DError):
        label_metrics(["yes"], ["yes"], ["yes", "yes"])
    with pytest.raises(ValueError):
        label_metrics(["yes"], ["yes", "no"], ["yes", "no"])


def test_ece_hand_computed():
    gold = ["a", "b", "b", "b", "a"]
    probs = [
        {"a": 0.95, "b": 0.05},  # conf .95 right   -> bin (0.9, 1.0]
        {"a": 0.85, "b": 0.15},  # conf .85 wrong   -> bin (0.8, 0.9]
        {"a": 0.25, "b": 0.75},  # conf .75 right   -> bin (0.7, 0.8]
        {"a": 0.28, "b": 0.72},  # conf .72 right   -> bin (0.7, 0.8]
        {"a": 0.45, "b": 0.55},  # conf .55 wrong   -> bin (0.5, 0.6]
    ]
    expected = (
        1 / 5 * abs(1 - 0.95)
        + 1 / 5 * abs(0 - 0.85)
        + 2 / 5 * abs(1 - (0.75 + 0.72) / 2)
        + 1 / 5 * abs(0 - 0.55)
    )
    assert expected_calibration_error(gold, probs) == pytest.approx(expected)
    # One bin: |accuracy - mean confidence| over everything.
    one_bin = abs(3 / 5 - (0.95 + 0.85 + 0.75 + 0.72 + 0.55) / 5)
    assert expected_calibration_error(gold, probs, n_bins=1) == pytest.approx(one_bin)


def test_ece_perfectly_calibrated_certain_predictions():
    assert expected_calibration_error(["a", "b"], [{"a": 1.0}, {"b": 1.0, "a": 0.0}]) == 0.0


def test_ece_takes_the_models_decision_where_rounded_probabilities_tie():
    # Regression: PubMedQA sft seed 0 saved maybe = no = 0.359871 for a case decided "no" (gold
    # "maybe"); the first key of the tie made ECE count it as right.
    probs = [{"maybe": 0.359871, "no": 0.359871, "yes": 0.280258}]
    assert expected_calibration_error(["maybe"], probs) == pytest.approx(1 - 0.359871)
    assert expected_calibration_error(["maybe"], probs, predicted=["no"]) == pytest.approx(0.359871)
    # a prediction outside the map (a generated label) falls back on the top label
    assert expected_calibration_error(["maybe"], probs, predicted=["other"]) == pytest.approx(
        1 - 0.359871
    )
    with pytest.raises(ValueError, match="predictions"):
        expected_calibration_error(["maybe"], probs, predicted=[])


def test_choice_metrics_by_position_expose_a_position_bias():
    from reason2decide.label_metrics import choice_metrics

    # gold answers spread over A-D; the model always answers A
    gold = [0, 1, 2, 3, 0, 1]
    metrics = choice_metrics(gold, [0] * 6, [4] * 6)
    assert metrics["accuracy"] == 2 / 6
    assert metrics["per_position"]["A"]["predicted_share"] == 1.0
    assert metrics["per_position"]["A"]["gold_share"] == 2 / 6
    assert metrics["per_position"]["B"]["recall"] == 0.0
    assert metrics["position_confusion"]["labels"] == ["A", "B", "C", "D"]
    assert [row[0] for row in metrics["position_confusion"]["matrix"]] == [2, 2, 1, 1]
    # F1 of A: precision 2/6, recall 1 -> 0.5; B, C, D: 0
    assert metrics["macro_f1"] == pytest.approx(0.5 / 4)
    assert metrics["random_guess_accuracy"] == 0.25


def test_choice_metrics_count_answers_outside_the_options_as_wrong():
    from reason2decide.label_metrics import choice_metrics

    metrics = choice_metrics([0, 1, 1], [0, None, 1], [2, 3, 3])
    assert metrics["accuracy"] == 2 / 3
    assert metrics["n_predicted_outside_options"] == 1
    assert metrics["position_confusion"]["outside_options"] == [0, 1, 0]
    assert metrics["random_guess_accuracy"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 3) / 3)
