"""TrainConfig: the renamed option W (``alpha_warmup_fraction``) and its old spelling."""

from __future__ import annotations

import json
import warnings

import pytest

from reason2decide.errors import R2DError
from reason2decide.training.config import TrainConfig, build_config


def test_w_is_alpha_warmup_fraction_not_a_lookalike_of_warmup_ratio(tmp_path):
    assert "warmup_fraction" not in TrainConfig.model_fields
    config = build_config({"train": tmp_path / "t.jsonl", "output": tmp_path / "o"})
    assert config.alpha_warmup_fraction == 0.05 and config.warmup_ratio == 0.0
    flags = {"train": tmp_path / "t.jsonl", "output": tmp_path / "o"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the current name warns about nothing
        config = build_config({**flags, "alpha_warmup_fraction": 0.2})
    assert config.alpha_warmup_fraction == 0.2


def test_old_spelling_still_works_with_a_deprecation_warning(tmp_path):
    flags = {"train": tmp_path / "t.jsonl", "output": tmp_path / "o"}
    with pytest.warns(FutureWarning, match="'warmup_fraction'.*'alpha_warmup_fraction'"):
        assert build_config({**flags, "warmup_fraction": 0.2}).alpha_warmup_fraction == 0.2
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("warmup-fraction: 0.3\n")
    with pytest.warns(FutureWarning, match="run.yaml"):
        assert build_config(flags, yaml_file).alpha_warmup_fraction == 0.3
    # a flag under the new name overrides the YAML's old one, as for any option
    with pytest.warns(FutureWarning):
        config = build_config({**flags, "alpha_warmup_fraction": 0.4}, yaml_file)
    assert config.alpha_warmup_fraction == 0.4
    yaml_file.write_text("warmup-fraction: 0.3\nalpha-warmup-fraction: 0.3\n")
    with pytest.raises(R2DError, match="give only 'alpha_warmup_fraction'"):
        build_config(flags, yaml_file)


def test_resume_reads_an_old_run_json_and_compares_under_the_new_name(tmp_path):
    from reason2decide.training.output import RUN_FILE, resume_config

    saved = TrainConfig(train=tmp_path / "t.jsonl", output=tmp_path).dump()
    saved.pop("alpha_warmup_fraction")
    saved["warmup_fraction"] = 0.2
    (tmp_path / RUN_FILE).write_text(json.dumps({"config": saved}))
    with pytest.warns(FutureWarning, match=RUN_FILE):
        assert resume_config(tmp_path, {}).alpha_warmup_fraction == 0.2
    with pytest.warns(FutureWarning), pytest.raises(R2DError, match="alpha_warmup_fraction"):
        resume_config(tmp_path, {"alpha_warmup_fraction": 0.5})


def test_bench_variant_accepts_the_old_key_with_a_warning():
    from reason2decide.bench.variants import parse_variant

    with pytest.warns(FutureWarning, match="variant 'w'"):
        variant = parse_variant("w:warmup-fraction=0.1")
    assert variant.overrides == {"alpha_warmup_fraction": "0.1"}
    with pytest.warns(FutureWarning), pytest.raises(R2DError, match="twice"):
        parse_variant("w:warmup_fraction=0.1,alpha_warmup_fraction=0.2")


def test_training_data_reads_the_data_warnings_module_without_an_import_fallback():
    # the stats module is part of the package: an ImportError must not silence its warnings
    from reason2decide.data import stats, training_data

    assert training_data.training_data_warnings is stats.training_data_warnings
    assert not hasattr(training_data, "_data_warnings")


def test_input_truncation_is_an_option_with_named_choices(tmp_path):
    base = {"train": tmp_path / "t.jsonl", "output": tmp_path / "o"}
    assert build_config(base).input_truncation == "end"
    assert build_config({**base, "input_truncation": "middle"}).input_truncation == "middle"
    with pytest.raises(R2DError, match="input_truncation"):
        build_config({**base, "input_truncation": "start"})
