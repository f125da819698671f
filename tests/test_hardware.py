"""Choice of device and number format."""

from __future__ import annotations

import pytest
import torch

from reason2decide import hardware
from reason2decide.errors import R2DError


def _cpu_flags(monkeypatch: pytest.MonkeyPatch, *, amx: bool, avx512_bf16: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)


def test_avx512_bf16_without_amx_counts_as_fast_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: an AMD EPYC with AVX-512 BF16 but no AMX trained in fp32, 1.7x slower.
    _cpu_flags(monkeypatch, amx=False, avx512_bf16=True)
    assert hardware.cpu_has_fast_bf16()
    assert hardware.resolve_precision("auto", "cpu") == "bf16"


def test_no_hardware_bf16_means_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    _cpu_flags(monkeypatch, amx=False, avx512_bf16=False)
    assert not hardware.cpu_has_fast_bf16()
    assert hardware.resolve_precision("auto", "cpu") == "fp32"


def test_explicit_precisions_pass_through_and_fp16_needs_a_gpu() -> None:
    assert hardware.resolve_precision("fp32", "cpu") == "fp32"
    assert hardware.resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(R2DError, match="fp16 needs a GPU"):
        hardware.resolve_precision("fp16", "cpu")
    with pytest.raises(R2DError, match="unknown precision"):
        hardware.resolve_precision("fp8", "cpu")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "cpu:-1:2", "GPU0"])
def test_a_device_name_torch_cannot_read_is_a_user_error(name) -> None:
    with pytest.raises(R2DError, match="not a device name") as info:
        hardware.check_device(name)
    assert info.value.field == "device"


def test_an_accelerator_this_machine_lacks_is_a_user_error(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for name in ("cuda", "cuda:1", "mps"):
        with pytest.raises(R2DError, match="not available on this machine") as info:
            hardware.check_device(name)
        assert info.value.field == "device"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    hardware.check_device("cuda:1")
    with pytest.raises(R2DError, match="2 CUDA device"):
        hardware.check_device("cuda:2")


def test_cpu_and_the_default_device_pass() -> None:
    for name in (None, "", "cpu", "cpu:0"):
        hardware.check_device(name)
