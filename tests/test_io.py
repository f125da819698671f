"""Atomic writes and JSON reads: a not valid JSON and a full disk are named errors, and a
failed write leaves the earlier file as it was."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from reason2decide.errors import R2DError
from reason2decide.io import atomic_open, read_json, write_json, write_jsonl


def test_damaged_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(R2DError, match=r"run\.json:4: not valid JSON"):
        read_json(path)
    path.write_bytes(b'{"a": "\xff\xfe"}')
    with pytest.raises(R2DError, match="not UTF-8"):
        read_json(path)


def test_a_full_disk_is_a_named_error_and_the_old_file_stays(tmp_path, monkeypatch) -> None:
    path = tmp_path / "metrics.json"
    write_json(path, {"before": True})

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(R2DError, match=r"metrics\.json: no space left on the device"):
        write_json(path, {"after": True})
    assert read_json(path) == {"before": True}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left


def test_other_write_errors_pass_through_unchanged(tmp_path, monkeypatch) -> None:
    def denied(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", denied)
    with pytest.raises(OSError, match="I/O error"), atomic_open(tmp_path / "x.txt") as handle:
        handle.write("x")


def test_writing_past_a_real_full_disk_keeps_the_earlier_file(small_disk) -> None:
    disk = small_disk("64k")
    path = disk / "predictions.jsonl"
    write_jsonl(path, [{"id": "1", "label": "yes"}])
    rows = ({"id": str(i), "text": "x" * 1000} for i in range(200))  # 200 kB > 64 KiB
    with pytest.raises(R2DError, match=r"predictions\.jsonl: no space left on the device"):
        write_jsonl(path, rows)
    assert path.read_text() == '{"id": "1", "label": "yes"}\n'
    assert [p.name for p in disk.iterdir()] == ["predictions.jsonl"]
