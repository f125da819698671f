"""Fixtures for the LLM layer's tests: the fake server (``tests/fake_llm_server.py``) and a
client config pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_llm_server import FakeLLMServer, running


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    """A running fake server, stopped after the test."""
    with running() as server:
        yield server


@pytest.fixture
def llm_config(fake_llm: FakeLLMServer, tmp_path):  # type: ignore[no-untyped-def]
    """A config for the fake server: short timeout, fast backoff, a fresh cache."""
    from reason2decide.llm.client import LLMConfig

    return LLMConfig(
        base_url=fake_llm.url,
        model="fake-model",
        timeout=2.0,
        max_retries=2,
        backoff=0.01,
        max_backoff=0.05,
        concurrency=2,
        cache_dir=tmp_path / "cache",
    )
