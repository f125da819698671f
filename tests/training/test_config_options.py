"""Each training option is declared once, on TrainConfig: a config round-trips through its YAML
keys, every field says what it is, the published values agree with configs/*-paper.yaml, and the
methods' own constants (Stage2Config, ...) have the same defaults as the options that set them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from reason2decide.errors import R2DError
from reason2decide.training.config import TrainConfig, build_config, load_yaml, option_extra

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_a_config_round_trips_through_yaml(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text('{"question": "q", "label": "yes", "rationale": "r"}\n')
    config = build_config(
        {
            "train": train,
            "output": tmp_path / "run",
            "method": "r2dc",
            "alpha": 0.5,
            "stage1_lr": 1e-4,
            "keep_checkpoints": True,
            "precision": "fp32",
            "r2dc_confidence": "set-probability",
            "question_template": "{question}!",
        }
    )
    path = tmp_path / "dumped.yaml"
    path.write_text(yaml.safe_dump(config.dump()))
    assert load_yaml(path) == config.dump()
    assert build_config({}, path) == config
    # the same file with dashed keys, as the flags are spelled
    dashed = {k.replace("_", "-"): v for k, v in config.dump().items()}
    path.write_text(yaml.safe_dump(dashed))
    assert build_config({}, path) == config


def test_every_option_says_what_it_is():
    undescribed = [n for n, f in TrainConfig.model_fields.items() if not f.description]
    assert undescribed == []


def test_flag_metadata_is_only_the_known_keys():
    for name in TrainConfig.model_fields:
        assert set(option_extra(name)) <= {"paper", "unset", "short"}, name
    assert option_extra("output") == {"short": "-o"}


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*-paper.yaml")), ids=lambda p: p.name)
def test_published_values_agree_with_the_paper_configs(path):
    published = {
        n: option_extra(n)["paper"]
        for n in TrainConfig.model_fields
        if option_extra(n).get("paper") is not None
    }
    assert {"alpha", "lr", "max_steps"} <= set(published)
    values = load_yaml(path)
    disagree = {
        k: (v, published[k]) for k, v in values.items() if k in published and v != published[k]
    }
    assert disagree == {}


def test_method_constants_have_the_defaults_of_their_options(tmp_path):
    """The methods keep their own defaults (they import nothing from training): every
    objective's constants read from a default TrainConfig equal the method's defaults."""
    from reason2decide.methods import METHODS
    from reason2decide.training.objectives import objective_config

    checked = set()
    for method, spec in METHODS.items():
        config = TrainConfig(method=method, train=tmp_path / "t.jsonl", output=tmp_path / "o")
        for stage in spec.stages:
            constants = objective_config(stage, config)
            expected = type(constants)()
            if method == "r2d-no-sampling" and stage == "stage2":
                expected = replace(expected, sampling=False)
            assert constants == expected, (method, stage)
            checked.add(type(constants).__name__)
    assert checked == {"Stage1Config", "Stage2Config", "R2DCConfig", "SFTConfig", "DSSConfig"}


def test_a_changed_option_reaches_the_method(tmp_path):
    from reason2decide.training.objectives import objective_config

    base = {"train": tmp_path / "t.jsonl", "output": tmp_path / "o"}
    r2dc = TrainConfig(**base, method="r2dc", alpha=0.2, tau_window_steps=3, stage2_patience=1)
    constants = objective_config("stage2", r2dc)
    assert (constants.alpha, constants.tau_window_steps, constants.patience) == (0.2, 3, 1)
    dss = objective_config("dss", TrainConfig(**base, method="dss", dss_alpha=0.1))
    assert dss.alpha == 0.1


def test_a_config_file_that_cannot_be_read_is_a_user_error_naming_it(tmp_path, monkeypatch):
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    with pytest.raises(R2DError, match="is a folder, not a config file") as info:
        load_yaml(folder)
    assert info.value.path == str(folder)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("note: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(R2DError, match="not UTF-8") as info:
        load_yaml(latin1)
    assert info.value.path == str(latin1)
    locked = tmp_path / "locked.yaml"
    locked.write_text("lr: 0.1\n")

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    # As root, chmod 000 would not stop the read: the module's open() is replaced instead.
    monkeypatch.setattr("reason2decide.training.config.open", denied, raising=False)
    with pytest.raises(R2DError, match="cannot read the config file: Permission denied") as info:
        load_yaml(locked)
    assert info.value.path == str(locked)
