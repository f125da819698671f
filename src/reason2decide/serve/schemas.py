"""The JSON the API reads and writes (pydantic models; the OpenAPI schema is built from them).

A case is its ``text`` for now; a model trained on an input template will add that template's
fields to :class:`Case` (and its options to the answer) without changing the rest.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


def unicode_problem(text: str) -> str | None:
    """Why ``text`` is not valid Unicode text (a lone surrogate, which JSON's ``"\\ud800"``
    escape lets through and no UTF-8 encoder, tokenizer or log takes), or None when it is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"must be valid Unicode text: it contains a lone surrogate at position {exc.start}"
    return None


def _valid_unicode(text: str) -> str:
    problem = unicode_problem(text)
    if problem is not None:
        # a custom error type: pydantic would put "Value error, " before a ValueError's message
        raise PydanticCustomError("unicode_text", problem)
    return text


#: A string field of a request: refused (422 at its field) when it holds a lone surrogate.
Text = Annotated[str, AfterValidator(_valid_unicode)]


class Case(BaseModel):
    """One case to decide."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: Text | None = Field(None, description="Your id for the case, returned with its answer.")
    text: Text = Field(..., description="The case, as the model's training inputs were written.")


class PredictRequest(BaseModel):
    """One case (``text``, ``id``) or several (``cases``); ``rationale`` asks for explanations."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"text": "A 4-year-old with a fever of 39.5 C since this morning.", "id": "a1"},
                {"cases": [{"id": "a1", "text": "..."}, {"id": "a2", "text": "..."}]},
            ]
        },
    )

    text: Text | None = Field(None, description="A single case (instead of cases).")
    id: Text | None = Field(None, description="The single case's id.")
    cases: list[Case] | None = Field(None, description="Several cases, answered in this order.")
    rationale: bool = Field(True, description="Write a rationale for each predicted label.")

    @model_validator(mode="after")
    def _one_form(self) -> PredictRequest:
        if (self.text is None) == (self.cases is None):
            raise ValueError("give either text (one case) or cases (a list), not both or neither")
        if self.cases is not None and self.id is not None:
            raise ValueError("id goes inside each case when cases is given")
        return self

    def as_cases(self) -> list[Case]:
        """The request's cases, in order."""
        if self.cases is not None:
            return self.cases
        return [Case(id=self.id, text=self.text or "")]


class ModelIdentity(BaseModel):
    """Which model answered."""

    method: str
    backbone: str
    run_id: str


class CasePrediction(BaseModel):
    """The answer for one case."""

    id: str | None
    label: str
    probabilities: dict[str, float] | None = Field(
        None, description="Probability of each label (None when labels are generated)."
    )
    rationale: str | None = Field(None, description="Why: written for the predicted label.")


class PredictResponse(BaseModel):
    """The answers, in the order of the request's cases."""

    model: ModelIdentity
    request_id: str
    predictions: list[CasePrediction]


class ErrorResponse(BaseModel):
    """What a refused request gets: a message, the field at fault (when one is), the request id."""

    error: str
    field: str | None = None
    request_id: str | None = None
