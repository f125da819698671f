"""docs/cli.md, the generated reference of every ``r2d`` command and option: it is what
``reason2decide.cli.reference`` writes now (a new option fails until the file is regenerated),
every option ``--help`` shows is in it, and the tables say what the parameters say."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.cli.reference import REGENERATE, command_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
runner = CliRunner()


def sections(text: str) -> dict[str, str]:
    """The reference's sections by command (``r2d data prepare``)."""
    parts = re.split(r"^## `([^`]+)`$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def leaf_commands(command: typer.core.TyperGroup, path: tuple[str, ...] = ()):
    for name, sub in command.commands.items():
        if hasattr(sub, "commands"):
            yield from leaf_commands(sub, (*path, name))
        else:
            yield (*path, name)


def help_options(*command: str) -> list[str]:
    """Every option spelling that ``r2d COMMAND --help`` lists (not counting ``--help``)."""
    result = runner.invoke(app, [*command, "--help"], terminal_width=1000)
    assert result.exit_code == 0, result.output
    names: list[str] = []
    for line in result.output.splitlines():
        match = re.match(r"^  (-[^ ].*?)(?: {2,}.*)?$", line)
        if match:
            names += re.findall(r"(?<![^\s,])--?[a-z0-9][a-z0-9-]*(?![^\s,])", match.group(1))
    return [name for name in names if name != "--help"]


def test_docs_cli_md_is_what_the_cli_generates() -> None:
    assert DOC.read_text(encoding="utf-8") == command_reference(), (
        f"docs/cli.md is out of date with the CLI: regenerate it with `{REGENERATE}`"
    )


COMMANDS = sorted(leaf_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_option_of_the_help_is_in_the_reference(command: tuple[str, ...]) -> None:
    section = sections(DOC.read_text(encoding="utf-8"))["r2d " + " ".join(command)]
    options = help_options(*command)
    missing = [name for name in options if f"`{name}`" not in section]
    assert not missing, f"not in docs/cli.md: {missing}; regenerate it with `{REGENERATE}`"


def test_the_options_the_docs_review_missed_are_in_the_reference() -> None:
    doc = sections(DOC.read_text(encoding="utf-8"))
    train_options = help_options("train")
    assert len(train_options) > 60  # the help was read, not an empty parse
    for name in ("--stage2-patience", "--report-to", "--confidence-sharpness", "--num-workers"):
        assert name in train_options
        assert re.search(rf"^\| `{name}` \| [^|]+ \| [^|]+ \| \w", doc["r2d train"], re.MULTILINE)
    for command in ("evaluate", "predict", "serve"):
        assert "| `--device` | str | cuda when available | cpu, cuda" in doc[f"r2d {command}"]
    assert (
        "| `--limit` | int, x ≥ 1 | — | Evaluate the first N cases only. |" in doc["r2d evaluate"]
    )
    levels = "one of `critical`, `error`, `warning`, `info`, `debug`"
    assert f"| `--log-level` | {levels} | `info` |" in doc["r2d serve"]


class Colour(str, Enum):
    red = "red"
    blue = "blue"


def tiny_app() -> typer.Typer:
    tiny = typer.Typer()
    group = typer.Typer(help="Things in a group.")
    tiny.add_typer(group, name="group")

    @tiny.command()
    def first(
        source: Annotated[str, typer.Argument(help="Where from.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Folder.")],
        steps: Annotated[int | None, typer.Option(help="Steps. [the run's]")] = None,
        colour: Annotated[Colour, typer.Option(help="A | B.")] = Colour.blue,
        fast: Annotated[bool, typer.Option("--fast/--slow", help="Speed.")] = False,
        home: Annotated[Path, typer.Option(help="Cache.", show_default=True)] = Path("/abs/x"),
        count: Annotated[int, typer.Option(min=1, help="How *many*.")] = 3,
        old: Annotated[int, typer.Option(hidden=True)] = 0,
    ) -> None:
        """Do the first thing.

        More that only --help shows."""

    @group.command()
    def second(paths: Annotated[list[Path], typer.Argument(help="Files.")]) -> None:
        """Do the second thing."""

    return tiny


def test_the_tables_say_what_the_parameters_say() -> None:
    text = command_reference(typer.main.get_command(tiny_app()), prog="tiny")
    doc = sections(text)
    assert list(doc) == ["tiny", "tiny first", "tiny group", "tiny group second"]
    first = doc["tiny first"]
    assert "\nDo the first thing.\n" in first
    assert "only --help" not in first
    rows = [line for line in first.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `SOURCE` | str | required | Where from. |",
        "| `--out`, `-o` | path | required | Folder. |",
        "| `--steps` | int | the run's | Steps. |",
        "| `--colour` | one of `red`, `blue` | `blue` | A \\| B. |",
        "| `--fast` / `--slow` | flag | `--slow` | Speed. |",
        "| `--home` | path | — | Cache. |",  # an absolute path depends on the machine
        "| `--count` | int, x ≥ 1 | `3` | How \\*many\\*. |",
    ]
    assert "| [`second`](#tiny-group-second) | Do the second thing. |" in doc["tiny group"]
    assert "| `PATHS` ... | path | required | Files. |" in doc["tiny group second"]
