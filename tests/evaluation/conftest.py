"""Evaluation tests run offline: the Hugging Face hub must never be contacted."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
