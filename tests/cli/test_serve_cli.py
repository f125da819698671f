"""``r2d serve``: one flag per server option; unsafe settings refused before the model loads."""

from __future__ import annotations

from dataclasses import fields

from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.cli.generation import flag
from reason2decide.serve.config import ServeSettings

runner = CliRunner()


def test_every_server_option_has_a_flag():
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for item in fields(ServeSettings):
        assert flag(item.name) in text, item.name
    assert "--num-beams" in text  # the rationale decoding flags of r2d predict


def test_non_loopback_host_without_a_key_is_refused(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-run"  # never loaded: the settings are checked first
    result = runner.invoke(app, ["serve", str(missing), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "api-key-env" in result.output and "Traceback" not in result.output
    monkeypatch.delenv("R2D_NO_KEY", raising=False)
    result = runner.invoke(
        app, ["serve", str(missing), "--host", "0.0.0.0", "--api-key-env", "R2D_NO_KEY"]
    )
    assert result.exit_code == 2 and "R2D_NO_KEY" in result.output
    result = runner.invoke(app, ["serve", str(missing), "--max-cases", "0"])
    assert result.exit_code == 2 and "max_cases" in result.output
    result = runner.invoke(app, ["serve", str(missing)])
    assert result.exit_code == 2 and "no-such-run" in result.output
