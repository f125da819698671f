"""LLMs over any OpenAI-compatible server: teacher rationales and the zero-shot baseline.

- :class:`LLMClient` / :class:`LLMConfig`: cached, retrying, concurrent chat client.
- :func:`generate_rationales`: teacher rationales for a data set, resumable.
- :func:`zero_shot_predict` / :func:`map_label`: the zero-shot LLM baseline.

The LLM judge lives in :mod:`reason2decide.evaluation.judge`. See ``docs/llm.md``.
"""

from reason2decide.llm.client import ChatRequest, ChatResult, LLMClient, LLMConfig, Usage
from reason2decide.llm.rationales import (
    GenerationSummary,
    RationaleOptions,
    generate_rationales,
    rationale_request,
)
from reason2decide.llm.templates import (
    RATIONALE_TEMPLATE,
    ZERO_SHOT_LABEL_TEMPLATE,
    PromptTemplate,
    load_template,
)
from reason2decide.llm.zero_shot import (
    UNMAPPED_LABEL,
    LabelMatch,
    ZeroShotOptions,
    ZeroShotResult,
    map_label,
    zero_shot_predict,
)

__all__ = [
    "RATIONALE_TEMPLATE",
    "UNMAPPED_LABEL",
    "ZERO_SHOT_LABEL_TEMPLATE",
    "ChatRequest",
    "ChatResult",
    "GenerationSummary",
    "LLMClient",
    "LLMConfig",
    "LabelMatch",
    "PromptTemplate",
    "RationaleOptions",
    "Usage",
    "ZeroShotOptions",
    "ZeroShotResult",
    "generate_rationales",
    "load_template",
    "map_label",
    "rationale_request",
    "zero_shot_predict",
]
