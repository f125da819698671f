"""Which device and number format to compute in."""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator

import torch

from reason2decide.errors import R2DError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def check_device(device: str | None) -> None:
    """Refuse a device name torch cannot read, or an accelerator this machine does not have,
    before a model is loaded onto it (``None`` or ``""``: the default device)."""
    if not device:
        return
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise R2DError(
            f"'{device}' is not a device name", field="device", hint="cpu, cuda, cuda:1, mps"
        ) from exc
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise R2DError(
                f"'{device}': CUDA is not available on this machine",
                field="device",
                hint="use --device cpu",
            )
        if parsed.index is not None and parsed.index >= count:
            raise R2DError(
                f"'{device}': this machine has {count} CUDA device(s), numbered from 0",
                field="device",
            )
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise R2DError(
            f"'{device}': MPS (Apple GPU) is not available on this machine",
            field="device",
            hint="use --device cpu",
        )
    elif parsed.type not in ("cpu", "cuda", "mps"):
        backend = getattr(torch, parsed.type, None)
        available = getattr(backend, "is_available", None)
        if callable(available) and not available():
            raise R2DError(
                f"'{device}': {parsed.type} is not available on this machine",
                field="device",
                hint="use --device cpu",
            )


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else what platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_has_fast_bf16() -> bool:
    """True when the CPU multiplies bf16 matrices in hardware (AVX-512 BF16, with or without AMX).

    On such CPUs bf16 autocast trains faster than fp32: measured ~8x on a 2-core Xeon with AMX
    tiles, and 1.5-1.8x on a 2-core AMD EPYC with AVX-512 BF16 but no AMX (a smollm2-135m step
    of 8 x 256 tokens: 14.7 s fp32, 8.4 s bf16). Elsewhere bf16 would be emulated and slow.
    """
    try:
        return bool(torch.cpu._is_avx512_bf16_supported())
    except (AttributeError, RuntimeError):  # private helpers: absent in some torch builds
        return False


def resolve_precision(precision: str, device: str | torch.device | None = None) -> str:
    """Turn "auto" into fp32 or bf16 for ``device`` (default: CUDA when present, else CPU).

    "auto" is bf16 on a GPU that supports it and on a CPU with hardware bf16, else fp32.
    """
    if precision not in PRECISIONS:
        raise R2DError(f"unknown precision '{precision}'", hint=f"choose from {PRECISIONS}")
    kind = torch.device(device).type if device is not None else None
    if kind is None:
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    if precision == "auto":
        if kind == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        return "bf16" if kind == "cpu" and cpu_has_fast_bf16() else "fp32"
    if precision == "fp16" and kind != "cuda":
        raise R2DError("fp16 needs a GPU", field="precision", hint="use bf16 or fp32 on a CPU")
    return precision


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """Autocast to ``precision`` ("bf16"/"fp16") on ``device``; a no-op for fp32."""
    if precision == "fp32":
        yield
        return
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def no_grad_context(precision: str) -> contextlib.AbstractContextManager:
    """The gradient-free context for inference at ``precision``.

    ``torch.inference_mode`` turns off autocast's cache of low-precision weight copies, so
    under bf16/fp16 autocast every forward pass (every generated token) would cast every weight
    again; ``no_grad`` keeps the cache for the whole context. Measured on the 2-core Xeon, bf16,
    minilm-bert2bert: 48 rationales of up to 64 tokens took 5.6 s under ``no_grad`` against
    7.4-9.5 s under ``inference_mode``, with identical outputs. In fp32 there is nothing to
    cast and ``inference_mode`` is the cheaper one.
    """
    return torch.inference_mode() if precision == "fp32" else torch.no_grad()
