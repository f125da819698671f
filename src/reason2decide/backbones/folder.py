"""Checks of a local model folder before transformers reads it, so that a damaged or foreign
folder is one named error (which file, what is wrong) instead of a library traceback."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from reason2decide.errors import R2DError

#: Files of which a model folder needs at least one to rebuild its tokenizer.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "spiece.model",
    "vocab.txt",
    "vocab.json",
)
#: Weights formats that are pickles: never loaded (unpickling runs arbitrary code).
PICKLED_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt")


def check_model_folder(folder: Path) -> None:
    """Refuse a folder that cannot be a loadable model: no ``config.json``, no tokenizer, weights
    only as pickles, or a safetensors file that is truncated or whose header is damaged."""
    if not (folder / "config.json").is_file():
        raise R2DError(
            "not a model folder: it has no config.json",
            path=folder,
            hint="point at the model/ folder of an r2d run, a transformers save_pretrained "
            "folder, or a .gguf file",
        )
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise R2DError(
            f"the model folder has no tokenizer (none of {', '.join(TOKENIZER_FILES)})",
            path=folder,
            hint="copy the tokenizer files saved with the model into the folder",
        )
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        pickled = sorted(p.name for pattern in PICKLED_WEIGHTS for p in folder.glob(pattern))
        detail = (
            f"weights only as pickles ({', '.join(pickled)}), which are never loaded"
            if pickled
            else "no weights file (*.safetensors)"
        )
        raise R2DError(
            f"the model folder has {detail}",
            path=folder,
            hint="save the model with save_pretrained(..., safe_serialization=True)",
        )
    for path in weights:
        check_safetensors(path)


def check_safetensors(path: Path) -> None:
    """Refuse a safetensors file whose header is unreadable or whose tensors run past its end
    (a copy or a write cut short)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise _damaged(path, f"{size} bytes, shorter than a safetensors header")
        (header_size,) = struct.unpack("<Q", prefix)
        if header_size > size - 8:
            raise _damaged(path, f"truncated: header of {header_size} bytes in a {size}-byte file")
        try:
            header = json.loads(handle.read(header_size))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _damaged(path, "its header is not valid JSON") from exc
    if not isinstance(header, dict):
        raise _damaged(path, "its header is not a table of tensors")
    ends = [
        entry["data_offsets"][1]
        for name, entry in header.items()
        if name != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry
    ]
    needed = 8 + header_size + max(ends, default=0)
    if needed > size:
        raise _damaged(path, f"truncated: {size} of {needed} bytes")


def _damaged(path: Path, detail: str) -> R2DError:
    return R2DError(
        f"damaged weights file: {detail}",
        path=path,
        hint="copy or save the model again; a checkpoint folder of the run may hold a good copy",
    )
