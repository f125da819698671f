"""The JSON the API reads and writes (pydantic models; the OpenAPI schema is built from them).

A case is its ``text`` for now; a model trained on an input template will add that template's
fields to :class:`Case` (and its options to the answer) without changing the rest.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Case(BaseModel):
    """One case to decide."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str | None = Field(None, description="Your id for the case, returned with its answer.")
    text: str = Field(..., description="The case, as the model's training inputs were written.")


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

    text: str | None = Field(None, description="A single case (instead of cases).")
    id: str | None = Field(None, description="The single case's id.")
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
