"""The registry of built-in sources: name → description, options and builder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from reason2decide.data.sources import (
    bioasq,
    ddxplus,
    medmcqa,
    medreason,
    pubmedqa,
    synth_triage,
)
from reason2decide.data.sources.base import BuiltSplits, OptionValue, SourceInfo, SourceOption
from reason2decide.errors import R2DError


@dataclass(frozen=True)
class Source:
    """A built-in source: what it is, which options it takes, and how to build its splits."""

    info: SourceInfo
    options: Mapping[str, SourceOption]
    builder: Callable[..., BuiltSplits]

    @property
    def name(self) -> str:
        """The name used on the command line (``r2d data prepare NAME``)."""
        return self.info.name

    def build(
        self, data_dir: Path | None, *, seed: int, options: Mapping[str, OptionValue]
    ) -> BuiltSplits:
        """Read the raw files under ``data_dir`` (None for a source without raw files) and
        return the train/val/test examples."""
        return self.builder(data_dir, seed=seed, options=options)


SOURCES: dict[str, Source] = {
    module.INFO.name: Source(module.INFO, module.OPTIONS, module.build)
    for module in (pubmedqa, bioasq, medreason, medmcqa, ddxplus, synth_triage)
}


def source_names() -> list[str]:
    """The names of the built-in sources, in listing order."""
    return list(SOURCES)


def get_source(name: str) -> Source:
    """The built-in source called ``name``; raises :class:`R2DError` for an unknown name."""
    source = SOURCES.get(name.strip().lower())
    if source is None:
        raise R2DError(
            f"unknown source '{name}'",
            field="SOURCE",
            hint=f"choose one of {', '.join(SOURCES)} (see `r2d data list`)",
        )
    return source


def resolve_options(
    source: Source, given: Mapping[str, OptionValue | None]
) -> dict[str, OptionValue]:
    """The source's options with defaults filled in; rejects options it does not take.

    ``given`` maps option names (e.g. ``"label_placeholder"``) to a value, or ``None`` for
    "not given". A numeric option's value (a number or its text) comes back as its ``kind``.
    """
    resolved: dict[str, OptionValue] = {}
    for key, value in given.items():
        if value is None:
            continue
        option = source.options.get(key)
        if option is None:
            owners = [s.name for s in SOURCES.values() if key in s.options]
            flag = next(
                (s.options[key].flag for s in SOURCES.values() if key in s.options),
                "--" + key.replace("_", "-"),
            )
            where = f"applies to {', '.join(owners)} only" if owners else "is not an option"
            raise R2DError(f"{flag} {where}, not to '{source.name}'", field=flag)
        if not option.choices:
            value = _number(option, value)
        elif value not in option.choices:
            raise R2DError(
                f"{option.flag} must be one of {', '.join(option.choices)}, not '{value}'",
                field=option.flag,
            )
        resolved[key] = value
    for key, option in source.options.items():
        resolved.setdefault(key, option.default)
    return dict(sorted(resolved.items()))


def _number(option: SourceOption, value: OptionValue) -> OptionValue:
    """``value`` as the numeric option's ``kind``; raises :class:`R2DError` if it is not one."""
    allowed = (int,) if option.kind is int else (int, float)
    if isinstance(value, str):
        try:
            return option.kind(value.strip())
        except ValueError:
            pass
    elif isinstance(value, allowed) and not isinstance(value, bool):
        return option.kind(value)
    noun = "a whole number" if option.kind is int else "a number"
    raise R2DError(f"{option.flag} must be {noun}, not '{value}'", field=option.flag)
