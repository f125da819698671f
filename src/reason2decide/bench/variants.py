"""Named variants of the training options: one benchmark, several settings side by side.

A variant is a name and a few :class:`~reason2decide.training.TrainConfig` options that replace
the shared ones (flags and ``--config``) for every method of the bench. Its runs live in
``runs/<method>@<name>/seed<k>/`` and its results rows are named ``"<method> [<name>]"``. The
motivating use is the paper's comparison of rationale sources per stage::

    --variant human-human:stage1_rationale_col=rationale,rationale_col=rationale
    --variant llm-human:stage1_rationale_col=llm_rationale
    --variant llm-llm:stage1_rationale_col=llm_rationale,rationale_col=llm_rationale

but any training option may vary (``model``, ``lr``, ``alpha``, ...), except the ones the bench
sets per run and the columns the test set is read with (:data:`NOT_VARIABLE`).

Text form: ``NAME`` or ``NAME:key=value[,key=value...]``. Keys are TrainConfig fields (dashes
may stand for underscores); values are parsed by the config's own validation (``"1e-4"`` becomes
a float, ``"true"`` a bool); an empty value (``key=``) sets the option to null, i.e. its
unset state (``stage1_rationale_col=`` makes Stage 1 use ``rationale_col`` again). Values cannot
contain commas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reason2decide.errors import R2DError
from reason2decide.training.config import (
    TrainConfig,
    config_fields,
    current_option_name,
    validate_config,
)

#: Options a variant cannot set, and why.
NOT_VARIABLE: dict[str, str] = {
    **dict.fromkeys(
        ("method", "seed", "train", "val", "output"),
        "the bench sets it for every run (--data, --methods, --seeds, --output)",
    ),
    **dict.fromkeys(("stage", "init"), "a bench trains every stage of every method"),
    **dict.fromkeys(
        (
            "question_col",
            "label_col",
            "id_col",
            "question_template",
            "choices_cols",
            "choices_col",
            "choices_sep",
            "answer_format",
        ),
        "the test set is read once, with the shared columns; set it with --config",
    ),
}
#: What a variant name may look like: it becomes part of a folder name.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SYNTAX = "NAME:key=value[,key=value], e.g. llm-human:stage1_rationale_col=llm_rationale"


@dataclass(frozen=True)
class Variant:
    """A name and the training options it replaces (``None`` values unset an option)."""

    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """``key=value, ...`` (``—`` for a variant that changes nothing)."""
        if not self.overrides:
            return "—"
        return ", ".join(f"{k}={'' if v is None else v}" for k, v in self.overrides.items())

    def apply(self, config: TrainConfig) -> TrainConfig:
        """``config`` with this variant's options, validated like any training config;
        a bad value is an :class:`R2DError` naming the variant and the option."""
        try:
            return validate_config({**config.dump(), **self.overrides})
        except R2DError as exc:
            raise R2DError(
                f"variant {self.name!r}: {exc.detail}", field=exc.field, hint=exc.hint
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"name": ..., "overrides": {...}}``."""
        return {"name": self.name, "overrides": dict(self.overrides)}


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise R2DError(
            f"variant name {name!r} is not allowed" if name else "a variant has no name",
            field="variant",
            hint="a name is letters, digits, '.', '_' and '-' (it names a folder); " + SYNTAX,
        )


def check_overrides(name: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides of variant ``name`` with dashes in keys made underscores; unknown and
    non-variable options are :class:`R2DError`\\ s naming the key."""
    checked: dict[str, Any] = {}
    known = config_fields()
    for raw_key, value in overrides.items():
        key = current_option_name(str(raw_key).strip().replace("-", "_"), f"variant {name!r}")
        if key in NOT_VARIABLE:
            raise R2DError(
                f"variant {name!r} sets {key!r}: {NOT_VARIABLE[key]}", field=f"variant {key}"
            )
        if key not in known:
            raise R2DError(
                f"variant {name!r}: unknown option {key!r}",
                field=f"variant {key}",
                hint="options are those of r2d train: "
                + ", ".join(k for k in known if k not in NOT_VARIABLE),
            )
        if key in checked:
            raise R2DError(f"variant {name!r} sets {key!r} twice", field=f"variant {key}")
        checked[key] = value
    return checked


def parse_variant(text: str) -> Variant:
    """A :class:`Variant` from ``NAME`` or ``NAME:key=value[,key=value]`` (see module doc)."""
    name, _, rest = text.partition(":")
    name = name.strip()
    _check_name(name)
    pairs: dict[str, Any] = {}
    for item in rest.split(","):
        if not item.strip():
            continue
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise R2DError(
                f"variant {name!r}: {item.strip()!r} is not key=value", field="variant", hint=SYNTAX
            )
        key = key.strip().replace("-", "_")
        if key in pairs:
            raise R2DError(f"variant {name!r} sets {key!r} twice", field=f"variant {key}")
        pairs[key] = value.strip() or None
    return Variant(name, check_overrides(name, pairs))


def parse_variants(
    items: Iterable[Variant | str] | Mapping[str, Mapping[str, Any]] | None,
) -> list[Variant]:
    """Variants from ``--variant`` texts, :class:`Variant` objects, or a mapping ``name →
    {option: value}``; names must be distinct."""
    if not items:
        return []
    variants: list[Variant] = []
    if isinstance(items, Mapping):
        for name, overrides in items.items():
            _check_name(str(name))
            variants.append(Variant(str(name), check_overrides(str(name), dict(overrides))))
    else:
        for item in items:
            if isinstance(item, Variant):
                _check_name(item.name)
                variants.append(Variant(item.name, check_overrides(item.name, item.overrides)))
            else:
                variants.append(parse_variant(str(item)))
    names = [v.name for v in variants]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise R2DError(f"variant name(s) given twice: {', '.join(repeated)}", field="variant")
    return variants


def rationale_sources(config: TrainConfig) -> dict[str, str]:
    """Where each stage of ``config`` takes its rationales from, in words (as ``run.json``
    records it once trained): ``{"stage1": ..., "stage2": ...}``."""
    stage2 = f"column {config.rationale_col} of {config.train.name}"
    column = config.stage1_rationale_col or config.rationale_col
    stage1_file = config.stage1_train if config.stage1_train is not None else config.train
    return {"stage1": f"column {column} of {stage1_file.name}", "stage2": stage2}


def _ignored_keys(method_stages: Sequence[str], requires_rationale: bool) -> set[str]:
    """Options a method with these stages does not use."""
    ignored = set()
    if "stage1" not in method_stages:
        ignored |= {k for k in config_fields() if k.startswith("stage1_")}
    if not requires_rationale:
        ignored |= {"rationale_col", "stage1_rationale_col", "stage1_train"}
    return ignored


def same_training(
    configs: Mapping[str, TrainConfig], method_stages: Sequence[str], requires_rationale: bool
) -> list[list[str]]:
    """Groups of variant names (two or more) whose configs differ only in options the method
    does not use, so that their runs train the same model (e.g. ``sft`` under variants that
    only change Stage-1 rationales)."""
    ignored = _ignored_keys(method_stages, requires_rationale) | {"output"}
    groups: dict[str, list[str]] = {}
    for name, config in configs.items():
        key = repr(sorted((k, v) for k, v in config.dump().items() if k not in ignored))
        groups.setdefault(key, []).append(name)
    return [names for names in groups.values() if len(names) > 1]
