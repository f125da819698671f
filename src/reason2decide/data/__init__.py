"""Examples, readers, label sets and built-in data sources."""

from reason2decide.data.example import STANDARD_FIELDS, Example

__all__ = ["STANDARD_FIELDS", "Example"]
