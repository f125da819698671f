"""Where a training step's time goes: a sampling profile of ``r2d train`` cut into parts.

Reads the collapsed stacks that ``py-spy record --format raw`` writes (one line per distinct
stack: ``frame;frame;...;frame COUNT``) and prints the share of the training loop's samples
spent in each part of a step: tokenising, the forward and backward passes, label prediction
(Stage 2 sampling), the optimizer, gradient clipping, the data loader, logging and callbacks,
validation. Samples outside the training loop (imports, loading, saving; other threads) and of
threads without Python frames are counted apart.

    py-spy record -r 50 --format raw -o sft.txt -- python -m reason2decide.cli train ...
    python benchmarks/profile_breakdown.py sft.txt [more.txt ...] [--json out.json]

py-spy is not a dependency of the project: ``pip install py-spy`` where it is wanted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

#: The part of a step a sample belongs to: the first rule (in this order) with a frame whose
#: text contains one of its fragments. Label prediction comes before forward (it runs the
#: model), tokenising before forward (it runs inside compute_loss).
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("validation", ("ObjectiveTrainer.evaluate", "Trainer.evaluate", "Trainer._evaluate")),
    ("checkpoint save", ("Trainer._save_checkpoint",)),
    ("label prediction", ("predict_labels_eval", "predict_labels (", "score_candidate")),
    (
        "tokenise + pad",
        (
            "encode_pairs",
            "_encode_prompts",
            "target_ids",
            "prompt_ids",
            "tokenization_utils",
            "_left_pad",
            "_decoder_tensors",
        ),
    ),  # fmt: skip
    ("backward", ("Accelerator.backward", "Tensor.backward")),
    ("forward + loss", ("compute_loss",)),
    ("gradient clipping", ("_clip_grad_norm", "clip_grad_norm")),
    ("optimizer", ("AcceleratedOptimizer.step", "Optimizer.step", "optimizer.py")),
    ("lr scheduler", ("lr_scheduler", "LambdaLR")),
    ("zero grad", ("zero_grad",)),
    ("data loader", ("get_batch_samples", "DataLoader", "dataloader", "data_loader")),
    ("logging + callbacks", ("callback_handler", "Trainer.log", "_maybe_log_save_evaluate")),
)
LOOP = "Trainer._inner_training_loop"
#: Samples of threads without Python frames (with ``--idle``: the math library's workers).
NATIVE = "threads without Python frames"


def read_stacks(paths: Iterable[Path]) -> list[tuple[list[str], int]]:
    """``(frames root first, samples)`` for every line of py-spy's raw output files."""
    stacks = []
    for path in paths:
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                raise SystemExit(f"{path}:{number}: not a py-spy raw line (stack COUNT)")
            # an empty stack: a thread with no Python frames (e.g. a math library's workers)
            stacks.append((stack.split(";") if stack else [], int(count)))
    return stacks


def part_of(frames: Sequence[str]) -> str:
    """The part of a training step a sampled stack is in, or ``outside the loop``."""
    if not frames:
        return NATIVE
    if not any(LOOP in f for f in frames):
        return "outside the loop"
    for name, fragments in PARTS:
        if any(fragment in frame for frame in frames for fragment in fragments):
            return name
    return "other (in the loop)"


def breakdown(stacks: Sequence[tuple[list[str], int]]) -> dict[str, int]:
    """Samples per part."""
    parts: Counter[str] = Counter()
    for frames, count in stacks:
        parts[part_of(frames)] += count
    return dict(parts)


def table(parts: dict[str, int]) -> str:
    """Markdown: each part's samples and its share of the loop (and of everything)."""
    total = sum(parts.values())
    loop = total - parts.get("outside the loop", 0) - parts.get(NATIVE, 0)
    order = [name for name, _ in PARTS] + ["other (in the loop)", "outside the loop", NATIVE]
    rows = ["| part | samples | % of loop | % of all |", "|---|---|---|---|"]
    for name in order:
        n = parts.get(name, 0)
        if not n:
            continue
        outside = name in ("outside the loop", NATIVE)
        in_loop = "" if outside else f"{100 * n / max(loop, 1):.1f}"
        rows.append(f"| {name} | {n} | {in_loop} | {100 * n / max(total, 1):.1f} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profiles", nargs="+", type=Path, help="py-spy --format raw files")
    parser.add_argument("--json", type=Path, help="also write the counts here")
    args = parser.parse_args(argv)
    parts = breakdown(read_stacks(args.profiles))
    print(table(parts))
    if args.json:
        args.json.write_text(json.dumps(parts, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
