"""Run an ``r2d bench`` grid one (method, seed) at a time and keep each finished run, without its
weights, in a folder that outlives the machine (e.g. committed to git), so that a grid longer
than one sitting continues on another machine where the last one stopped.

    python benchmarks/bench_in_parts.py --keep benchmarks/results/GRID/runs [--commit] -- \\
        --data data/pubmedqa --output /scratch/GRID --config configs/pubmedqa-smollm2-cpu.yaml \\
        --methods r2d,sft,dss --seeds 0,1,2

Everything after ``--`` is passed to ``r2d bench``. Runs are taken seed by seed (every method of
seed 0 first), so that an interrupted grid has comparable runs. A kept run is copied back into
``--output`` before anything trains: the bench counts a run folder with its evaluation and
without its model as complete. Once every run is kept, the whole grid is benched once more,
which only writes the reports. ``--commit`` commits each kept run with git as it lands.
``--val-labels VAL`` scores the validation cases' labels with each finished run's model before
its weights are left behind (``RUN/val/predictions.jsonl``, labels only), so that decision rules
chosen on validation, such as ``benchmarks/prior_correction_study.py``, can be studied later.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

#: Folders and files of a run folder that are not kept: the weights and training checkpoints.
WEIGHT_DIRS = ("model",)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")
#: A kept run larger than this is a sign that weights slipped through.
MAX_KEPT_BYTES = 20_000_000


def bench_option(args: Sequence[str], name: str, default: str | None = None) -> str:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``args`` (``default`` when absent;
    without one, its absence is an error)."""
    flag = f"--{name}"
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    if default is None:
        raise SystemExit(f"bench_in_parts: the bench arguments need {flag}")
    return default


def method_seeds(method: str, seeds: Sequence[str], args: Sequence[str]) -> list[str]:
    """The seeds ``method`` runs for: all, except ``zero-shot-llm`` at temperature 0, which the
    bench evaluates once, in the first seed's folder."""
    if method == "zero-shot-llm" and float(bench_option(args, "llm-temperature", "0")) <= 0:
        return list(seeds[:1])
    return list(seeds)


def with_option(args: Sequence[str], name: str, value: str) -> list[str]:
    """``args`` with ``--name``'s value replaced by ``value``."""
    flag, out, skip = f"--{name}", [], False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == flag and i + 1 < len(args):
            skip = True
            continue
        if arg.startswith(flag + "="):
            continue
        out.append(arg)
    return [*out, flag, value]


def _ignore_weights(folder: str, names: list[str]) -> list[str]:
    ignored = []
    for name in names:
        path = Path(folder) / name
        is_weight_dir = path.is_dir() and (name in WEIGHT_DIRS or name.startswith("checkpoint"))
        if is_weight_dir or name.endswith(WEIGHT_SUFFIXES):
            ignored.append(name)
    return ignored


def keep_run(run: Path, kept: Path) -> int:
    """Copy ``run`` without weights or checkpoints to ``kept`` (replacing it, through a
    temporary folder beside it); its size in bytes."""
    partial = kept.with_name(kept.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(run, partial, ignore=_ignore_weights)
    size = sum(f.stat().st_size for f in partial.rglob("*") if f.is_file())
    if size > MAX_KEPT_BYTES:
        shutil.rmtree(partial)
        raise SystemExit(f"bench_in_parts: {run} is {size / 1e6:.0f} MB without its weights")
    shutil.rmtree(kept, ignore_errors=True)
    partial.rename(kept)
    return size


def restore(keep: Path, runs: Path) -> list[str]:
    """Copy every kept ``METHOD/seedN`` folder that ``runs`` lacks into it; their names."""
    restored = []
    for kept in sorted(keep.glob("*/seed*")):
        target = runs / kept.parent.name / kept.name
        if kept.is_dir() and not kept.name.endswith(".partial") and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(kept, target)
            restored.append(f"{kept.parent.name}/{kept.name}")
    return restored


def commit(path: Path, message: str, tries: int = 5) -> bool:
    """Commit ``path`` alone with git (other staged changes stay staged), trying again a few
    times while another git command holds the repository's lock; whether it was committed (a
    failure is said, and the grid goes on: the run is kept either way)."""
    path = path.resolve()
    for attempt in range(tries):
        add = subprocess.run(["git", "add", "--", str(path)], cwd=path.parent, capture_output=True)
        done = add.returncode == 0 and (
            subprocess.run(
                ["git", "commit", "-q", "-m", message, "--", str(path)],
                cwd=path.parent,
                capture_output=True,
            ).returncode
            == 0
        )
        if done:
            return True
        if attempt + 1 < tries:
            time.sleep(5 * (attempt + 1))
    print(f"bench_in_parts: could not commit {path}; commit it by hand", flush=True)
    return False


def score_val_labels(r2d: Sequence[str], run: Path, val: Path) -> None:
    """``RUN/val/predictions.jsonl``: the run model's labels and probabilities on ``val``."""
    if (run / "val" / "predictions.jsonl").is_file() or not (run / "model").is_dir():
        return
    evaluate = [*r2d, "evaluate", str(run), "--test", str(val), "--output", str(run / "val")]
    evaluate += ["--no-rationale", "--no-bertscore", "--no-faithfulness"]
    info = run / "model" / "reason2decide.json"
    if info.is_file() and (json.loads(info.read_text()).get("prior_correction") or {}).get("tau"):
        evaluate += ["--prior-tau", "0"]  # the model's own probabilities, not corrected ones
    subprocess.run(evaluate, check=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True, help="where finished runs are kept")
    parser.add_argument("--commit", action="store_true", help="git-commit each kept run")
    parser.add_argument(
        "--val-labels", type=Path, help="score these validation cases with each run's model"
    )
    parser.add_argument("bench", nargs=argparse.REMAINDER, help="-- then r2d bench's arguments")
    args = parser.parse_args(argv)
    bench = [a for a in args.bench if a != "--"] if args.bench[:1] == ["--"] else args.bench
    output = Path(bench_option(bench, "output"))
    methods = [m.strip() for m in bench_option(bench, "methods").split(",") if m.strip()]
    seeds = [s.strip() for s in bench_option(bench, "seeds").split(",") if s.strip()]
    runs = output / "runs"
    args.keep.mkdir(parents=True, exist_ok=True)
    for name in restore(args.keep, runs):
        print(f"bench_in_parts: restored {name} from {args.keep}", flush=True)
    r2d = [sys.executable, "-m", "reason2decide.cli"]
    for seed in seeds:
        for method in [m for m in methods if seed in method_seeds(m, seeds, bench)]:
            kept = args.keep / method / f"seed{seed}"
            if kept.is_dir():  # restored above: the final bench below counts it complete
                continue
            part = with_option(with_option(bench, "methods", method), "seeds", seed)
            subprocess.run([*r2d, "bench", *part], check=True)
            if args.val_labels is not None:
                score_val_labels(r2d, runs / method / f"seed{seed}", args.val_labels)
            kept.parent.mkdir(parents=True, exist_ok=True)
            size = keep_run(runs / method / f"seed{seed}", kept)
            print(f"bench_in_parts: kept {method} seed {seed} ({size / 1e6:.1f} MB)", flush=True)
            if args.commit:
                commit(
                    kept,
                    f"{output.name}: {method} seed {seed} finished (run kept without "
                    "weights, so that the grid continues on another machine)",
                )
    subprocess.run([*r2d, "bench", *bench], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
