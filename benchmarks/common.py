"""Shared by the benchmark scripts: timing, peak memory, the machine description, tables."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from reason2decide.data.example import Example
from reason2decide.data.readers import read_examples
from reason2decide.data.sources.synth_triage import generate as synth_triage


def environment(device: torch.device) -> dict[str, Any]:
    """What a timing depends on: hardware, threads, versions, the commit."""
    import transformers

    from reason2decide.hardware import cpu_model

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    info: dict[str, Any] = {
        "device": str(device),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "commit": commit,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


#: Randomly initialised stand-ins of public architectures, for timing without network: the
#: shapes of t5-small and SmolLM2-135M, with the offline MiniLM tokenizer (30,522 tokens).
RANDOM_SHAPES = ("random:t5-small", "random:smollm2-135m")


def load_model(name: str, max_input_length: int, max_target_length: int) -> Any:
    """``load_backbone(name)``, or a random model of a :data:`RANDOM_SHAPES` shape."""
    from reason2decide.backbones import load_backbone

    if name not in RANDOM_SHAPES:
        return load_backbone(
            name, max_input_length=max_input_length, max_target_length=max_target_length
        )
    from transformers import (
        AutoTokenizer,
        LlamaConfig,
        LlamaForCausalLM,
        T5Config,
        T5ForConditionalGeneration,
    )

    from reason2decide.backbones import CausalBackbone, Seq2SeqBackbone
    from reason2decide.backbones.builtin import minilm_path

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    tokenizer.eos_token = tokenizer.sep_token
    ids = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.sep_token_id,
    }
    torch.manual_seed(0)
    if name == "random:t5-small":
        config = T5Config(
            d_model=512, d_ff=2048, d_kv=64, num_layers=6, num_heads=8, **ids,
            decoder_start_token_id=tokenizer.pad_token_id,
        )  # fmt: skip
        model: Any = T5ForConditionalGeneration(config)
        cls: Any = Seq2SeqBackbone
    else:
        config = LlamaConfig(
            hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
            num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
            tie_word_embeddings=True, bos_token_id=None, **ids,
        )  # fmt: skip
        model = LlamaForCausalLM(config)
        cls = CausalBackbone
    for key, value in ids.items():
        if key != "vocab_size":
            setattr(model.generation_config, key, value)
    if name == "random:t5-small":
        model.generation_config.decoder_start_token_id = tokenizer.pad_token_id
    return cls(
        model,
        tokenizer,
        name=name,
        max_input_length=max_input_length,
        max_target_length=max_target_length,
    )


def load_examples(path: Path | None, n: int, seed: int = 0) -> list[Example]:
    """``n`` examples from a prepared JSONL/CSV file (cycled if it has fewer), else synthetic
    triage cases."""
    if path is None:
        return synth_triage(n, seed=seed)
    rows = read_examples(path)
    return [rows[i % len(rows)] for i in range(n)]


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak-memory window (CUDA allocator, or the process's peak RSS on Linux)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    with contextlib.suppress(OSError):  # "5" resets VmHWM, the peak resident set size
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_mib(device: torch.device) -> float:
    """Peak memory since :func:`reset_peak_memory`: CUDA allocated, or resident set on a CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_function(
    backbone: Any,
    objective: Any,
    batches: list,
    step: int,
    precision: str,
    optimizer: torch.optim.Optimizer | None = None,
    dropout_masks: str = "fast",
) -> Callable[[int], None]:
    """``run(i)``: one optimisation step (forward under autocast and ``r2d train``'s
    ``--dropout-masks``, backward, AdamW) of ``objective`` at training step ``step`` on
    ``batches[i]`` (cycling)."""
    from reason2decide.hardware import autocast
    from reason2decide.training.dropout_masks import dropout_masks as masks

    model = backbone.model
    optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=1e-5)

    def run(i: int) -> None:
        model.train()
        with autocast(precision, backbone.device), masks(dropout_masks):
            out = objective.compute_loss(model, batches[i % len(batches)], step)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return run


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(
    function: Callable[[int], Any], repeats: int, warmup: int, device: torch.device
) -> list[float]:
    """Seconds of ``function(i)`` for ``i`` in ``warmup + repeats`` calls, warm-up dropped."""
    times = []
    for i in range(warmup + repeats):
        sync(device)
        started = time.perf_counter()
        function(i)
        sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - started)
    return times


def summary(times: Sequence[float], examples: int) -> dict[str, float]:
    """Median and min seconds, and examples per second at the median."""
    median = statistics.median(times)
    return {
        "median_s": round(median, 4),
        "min_s": round(min(times), 4),
        "examples_per_s": round(examples / median, 3),
    }


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain fixed-width table."""
    cells = [[str(c) for c in columns]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    print(title)
    for n, row in enumerate(cells):
        print(
            "  ".join(
                v.ljust(w) if i == 0 or n == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return "" if value is None else str(value)


def write_report(path: Path | None, report: dict[str, Any]) -> None:
    """Write ``report`` as JSON when a path was given."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {path}")
