"""How rationales are decoded: the ``generate`` settings a user knows, declared once.

The CLI flags of ``r2d predict``, ``r2d evaluate`` and ``r2d bench`` are built from the fields
of :class:`GenerationSettings` (their defaults and help texts), and every evaluation records the
settings it used. Label decoding never uses them: a label is scored, or generated greedily
(:data:`GREEDY`), so that training-time label sampling and validation keep their speed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from reason2decide.errors import R2DError


def _option(default: Any, help: str) -> Any:  # noqa: A002 - the word the CLI uses
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class GenerationSettings:
    """Beam search and repetition controls for generated rationales.

    The defaults (greedy, no repeated 3-gram, repetition penalty 1.2) were chosen by measurement
    on the synthetic triage demo (docs/performance.md, "Rationale decoding settings"): they end
    the loops greedy decoding falls into, with BLEU and BERTScore as good or better, at no
    measurable cost in speed. :data:`GREEDY` is plain greedy decoding. The repetition controls
    count the rationale's own tokens only, for decoder-only models too (not the prompt).
    """

    num_beams: int = _option(1, "Beams for rationale decoding (1 = greedy).")
    no_repeat_ngram_size: int = _option(
        3, "Never repeat a word-piece n-gram of this size within a rationale (0 = off)."
    )
    repetition_penalty: float = _option(
        1.2, "Penalise tokens the rationale already contains by this factor (1.0 = off)."
    )
    length_penalty: float = _option(
        1.0, "Beam search only: exponent of the length normalisation (>1 favours longer)."
    )
    max_new_tokens: int | None = _option(
        None, "Longest rationale, in tokens. [the model's max target length]"
    )

    def __post_init__(self) -> None:
        checks = (
            ("num_beams", self.num_beams >= 1, "at least 1"),
            ("no_repeat_ngram_size", self.no_repeat_ngram_size >= 0, "0 (off) or more"),
            ("repetition_penalty", self.repetition_penalty > 0, "above 0 (1.0 = off)"),
            ("max_new_tokens", self.max_new_tokens is None or self.max_new_tokens >= 1, "≥ 1"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise R2DError(
                    f"{name}={getattr(self, name)!r} is not allowed: it must be {expected}",
                    field=name,
                )

    def generate_kwargs(self, default_max_new_tokens: int) -> dict[str, Any]:
        """Keyword arguments for ``transformers`` ``generate`` (deterministic decoding)."""
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens or default_max_new_tokens,
            "do_sample": False,
            "num_beams": self.num_beams,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "repetition_penalty": self.repetition_penalty,
        }
        if self.num_beams > 1:
            kwargs["length_penalty"] = self.length_penalty
            kwargs["early_stopping"] = True
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values, as recorded in metrics.json."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> GenerationSettings:
        """Settings from :meth:`to_dict` output (unknown keys are user errors)."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise R2DError(
                f"unknown generation setting(s) {', '.join(unknown)}",
                hint=f"choose from {', '.join(sorted(known))}",
            )
        return cls(**values)


#: Plain greedy decoding: what label generation uses, and what evaluations recorded before the
#: settings existed.
GREEDY = GenerationSettings(
    num_beams=1, no_repeat_ngram_size=0, repetition_penalty=1.0, length_penalty=1.0
)
