"""Built-in data sources: PubMedQA, BioASQ, MedReason, MedMCQA, DDXPlus and the synthetic
triage demo (synth-triage), prepared reproducibly.

Raw files are read from a data directory (``--data-dir``, ``$R2D_DATA_DIR``, or ``../shared/data``
beside the current directory or the checkout); nothing is downloaded. synth-triage has no raw
files: it is generated from its seed. :func:`prepare` writes ``train.jsonl``, ``val.jsonl``,
``test.jsonl`` (the standard schema) and ``dataset.json``.
"""

from reason2decide.data.sources.base import (
    DATA_DIR_ENV,
    DEFAULT_SEED,
    BuiltSplits,
    OptionValue,
    SourceInfo,
    SourceOption,
    resolve_data_dir,
    split_examples,
)
from reason2decide.data.sources.prepare import (
    DATASET_FILE,
    PreparedDataset,
    build_source,
    prepare,
    prepared_record,
)
from reason2decide.data.sources.registry import (
    SOURCES,
    Source,
    get_source,
    resolve_options,
    source_names,
)

__all__ = [
    "DATASET_FILE",
    "DATA_DIR_ENV",
    "DEFAULT_SEED",
    "SOURCES",
    "BuiltSplits",
    "OptionValue",
    "PreparedDataset",
    "Source",
    "SourceInfo",
    "SourceOption",
    "build_source",
    "get_source",
    "prepare",
    "prepared_record",
    "resolve_data_dir",
    "resolve_options",
    "source_names",
    "split_examples",
]
