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
from reason2decide.training.host_memory import blocks_returned, keep_freed_memory

def resident_mib():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20

def freed_mib(mib=256):
    block = torch.ones(mib * 2**18)  # written, so that its pages are resident
    before = resident_mib()
    del block
    return before - resident_mib()

took = keep_freed_memory() if sys.argv[1] == "keep" else None
kept = freed_mib()
if sys.argv[1] == "keep":
    held = resident_mib()
    with blocks_returned():
        trimmed = held - resident_mib()
        inside = freed_mib(512)  # more than the kept heap's free 256 MiB can serve
    left = held - resident_mib()
    print(took, kept, trimmed, inside, left, freed_mib())
else:
    print(took, kept)
"""


def _probe(mode: str) -> list[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()


@glibc
def test_a_freed_block_stays_with_the_process_only_when_kept():
    took, kept, trimmed, inside, left, kept_again = _probe("keep")
    assert took == "True"
    assert float(kept) < 16  # the 256 MiB stay resident for the next step
    assert float(trimmed) < 16  # entering validation hands nothing back yet
    assert float(inside) > 200  # while validating, a large block goes back when freed
    assert float(left) > 200  # leaving hands back the heap's free pages (the kept block's)
    assert float(kept_again) < 16  # and after it, freed memory is kept again
    _, returned_default = _probe("return")
    assert float(returned_default) > 200  # glibc's default gives the block back at once


class _Recorder:
    """A stand-in C library that records the allocator calls made to it."""

    def __init__(self):
        self.calls: list[tuple] = []

    def mallopt(self, option, value):
        self.calls.append(("mallopt", option, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim",))
        return 1


def test_nested_blocks_switch_only_at_the_outermost(monkeypatch):
    from reason2decide.training import host_memory

    libc = _Recorder()
    monkeypatch.setattr(host_memory, "_kept", libc)
    with host_memory.blocks_returned():
        entered = len(libc.calls)
        with host_memory.blocks_returned():
            pass
        assert len(libc.calls) == entered  # the inner block neither switched nor trimmed
    assert libc.calls[-1] == ("malloc_trim",) and len(libc.calls) == entered + 2
    assert host_memory._depth == 0


def test_returning_blocks_calls_nothing_where_memory_is_not_kept(monkeypatch):
    from reason2decide.training import host_memory

    monkeypatch.setattr(host_memory, "_kept", None)
    ran = []
    with host_memory.blocks_returned():
        ran.append(True)
    host_memory.return_freed_memory()
    assert ran == [True] and host_memory._depth == 0


def test_return_undoes_keep(monkeypatch):
    from reason2decide.training import host_memory

    libc = _Recorder()
    monkeypatch.setattr(host_memory, "_kept", libc)
    host_memory.return_freed_memory()
    assert ("mallopt", host_memory._M_MMAP_MAX, host_memory._MMAP_MAX_DEFAULT) in libc.calls
    assert host_memory._kept is None
    with host_memory.blocks_returned():  # no longer kept: nothing to switch
        pass
    assert libc.calls[-1] == ("malloc_trim",) and len(libc.calls) == 4


def test_a_run_keeps_freed_memory_as_its_config_says(monkeypatch, tmp_path):
    calls: list[str] = []
    monkeypatch.setattr(run_module, "keep_freed_memory", lambda: calls.append("keep") or True)
    monkeypatch.setattr(run_module, "return_freed_memory", lambda: calls.append("return"))

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(run_module, "prepare_output", stop)
    import torch

    from reason2decide.training.config import TrainConfig

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for mode, expected in (("return", ["return"]), ("keep", ["keep"])):
        calls.clear()
        config = TrainConfig(train=tmp_path / "t.jsonl", output=tmp_path / mode, host_memory=mode)
        with pytest.raises(Stop):
            run_module.Run.start(config)
        assert calls == expected


def test_validation_runs_with_large_blocks_returned(monkeypatch):
    from contextlib import contextmanager
    from types import SimpleNamespace

    import torch

    from reason2decide.training import trainer as trainer_module

    inside: list[bool] = []
    state = {"returning": False}

    @contextmanager
    def recording():
        state["returning"] = True
        yield
        state["returning"] = False

    monkeypatch.setattr(trainer_module, "blocks_returned", recording)

    class Objective:
        def validate(self, model, examples):
            inside.append(state["returning"])
            return {"macro_f1": 0.5}

    trainer = trainer_module.ObjectiveTrainer.__new__(trainer_module.ObjectiveTrainer)
    trainer.precision, trainer.args = "fp32", SimpleNamespace(device=torch.device("cpu"))
    trainer.objective, trainer.model, trainer.val_examples = Objective(), None, []
    trainer.log = lambda metrics: None
    trainer.state = trainer.control = None
    trainer.callback_handler = SimpleNamespace(on_evaluate=lambda *a, **k: None)
    metrics = trainer.evaluate()
    assert inside == [True] and metrics["eval_macro_f1"] == 0.5
