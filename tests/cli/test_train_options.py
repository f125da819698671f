"""The training flags of ``r2d train`` and ``r2d bench`` are built from TrainConfig's fields:
every option has its flag, its help shows the field's real default, a flag not given leaves the
YAML value standing, and the old spelling of a renamed option still works."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.cli.bench import TRAINING_OPTIONS
from reason2decide.cli.columns import ColumnFlags
from reason2decide.training.config import RENAMED_OPTIONS, TrainConfig

runner = CliRunner()

#: TrainConfig fields deliberately without an ``r2d train`` flag (none today).
NOT_ON_THE_COMMAND_LINE: set[str] = set()
#: Fields whose flag is one of the column flags shared with the commands that read data.
COLUMN_FIELDS = {item.name for item in fields(ColumnFlags)}
#: What --help shows for an option without a default (None) that says what it means instead.
UNSET = {
    "eval_batch_size": "--batch-size",
    "stage1_lr": "--lr",
    "stage1_eval_steps": "--eval-steps",
    "stage1_rationale_col": "--rationale-col",
}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def help_entries(*command: str) -> dict[str, str]:
    """Each option's help in ``r2d COMMAND --help``, by every spelling of the option."""
    result = runner.invoke(app, [*command, "--help"], terminal_width=1000)
    assert result.exit_code == 0, result.output
    entries: dict[str, str] = {}
    names: list[str] = []
    for line in result.output.splitlines():
        match = re.match(r"^  (-[^ ].*?)(?: {2,}(.*))?$", line)
        if match:
            names = re.findall(r"--?[a-z0-9-]+", match.group(1).split(" <")[0])
            text = match.group(2) or ""
        elif names and line.startswith("    "):
            text = line.strip()
        else:
            names = []
            continue
        for name in names:
            entries[name] = (entries.get(name, "") + " " + text).strip()
    return entries


def shown_default(text: str) -> str | None:
    match = re.search(r"\[([^\]]*)\]$", text)
    return match.group(1) if match else None


def assert_shows_the_real_default(name: str, text: str) -> None:
    """The bracket at the end of ``text`` holds the field's default, read back and compared
    as a value (not as the string the flag code writes)."""
    info = TrainConfig.model_fields[name]
    shown = shown_default(text)
    if info.is_required():
        assert shown is None, (name, text)
        return
    default = info.default
    if default is None:
        assert shown == UNSET.get(name, shown), (name, text)
        return
    assert shown is not None, f"{flag(name)} shows no default: {text!r}"
    value = shown.split(" as published")[0].split(";")[0].split(":")[0]
    if isinstance(default, bool):
        assert value == ("on" if default else "off"), (name, text)
    elif isinstance(default, (int, float)):
        assert float(value) == default, (name, text)
    else:
        assert value == str(default), (name, text)


def test_every_option_has_a_train_flag_with_its_real_default():
    entries = help_entries("train")
    names = [n for n in TrainConfig.model_fields if n not in NOT_ON_THE_COMMAND_LINE]
    missing = [flag(n) for n in names if flag(n) not in entries]
    assert missing == []
    for name in names:
        assert_shows_the_real_default(name, entries[flag(name)])
    assert "-o" in entries and "-c" in entries


def test_the_help_is_the_fields_description():
    entries = help_entries("train")
    for name, info in TrainConfig.model_fields.items():
        if name in COLUMN_FIELDS:
            continue  # the column flags' help lives on ColumnFlags
        assert info.description, f"{name} has no description"
        assert entries[flag(name)].startswith(info.description), name


def test_published_values_are_shown():
    entries = help_entries("train")
    assert entries["--alpha"].endswith("[0.7 as published]")
    assert entries["--lr"].endswith("[5e-5 as published]")
    assert entries["--seed"].endswith("[42]")
    assert entries["--keep-checkpoints"].endswith("[off]")


def test_a_changed_default_shows_in_the_help(monkeypatch):
    from reason2decide.cli.train_options import option_help

    monkeypatch.setattr(TrainConfig.model_fields["alpha"], "default", 0.6)
    assert option_help("alpha").endswith("[0.6; published: 0.7]")


def test_bool_options_have_a_negative_flag_and_literals_name_their_choices():
    entries = help_entries("train")
    for name, info in TrainConfig.model_fields.items():
        if info.annotation is bool:
            assert "--no-" + flag(name)[2:] in entries, name
    result = runner.invoke(app, ["train", "--help"], terminal_width=1000)
    assert "--precision auto|fp32|bf16|fp16" in result.output


def test_every_training_flag_defaults_to_not_given():
    import typer.main

    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    by_name = {p.name: p for p in command.params}
    for name in TrainConfig.model_fields:
        assert by_name[name].default is None, name
    assert by_name["warmup_fraction"].hidden


def test_column_options_are_declared_once_with_the_configs_defaults():
    import typer.main

    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    names = [p.name for p in command.params]
    assert len(names) == len(set(names))
    entries = help_entries("train")
    for name in ("question_col", "label_col", "rationale_col", "id_col"):
        assert shown_default(entries[flag(name)]) == TrainConfig.model_fields[name].default


def test_old_spellings_are_hidden():
    entries = help_entries("train")
    for old, new in RENAMED_OPTIONS.items():
        assert flag(old) not in entries and flag(new) in entries


@pytest.fixture()
def seen_config(monkeypatch):
    from reason2decide.training import recipes as training_runner

    seen = {}

    def fake_run_training(config, **kwargs):
        seen["config"] = config
        return {"wall_time_s": 0.0}

    monkeypatch.setattr(training_runner, "run_training", fake_run_training)
    return seen


def test_flags_override_the_yaml_and_unset_flags_leave_it(tmp_path, seen_config):
    train = tmp_path / "train.jsonl"
    train.write_text('{"question": "q", "label": "yes", "rationale": "r"}\n')
    config = tmp_path / "c.yaml"
    config.write_text("alpha: 0.5\nmax-steps: 7\nkeep_checkpoints: true\nlr: 0.01\n")
    args = ["train", "--config", config, "--train", train, "-o", tmp_path / "o"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    got = seen_config["config"]
    assert (got.alpha, got.max_steps, got.keep_checkpoints, got.lr) == (0.5, 7, True, 0.01)
    assert got.p_max == TrainConfig.model_fields["p_max"].default
    more = ["--alpha", "0.3", "--no-keep-checkpoints", "--stage", "1", "--label-col", "y"]
    result = runner.invoke(app, [str(a) for a in [*args, *more]])
    assert result.exit_code == 0, result.output
    got = seen_config["config"]
    assert (got.alpha, got.max_steps, got.keep_checkpoints, got.stage) == (0.3, 7, False, "1")
    assert got.label_col == "y" and got.output == tmp_path / "o"


def test_a_bad_choice_is_refused_by_the_config_naming_the_flag(tmp_path, seen_config):
    args = ["train", "--train", tmp_path / "t.jsonl", "-o", tmp_path / "o", "--precision", "fp8"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2 and "--precision" in result.output
    assert "config" not in seen_config


def test_bench_training_flags_come_from_the_config_with_real_defaults():
    entries = help_entries("bench")
    for name in TRAINING_OPTIONS:
        assert flag(name) in entries, name
        assert_shows_the_real_default(name, entries[flag(name)])
    assert entries["--rationale-col"].startswith("Rationale column: what training uses")
    # bench's own --eval-batch-size is the test-set inference batch, not TrainConfig's
    assert "[default: 16]" in entries["--eval-batch-size"]


def test_bench_passes_the_given_training_flags_to_every_run(tmp_path, monkeypatch):
    from reason2decide.bench import execute

    class Stop(Exception):
        pass

    seen = {}

    def fake_run_bench(spec, **kwargs):
        seen["spec"] = spec
        raise Stop

    monkeypatch.setattr(execute, "run_bench", fake_run_bench)
    args = ["bench", "--data", tmp_path, "-o", tmp_path / "o", "--lr", "0.001"]
    args += ["--rationale-col", "r2", "--question-template", "{q}"]
    result = runner.invoke(app, [str(a) for a in args])
    assert isinstance(result.exception, Stop), result.output
    training = seen["spec"].training
    assert training == {
        **dict.fromkeys(TRAINING_OPTIONS),
        "lr": 0.001,
        "rationale_col": "r2",
        "question_template": "{q}",
    }


def test_the_command_line_starts_without_torch():
    # the flags are built from TrainConfig at import: it must not pull in the training stack
    code = (
        "import sys, reason2decide.cli; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_the_method_help_names_every_method():
    from reason2decide.methods import METHODS

    description = TrainConfig.model_fields["method"].description or ""
    assert [m for m in METHODS if m not in re.findall(r"[a-z0-9-]+", description)] == []
