"""The CLI's error boundary: a user error or a full disk is one line and exit status 2; any other
error keeps its traceback (a bug to report)."""

from __future__ import annotations

import errno
import os

import pytest

from reason2decide.cli.app import user_errors
from reason2decide.errors import R2DError


def _command(error: BaseException):
    @user_errors
    def command() -> None:
        raise error

    return command


def test_a_user_error_is_one_line_and_status_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        _command(R2DError("bad column", path="x.csv", line=3))()
    assert info.value.code == 2
    assert "error: x.csv:3: bad column" in capsys.readouterr().err


def test_a_full_disk_in_a_library_names_the_file_and_exits_2(capsys) -> None:
    path = "/runs/a/stage2/checkpoint-4/optimizer.pt"
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
    with pytest.raises(SystemExit) as info:
        _command(full)()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "checkpoint-4/optimizer.pt: no space left on the device" in err
    assert "the file was left as it was" not in err  # a library's write is not atomic


def test_other_errors_keep_their_traceback() -> None:
    with pytest.raises(OSError, match="I/O"):
        _command(OSError(errno.EIO, "I/O error"))()


@pytest.mark.parametrize(
    "code", [errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.EEXIST, errno.ENOENT]
)
def test_an_error_about_a_named_path_is_one_line_and_status_2(code, capsys) -> None:
    path = "/runs/a/predictions.jsonl"
    with pytest.raises(SystemExit) as info:
        _command(OSError(code, os.strerror(code), path))()
    assert info.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {path}: {os.strerror(code)}"


def test_a_path_error_without_a_path_and_other_errors_keep_their_traceback() -> None:
    with pytest.raises(PermissionError):
        _command(PermissionError(errno.EACCES, "Permission denied"))()
    with pytest.raises(ValueError, match="a bug"):
        _command(ValueError("a bug"))()
