"""Keeping freed memory: the allocator keeps a freed large block (and returns it without the
setting), and a training run takes the setting its config names."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from reason2decide.training import run as run_module

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the setting exists for glibc's malloc only",
)

_PROBE = """
import sys
import torch
from reason2decide.training.host_memory import keep_freed_memory

def resident_mib():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20

took = keep_freed_memory() if sys.argv[1] == "keep" else None
block = torch.ones(64 * 2**20)  # 256 MiB, written so that its pages are resident
before = resident_mib()
del block
print(took, before - resident_mib())
"""


def _freed_mib(mode: str) -> tuple[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], float(out[1])


@glibc
def test_a_freed_block_stays_with_the_process_only_when_kept():
    took, returned = _freed_mib("keep")
    assert took == "True"
    assert returned < 16  # the 256 MiB stay resident for the next step
    _, returned_default = _freed_mib("return")
    assert returned_default > 200  # glibc's default gives the block back at once


def test_a_run_keeps_freed_memory_as_its_config_says(monkeypatch, tmp_path):
    calls: list[bool] = []
    monkeypatch.setattr(run_module, "keep_freed_memory", lambda: calls.append(True) or True)

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(run_module, "prepare_output", stop)
    from reason2decide.training.config import TrainConfig

    for mode, expected in (("return", []), ("keep", [True])):
        calls.clear()
        config = TrainConfig(train=tmp_path / "t.jsonl", output=tmp_path / mode, host_memory=mode)
        with pytest.raises(Stop):
            run_module.Run.start(config)
        assert calls == expected
