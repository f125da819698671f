"""Property-based tests of the data readers: whatever bytes, encodings, quoting, field sizes or
value types a file holds, reading it returns examples or raises the project's error, never another
exception. The default run tries a few dozen files per format; ``-m slow`` runs the long form."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reason2decide.data.choices import ChoiceColumns
from reason2decide.data.readers import ColumnMap, read_examples
from reason2decide.errors import R2DError

QUICK = settings(
    max_examples=int(os.environ.get("R2D_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
LONG = settings(QUICK, max_examples=2000)

COLUMNS = ["id", "question", "label", "rationale", "opa", "opb", "options", "extra"]
MAPPINGS = [
    ColumnMap(),
    ColumnMap(rationale="rationale"),
    ColumnMap(template="{question} / {extra:optional}"),
    ColumnMap(choices=ChoiceColumns(columns=("opa", "opb"), answer_format="auto")),
    ColumnMap(choices=ChoiceColumns(column="options", sep="|", answer_format="letter")),
]

# values a JSON cell may hold: every JSON type, nested, odd numbers, control and astral characters
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
cells = st.one_of(
    st.sampled_from(["", " ", "yes", "no", "A", "B", "1", "0", "a|b", "x|x", '"', "\n"]),
    st.text(max_size=40),
    st.text(min_size=5000, max_size=5000, alphabet="ab \n,\"'"),
)
rows = st.lists(
    st.dictionaries(st.sampled_from(COLUMNS), json_values | cells, max_size=len(COLUMNS)),
    max_size=6,
)


def _read(path: Path, mapping: ColumnMap, require_label: bool) -> None:
    try:
        examples = read_examples(path, mapping, require_label=require_label)
    except R2DError as error:
        assert str(error)  # a message the user can read, naming the file
        assert path.name in str(error)
        return
    assert examples
    for example in examples:
        assert isinstance(example.question, str) and example.question
        assert isinstance(example.label, str)


def _write(suffix: str, data: bytes) -> Path:
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as handle:
        handle.write(data)
    return Path(handle.name)


def _check_bytes(data: bytes, suffix: str, mapping: ColumnMap, require_label: bool) -> None:
    path = _write(suffix, data)
    try:
        _read(path, mapping, require_label)
    finally:
        path.unlink()


def _jsonl(records: list[dict]) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


def _csv(records: list[dict], delimiter: str) -> bytes:
    out = io.StringIO()
    header = sorted({k for r in records for k in r}) or ["question"]
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    for record in records:
        writer.writerow(["" if record.get(k) is None else record.get(k) for k in header])
    return out.getvalue().encode()


ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"])


@QUICK
@given(
    data=st.binary(max_size=300),
    suffix=st.sampled_from([".jsonl", ".json", ".csv", ".tsv", ".parquet"]),
    mapping=st.sampled_from(MAPPINGS),
    require_label=st.booleans(),
)
def test_random_bytes_give_examples_or_a_named_error(data, suffix, mapping, require_label):
    _check_bytes(data, suffix, mapping, require_label)


@QUICK
@given(records=rows, mapping=st.sampled_from(MAPPINGS), require_label=st.booleans())
def test_any_json_values_give_examples_or_a_named_error(records, mapping, require_label):
    _check_bytes(_jsonl(records), ".jsonl", mapping, require_label)
    _check_bytes(json.dumps(records).encode(), ".json", mapping, require_label)


@QUICK
@given(
    records=rows,
    mapping=st.sampled_from(MAPPINGS),
    require_label=st.booleans(),
    encoding=ENCODINGS,
    suffix=st.sampled_from([".csv", ".tsv"]),
)
def test_any_delimited_text_gives_examples_or_a_named_error(
    records, mapping, require_label, encoding, suffix
):
    text = _csv(records, "\t" if suffix == ".tsv" else ",").decode()
    _check_bytes(text.encode(encoding, errors="replace"), suffix, mapping, require_label)


@QUICK
@given(records=rows, mapping=st.sampled_from(MAPPINGS), require_label=st.booleans())
def test_any_parquet_table_gives_examples_or_a_named_error(records, mapping, require_label):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table(
        {
            name: [None if r.get(name) is None else json.dumps(r.get(name)) for r in records]
            for name in sorted({k for r in records for k in r}) or ["question"]
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    _check_bytes(buffer.getvalue(), ".parquet", mapping, require_label)


@pytest.mark.slow
@LONG
@given(
    data=st.binary(max_size=2000),
    suffix=st.sampled_from([".jsonl", ".json", ".csv", ".tsv", ".parquet"]),
    mapping=st.sampled_from(MAPPINGS),
    require_label=st.booleans(),
)
def test_random_bytes_long_form(data, suffix, mapping, require_label):
    _check_bytes(data, suffix, mapping, require_label)


@pytest.mark.slow
@LONG
@given(records=rows, mapping=st.sampled_from(MAPPINGS), require_label=st.booleans())
def test_json_values_long_form(records, mapping, require_label):
    _check_bytes(_jsonl(records), ".jsonl", mapping, require_label)
