"""The server's API fuzzed from its own OpenAPI schema: request bodies built from each operation's
schema (valid, with wrong types, missing and unknown fields) and random bytes, header values and
query strings. No request may get a 5xx answer; every refusal says what was wrong (and, for a
request body, the field)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serve_support import client_for, fake_served

RUNS = settings(
    max_examples=int(os.environ.get("R2D_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def from_schema(schema: dict[str, Any], components: dict[str, Any], depth: int = 0):
    """Values for a JSON schema: mostly what it describes, now and then anything at all."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    anything = json_values
    if depth > 3:
        return anything
    if "anyOf" in schema:
        options = [from_schema(s, components, depth + 1) for s in schema["anyOf"]]
        return st.one_of(*options, anything)
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        fields = {k: from_schema(v, components, depth + 1) for k, v in properties.items()}
        extra = st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=2)
        known = st.fixed_dictionaries({}, optional=fields)
        return st.one_of(known, st.builds(lambda a, b: {**b, **a}, known, extra), anything)
    if kind == "array":
        item = from_schema(schema.get("items", {}), components, depth + 1)
        return st.one_of(st.lists(item, max_size=5), anything)
    if kind == "string":
        return st.one_of(st.text(max_size=200), st.text(min_size=1, max_size=3).map(str.strip))
    if kind == "boolean":
        return st.one_of(st.booleans(), anything)
    return anything


@pytest.fixture(scope="module")
def api():
    with client_for(fake_served(), max_cases=8, max_text_chars=500) as client:
        yield client, client.get("/openapi.json").json()


def _check(response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert body.get("error") or body.get("detail"), body


def test_every_json_operation_of_the_schema_is_fuzzed(api) -> None:
    client, schema = api
    posts = [p for p, ops in schema["paths"].items() if "post" in ops]
    assert posts == ["/v1/predict", "/v1/predict/bulk"]  # a new operation wants its fuzz test


@RUNS
@given(data=st.data())
def test_predict_bodies_from_the_schema_never_get_a_5xx(api, data) -> None:
    client, schema = api
    operation = schema["paths"]["/v1/predict"]["post"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    body = data.draw(from_schema(body_schema, schema["components"]["schemas"]))
    response = client.post("/v1/predict", json=body)
    _check(response)
    if response.status_code == 422 and isinstance(body, dict):
        assert "field" in response.json()


@RUNS
@given(
    raw=st.binary(max_size=400),
    content_type=st.sampled_from(
        ["application/json", "text/csv", "application/x-ndjson", "text/plain", "", "a/b; x=="]
    ),
)
def test_raw_bytes_never_get_a_5xx(api, raw: bytes, content_type: str) -> None:
    client, _ = api
    headers = {"content-type": content_type} if content_type else {}
    _check(client.post("/v1/predict", content=raw, headers=headers))
    _check(client.post("/v1/predict/bulk", content=raw, headers=headers))


@RUNS
@given(
    query=st.dictionaries(
        st.sampled_from(["format", "output", "rationale", "x"]), st.text(max_size=10), max_size=3
    ),
    rows=st.lists(st.dictionaries(st.sampled_from(["id", "text", "question", "y"]), json_values)),
    as_csv=st.booleans(),
)
def test_bulk_uploads_and_query_strings_never_get_a_5xx(api, query, rows, as_csv) -> None:
    import csv
    import io
    import json

    client, _ = api
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        for row in rows:
            writer.writerow([row.get("id", ""), row.get("text", "")])
        content, kind = out.getvalue().encode(), "text/csv"
    else:
        content = "\n".join(json.dumps(r) for r in rows).encode()
        kind = "application/x-ndjson"
    response = client.post(
        "/v1/predict/bulk", content=content, params=query, headers={"content-type": kind}
    )
    _check(response)
