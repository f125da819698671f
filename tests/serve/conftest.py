"""Fixtures of the server tests: the tiny run folder, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from serve_support import make_run_folder


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory) -> Path:
    return make_run_folder(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="session")
def served(run_folder):
    """The tiny run folder, loaded once (fp32, short rationales)."""
    from reason2decide.generation import GenerationSettings
    from reason2decide.serve.model import load_served_model

    return load_served_model(
        run_folder,
        precision="fp32",
        device="cpu",
        generation=GenerationSettings(max_new_tokens=4),
    )
