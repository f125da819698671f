"""Output paths checked before a command does its work, so that a path that cannot be written
fails at once rather than after a whole evaluation."""

from __future__ import annotations

from pathlib import Path

from reason2decide.errors import R2DError


def prepare_output_folder(path: Path, flag: str = "--output") -> Path:
    """Create the folder ``path`` (and its parents) unless it exists; refuse a file there."""
    if path.exists() and not path.is_dir():
        raise R2DError(
            "exists and is not a folder", path=path, field=flag, hint=f"give {flag} a folder"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise R2DError(f"cannot create the folder: {reason}", path=path, field=flag) from exc
    return path


def check_output_file(path: Path, flag: str = "--output") -> Path:
    """Refuse a file path that names a folder, or whose nearest existing parent is a file."""
    if path.is_dir():
        raise R2DError(
            "is a folder, not a file", path=path, field=flag, hint=f"give {flag} a file name"
        )
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise R2DError(f"{parent} is not a folder", path=path, field=flag)
    return path
