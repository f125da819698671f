"""The rationale decoding flags, built from :class:`~reason2decide.generation.GenerationSettings`
so that ``predict``, ``evaluate`` and ``bench`` offer the same flags with the same defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reason2decide.cli.dataclass_flags import dataclass_options, flag
from reason2decide.generation import GenerationSettings

__all__ = ["PARAMETER", "flag", "generation_options"]

F = TypeVar("F", bound=Callable[..., Any])

#: The parameter through which a decorated command receives the settings.
PARAMETER = "generation"


def generation_options(func: F) -> F:
    """Give a typer command one flag per :class:`GenerationSettings` field; the command
    receives them together as its ``generation`` parameter."""
    return dataclass_options(GenerationSettings, PARAMETER)(func)
