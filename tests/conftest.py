"""Test-wide settings: never touch the network."""

from __future__ import annotations

import os

# Tests must run offline: a hub lookup would hang on retries instead of failing fast.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
