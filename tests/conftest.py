"""Test-wide settings (never touch the network) and fixtures every test folder shares."""

from __future__ import annotations

import gc
import os
import subprocess

import pytest

# Tests must run offline: a hub lookup would hang on retries instead of failing fast.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def small_disk(tmp_path):
    """``small_disk(size)``: a tmpfs of ``size`` (e.g. "64k", "16m") mounted under ``tmp_path``,
    unmounted after the test; skipped with the reason where this machine cannot mount one (needs
    root)."""
    mounts = []

    def mount(size: str):
        where = tmp_path / f"disk-{len(mounts)}"
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            reason = done.stderr.strip() or done.returncode
            pytest.skip(f"cannot mount a small tmpfs here: {reason}")
        mounts.append(where)
        return where

    yield mount
    # Objects of the test that still map files of the disk (safetensors weights) keep it busy
    # until collected; a lazy unmount detaches it even so, so no test leaves a mount behind.
    gc.collect()
    for where in mounts:
        if subprocess.run(["umount", str(where)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "--lazy", str(where)], check=False)
