"""Time SFT, Stage 1 and Stage 2 of this project beside the reference code, step by step.

The reference is the official Reason2Decide code (``quamranhasan/Reason2Decide`` at commit
:data:`REFERENCE_COMMIT`), run unmodified from a local checkout with a Python of its own pinned
environment; neither is part of this project (docs/performance.md, "Side by side with the
reference code", says how to obtain both). Both sides read the same inputs, built once into
``--work``: PubMedQA PQA-L train/val (450/50), an 8000-piece sentencepiece tokenizer and a random
T5 of t5-small's shape (``--tiny``: a very small T5, for checking this script).

Each stage runs alternately, reference then ours, ``--pairs`` times, each run starting once the
machine is quiet. Every step of both is timed the same way from the outside: the arrival time on
stderr of each progress-bar redraw ``" k/N ["``, step k = t(k) - t(k-1), step 1 dropped, median
over the steps. Stage 2 also reports the steps before and after label sampling starts apart.
Peak memory: the main process's peak resident set (``/usr/bin/time -v`` where present) and,
with ``--tree-pss``, the peak proportional set size summed over its process tree (data-loader
workers included). Reading the PSS walks the page tables of the measured processes twice a
second and stalls them meanwhile (~30 ms at 3 GiB on the 2-core EPYC: both sides' steps ~5 %
slower), so it is off by default; neither side's training forks workers here.

  python benchmarks/vs_reference.py --reference-repo ../ref/Reason2Decide \\
      --reference-python ../ref/venv/bin/python --work ../vs-reference
  python benchmarks/vs_reference.py ... --tiny --sft-steps 6 --stage1-steps 6 \\
      --stage2-steps 20 --pairs 1          # the script's own check, a few minutes on a CPU

Writes ``vs_reference.json`` (settings, machine, versions, commits, every run's raw redraw and
step times) and ``vs_reference.md`` (the table) into ``--out`` (default: ``--work``).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outside_timing import machine, median, run_one, wait_until_quiet

REFERENCE_REPO = "quamranhasan/Reason2Decide"
REFERENCE_COMMIT = "b90bd7447afe042d318b3f5231b4a454125ab431"
REFERENCE_SCRIPTS = {
    "sft": "src/sft/train_sft.py",
    "stage1": "src/r2d/train_stage1.py",
    "stage2": "src/r2d/train_stage2.py",
}
STAGES = ("sft", "stage1", "stage2")
STAGE_TITLES = {"sft": "SFT", "stage1": "Stage 1", "stage2": "Stage 2"}
#: Precision of each stage as the reference ships it (SFT and Stage 2 set ``bf16=True``, which
#: is bf16 autocast on a CPU; Stage 1 has no such flag); ours is run at the same.
REFERENCE_PRECISION = {"sft": "bf16", "stage1": "fp32", "stage2": "bf16"}
SIDES = ("reference", "ours")
#: t5-small's shape, and a very small one for checking this script.
MODEL_SHAPES: dict[str, dict[str, Any]] = {
    "t5-small": {"d_model": 512, "d_ff": 2048, "d_kv": 64, "num_layers": 6, "num_heads": 8},
    "tiny": {"d_model": 64, "d_ff": 128, "d_kv": 16, "num_layers": 2, "num_heads": 4},
}
TOKENIZER_VOCAB = 8000
#: Both sides' Stage-2 schedule as a share of its steps: W = int(0.05·T), M = int(0.6·T).
ALPHA_WARMUP_FRACTION = 0.05
RAMP_FRACTION = 0.6
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

# --------------------------------------------------------------------------------------------
# Step times per part of a stage, and the table
# --------------------------------------------------------------------------------------------


def sampling_start(max_steps: int) -> int:
    """The first progress-bar step of Stage 2 that predicts labels, on both sides: the step at
    0-based index s predicts once p(s) = min(0.9, (s - W) / M) > 0, i.e. from s = W + 1 (for
    M > 0, which holds from T = 2 on)."""
    return int(ALPHA_WARMUP_FRACTION * max_steps) + 2


def split_steps(steps: dict[int, float], first_sampling: int) -> dict[str, list[float]]:
    """Step times in step order: all of them, those before ``first_sampling`` and from it on."""
    ordered = sorted(steps)
    return {
        "all": [steps[k] for k in ordered],
        "before": [steps[k] for k in ordered if k < first_sampling],
        "after": [steps[k] for k in ordered if k >= first_sampling],
    }


def ratio(reference: float | None, ours: float | None) -> float | None:
    """reference ÷ ours (above 1: ours is faster), or None when either is missing."""
    if reference is None or ours is None or ours <= 0:
        return None
    return reference / ours


def stage_rows(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per measured part (SFT, Stage 1, Stage 2 all / before / with sampling): both
    sides' median s/step over all their runs' steps, the per-pair ratios reference ÷ ours and
    each side's peak memory. ``runs`` are the run records of :func:`run_one`."""
    rows = []
    for stage in STAGES:
        mine = [r for r in runs if r["stage"] == stage and r.get("step_s")]
        if not mine:
            continue
        parts = [("all", STAGE_TITLES[stage])]
        if stage == "stage2":
            parts = [
                ("before", "Stage 2 before sampling"),
                ("after", "Stage 2 with sampling"),
                ("all", "Stage 2, all steps"),
            ]
        pairs = sorted({r["pair"] for r in mine})
        for part, title in parts:
            row: dict[str, Any] = {"stage": stage, "part": part, "title": title}
            for side in SIDES:
                steps = [s for r in mine if r["side"] == side for s in r["split_s"][part]]
                row[side] = {
                    "median_s": median(steps),
                    "steps": len(steps),
                    "peak_rss_mib": max_of(r["peak_rss_mib"] for r in mine if r["side"] == side),
                    "peak_tree_mib": max_of(
                        r["peak_tree_pss_mib"] for r in mine if r["side"] == side
                    ),
                }
            row["ratio"] = ratio(row["reference"]["median_s"], row["ours"]["median_s"])
            row["pair_ratios"] = []
            for pair in pairs:
                by_side = {r["side"]: r for r in mine if r["pair"] == pair}
                if set(by_side) == set(SIDES):
                    row["pair_ratios"].append(
                        ratio(
                            median(by_side["reference"]["split_s"][part]),
                            median(by_side["ours"]["split_s"][part]),
                        )
                    )
            rows.append(row)
    return rows


def max_of(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _memory(side: dict[str, Any]) -> str:
    rss, tree = side["peak_rss_mib"], side["peak_tree_mib"]
    if rss is None:
        return "–"
    return f"{rss / 1024:.2f}" + (f" ({tree / 1024:.2f})" if tree is not None else "")


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The Markdown table of :func:`stage_rows`."""
    lines = [
        "| step | reference s/step | ours s/step | reference ÷ ours (per pair) "
        "| peak GiB, reference | peak GiB, ours |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        pairs = " / ".join(_num(r) for r in row["pair_ratios"])
        ref, ours = row["reference"], row["ours"]
        lines.append(
            f"| {row['title']} | {_num(ref['median_s'])} | {_num(ours['median_s'])} "
            f"| {_num(row['ratio'])} ({pairs or '–'}) | {_memory(ref)} | {_memory(ours)} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# The shared inputs
# --------------------------------------------------------------------------------------------

#: Run by the reference's Python: the sentencepiece tokenizer, and its ids of strings.
REFERENCE_SNIPPET = r"""
import json, os, sys
command = sys.argv[1]
if command == "tokenizer":
    import sentencepiece as spm
    from transformers import T5Tokenizer, T5TokenizerFast
    corpus, folder, vocab = sys.argv[2], sys.argv[3], int(sys.argv[4])
    os.makedirs(folder, exist_ok=True)
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=os.path.join(folder, "spiece"), vocab_size=vocab,
        model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        character_coverage=1.0, minloglevel=2,
    )
    T5Tokenizer(os.path.join(folder, "spiece.model")).save_pretrained(folder)
    T5TokenizerFast.from_pretrained(folder, from_slow=True).save_pretrained(folder)
elif command == "encode":
    from transformers import T5Tokenizer
    tokenizer = T5Tokenizer.from_pretrained(sys.argv[2])
    strings = json.load(open(sys.argv[3], encoding="utf-8"))
    json.dump([tokenizer(s)["input_ids"] for s in strings], open(sys.argv[4], "w"))
elif command == "versions":
    import torch, transformers
    print(json.dumps({"python": sys.version.split()[0], "torch": torch.__version__,
                      "transformers": transformers.__version__}))
"""

#: Run by our Python: the random model, the Stage-1 weights as safetensors, and ids of strings.
OURS_SNIPPET = r"""
import json, shutil, sys
command = sys.argv[1]
if command == "model":
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration
    tokenizer_dir, folder, shape = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tokenizer), num_decoder_layers=shape["num_layers"],
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        feed_forward_proj="relu", tie_word_embeddings=True, **shape,
    )
    model = T5ForConditionalGeneration(config)
    model.save_pretrained(folder)
    print(json.dumps({"parameters": sum(p.numel() for p in model.parameters()),
                      "vocab_size": len(tokenizer)}))
elif command == "convert":
    # the reference saves pytorch_model.bin; both sides read the same weights as safetensors
    from transformers import T5ForConditionalGeneration
    model = T5ForConditionalGeneration.from_pretrained(sys.argv[2], use_safetensors=False)
    model.save_pretrained(sys.argv[3])
elif command == "encode":
    from reason2decide.backbones import load_backbone
    tokenizer = load_backbone(sys.argv[2]).tokenizer
    strings = json.load(open(sys.argv[3], encoding="utf-8"))
    json.dump([tokenizer(s)["input_ids"] for s in strings], open(sys.argv[4], "w"))
elif command == "versions":
    import torch, transformers
    print(json.dumps({"python": sys.version.split()[0], "torch": torch.__version__,
                      "transformers": transformers.__version__}))
"""

TOKENIZER_FILES = (
    "spiece.model",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def pubmedqa_records(folder: Path) -> tuple[list[dict[str, str]], list[dict[str, str]], list[str]]:
    """PQA-L train (first 450) and val (last 50) of the 500 labelled ids outside
    ``test_ground_truth.json``, in file order, as question/label/rationale records; and the
    tokenizer's corpus: every question, context and long answer of all of PQA-L."""
    source = folder / "ori_pqal.json"
    test = folder / "test_ground_truth.json"
    for path in (source, test):
        if not path.is_file():
            raise SystemExit(f"{path}: not found; give --data-dir (or R2D_DATA_DIR) holding it")
    cases = json.loads(source.read_text(encoding="utf-8"))
    held_out = set(json.loads(test.read_text(encoding="utf-8")))
    records, corpus = [], []
    for pmid, case in cases.items():
        corpus += [case["QUESTION"], *case["CONTEXTS"], case["LONG_ANSWER"]]
        if pmid in held_out:
            continue
        question = case["QUESTION"] + " " + " ".join(case["CONTEXTS"])
        records.append(
            {
                "question": question,
                "label": case["final_decision"],
                "rationale": case["LONG_ANSWER"],
            }
        )
    if len(records) != 500:
        raise SystemExit(f"{source}: expected 500 ids outside the test set, found {len(records)}")
    return records[:450], records[450:], corpus


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")


def check_call(command: Sequence[str], env: dict[str, str], what: str) -> str:
    """Run ``command``; its stdout, or SystemExit with its stderr's end."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


@dataclass
class Sides:
    """How to run each side: Pythons, environments, the reference checkout."""

    reference_python: str
    reference_repo: Path
    ours_python: str
    ours_repo: Path
    work: Path
    env: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        base.update(OFFLINE_ENV, PYTHONUNBUFFERED="1")
        ours_path = [str(self.ours_repo / "src")]
        if os.environ.get("PYTHONPATH"):
            ours_path.append(os.environ["PYTHONPATH"])
        self.env = {
            "reference": {**base, "HF_HOME": str(self.work / "hf_home" / "reference")},
            "ours": {
                **base,
                "HF_HOME": str(self.work / "hf_home" / "ours"),
                "PYTHONPATH": os.pathsep.join(ours_path),
            },
        }

    def snippet(self, side: str, *args: str) -> str:
        python = self.reference_python if side == "reference" else self.ours_python
        code = REFERENCE_SNIPPET if side == "reference" else OURS_SNIPPET
        return check_call([python, "-c", code, *args], self.env[side], f"{side} {args[0]}")


def build_inputs(sides: Sides, data_dir: Path, shape: str) -> dict[str, Any]:
    """The shared data, tokenizer and random model under ``work/inputs`` (each reused when a
    former call finished it), and the check that both sides' tokenizers give the same ids."""
    inputs = sides.work / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    train, val, corpus = pubmedqa_records(data_dir)
    write_jsonl(inputs / "train.jsonl", train)
    write_jsonl(inputs / "val.jsonl", val)

    tokenizer = inputs / "tokenizer"
    if not (tokenizer / "tokenizer.json").is_file():
        print(f"building the tokenizer in {tokenizer}", flush=True)
        corpus_file = inputs / "corpus.txt"
        corpus_file.write_text("\n".join(" ".join(t.split()) for t in corpus) + "\n", "utf-8")
        partial = inputs / "tokenizer.partial"
        shutil.rmtree(partial, ignore_errors=True)
        vocab = str(TOKENIZER_VOCAB)
        sides.snippet("reference", "tokenizer", str(corpus_file), str(partial), vocab)
        shutil.rmtree(tokenizer, ignore_errors=True)
        partial.rename(tokenizer)

    model = inputs / f"model-{shape}"
    done = model / "inputs.json"
    if not done.is_file():
        print(f"building the random {shape} model in {model}", flush=True)
        shutil.rmtree(model, ignore_errors=True)
        made = json.loads(
            sides.snippet(
                "ours", "model", str(tokenizer), str(model), json.dumps(MODEL_SHAPES[shape])
            )
        )
        for name in TOKENIZER_FILES:
            shutil.copy(tokenizer / name, model / name)
        strings = [s for r in train for s in (r["question"], r["label"], r["rationale"])]
        ids = {}
        (inputs / "strings.json").write_text(json.dumps(strings), "utf-8")
        for side in SIDES:
            out = inputs / f"ids-{side}.json"
            sides.snippet(side, "encode", str(model), str(inputs / "strings.json"), str(out))
            ids[side] = json.loads(out.read_text())
        same = sum(a == b for a, b in zip(ids["reference"], ids["ours"], strict=True))
        made["tokenizer_check"] = {"strings": len(strings), "identical_ids": same}
        if same != len(strings):
            print(f"WARNING: the two sides' tokenizers differ on {len(strings) - same} of "
                  f"{len(strings)} strings", file=sys.stderr)  # fmt: skip
        made["shape"] = {"name": shape, **MODEL_SHAPES[shape]}
        done.write_text(json.dumps(made, indent=2))
    record = json.loads(done.read_text())
    return {
        "train": str(inputs / "train.jsonl"),
        "val": str(inputs / "val.jsonl"),
        "train_examples": len(train),
        "val_examples": len(val),
        "tokenizer": str(tokenizer),
        "model": str(model),
        **record,
    }


def stage2_init(sides: Sides, reference_stage1_output: Path, base_model: Path) -> Path:
    """A model folder with the reference's Stage-1 weights (as safetensors) and the shared
    tokenizer: where Stage 2 of both sides starts."""
    init = sides.work / "inputs" / f"stage2-init-{base_model.name}"
    shutil.rmtree(init, ignore_errors=True)
    sides.snippet("ours", "convert", str(reference_stage1_output), str(init))
    for name in TOKENIZER_FILES:
        shutil.copy(base_model / name, init / name)
    return init


# --------------------------------------------------------------------------------------------
# Running and measuring one run
# --------------------------------------------------------------------------------------------


@dataclass
class Settings:
    steps: dict[str, int]
    batch_size: int = 8
    max_input_length: int = 256
    max_target_length: int = 256
    seed: int = 42

    def eval_steps(self, stage: str) -> int:
        """An evaluation (and saving) interval beyond the last step: none inside the timing."""
        return self.steps[stage] + 1


def reference_command(
    stage: str, sides: Sides, settings: Settings, model: Path, train: str, val: str, out: Path
) -> list[str]:
    """The reference script of ``stage`` with its own flags."""
    command = [sides.reference_python, str(sides.reference_repo / REFERENCE_SCRIPTS[stage])]
    command += ["--train_file", train, "--valid_file", val]
    command += ["--stage1_model_dir" if stage == "stage2" else "--model_name", str(model)]
    command += ["--output_dir", str(out), "--batch_size", str(settings.batch_size)]
    command += ["--max_steps", str(settings.steps[stage])]
    command += ["--eval_steps", str(settings.eval_steps(stage))]
    command += ["--max_input_length", str(settings.max_input_length), "--grad_steps", "1"]
    command += ["--seed", str(settings.seed)]
    if stage == "stage1":
        command += ["--max_output_length", str(settings.max_target_length)]
    return command


def ours_command(
    stage: str, sides: Sides, settings: Settings, model: Path, train: str, val: str, out: Path
) -> list[str]:
    """``r2d train`` with the settings of the reference run of ``stage``."""
    command = [sides.ours_python, "-m", "reason2decide.cli", "train"]
    command += ["--train", train, "--val", val, "-o", str(out)]
    command += ["--batch-size", str(settings.batch_size), "--seed", str(settings.seed)]
    command += ["--max-input-length", str(settings.max_input_length)]
    command += ["--max-target-length", str(settings.max_target_length)]
    command += ["--precision", REFERENCE_PRECISION[stage]]
    steps, every = str(settings.steps[stage]), str(settings.eval_steps(stage))
    if stage == "sft":
        command += ["--method", "sft", "--model", str(model)]
        command += ["--max-steps", steps, "--eval-steps", every]
    elif stage == "stage1":
        command += ["--method", "r2d", "--stage", "1", "--model", str(model)]
        command += ["--stage1-max-steps", steps, "--stage1-eval-steps", every]
    else:
        command += ["--method", "r2d", "--stage", "2", "--init", str(model)]
        command += ["--max-steps", steps, "--eval-steps", every]
        command += ["--alpha-warmup-fraction", str(ALPHA_WARMUP_FRACTION)]
        command += ["--ramp-fraction", str(RAMP_FRACTION)]
    return command


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else None


def reference_record(repo: Path) -> dict[str, Any]:
    """The checkout's commit and the hashes of the three scripts that run."""
    hashes = {}
    for stage, script in REFERENCE_SCRIPTS.items():
        path = repo / script
        if not path.is_file():
            raise SystemExit(f"{path}: not found; --reference-repo must be a checkout of "
                             f"{REFERENCE_REPO} at {REFERENCE_COMMIT}")  # fmt: skip
        hashes[stage] = hashlib.sha256(path.read_bytes()).hexdigest()
    commit = git(repo, "rev-parse", "HEAD")
    if commit != REFERENCE_COMMIT:
        print(f"WARNING: {repo} is at commit {commit}, not {REFERENCE_COMMIT}", file=sys.stderr)
    modified = git(repo, "status", "--porcelain", "--", "src")
    return {"repo": REFERENCE_REPO, "commit": commit, "expected_commit": REFERENCE_COMMIT,
            "scripts_modified": bool(modified), "scripts_sha256": hashes}  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reference-repo",
        type=Path,
        required=True,
        help=f"checkout of {REFERENCE_REPO} at {REFERENCE_COMMIT}",
    )
    parser.add_argument(
        "--reference-python",
        required=True,
        help="Python of the reference's own environment (docs/performance.md)",
    )
    parser.add_argument(
        "--ours-python",
        default=sys.executable,
        help="Python with this project's dependencies (default: this one); "
        "it imports reason2decide from this checkout's src/",
    )
    parser.add_argument(
        "--work", type=Path, required=True, help="work folder: inputs (reused), runs, logs"
    )
    parser.add_argument("--out", type=Path, help="where the JSON and table go (default: --work)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="folder of ori_pqal.json and test_ground_truth.json (default: $R2D_DATA_DIR/pubmedqa)",
    )
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset")
    parser.add_argument("--pairs", type=int, default=2, help="reference/ours pairs per stage")
    parser.add_argument("--sft-steps", type=int, default=30)
    parser.add_argument("--stage1-steps", type=int, default=30)
    parser.add_argument("--stage2-steps", type=int, default=40)
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="a very small T5 instead of t5-small's shape: checks the script",
    )
    parser.add_argument(
        "--quiet-cores",
        type=float,
        default=0.2,
        help="a run starts once fewer cores than this were busy ...",
    )
    parser.add_argument("--quiet-seconds", type=int, default=5, help="... for this many seconds")
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=600,
        help="start anyway (with a warning) after this many seconds",
    )
    parser.add_argument("--run-timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument(
        "--tree-pss",
        action="store_true",
        help="also poll the proportional set size of each run's process tree (data-loader "
        "workers counted once); reading it stalls the runs, ~5 %% slower steps at 3 GiB",
    )
    parser.add_argument(
        "--keep-outputs",
        action="store_true",
        help="keep each run's output folder (models); by default removed",
    )
    args = parser.parse_args(argv)
    args.stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(args.stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stage(s) {', '.join(sorted(unknown))}; choose from {STAGES}")
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    for stage in STAGES:
        if getattr(args, f"{stage}_steps") < 3:
            parser.error(f"--{stage}-steps must be at least 3 (step 1 is not timed)")
    if args.data_dir is None:
        root = os.environ.get("R2D_DATA_DIR")
        if not root:
            parser.error("give --data-dir or set R2D_DATA_DIR")
        args.data_dir = Path(root) / "pubmedqa"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    ours_repo = Path(__file__).resolve().parents[1]
    work = args.work.resolve()
    out_dir = (args.out or args.work).resolve()
    sides = Sides(
        reference_python=args.reference_python,
        reference_repo=args.reference_repo.resolve(),
        ours_python=args.ours_python,
        ours_repo=ours_repo,
        work=work,
    )
    reference = reference_record(sides.reference_repo)
    settings = Settings(
        steps={"sft": args.sft_steps, "stage1": args.stage1_steps, "stage2": args.stage2_steps}
    )
    shape = "tiny" if args.tiny else "t5-small"
    versions = {
        side: json.loads(sides.snippet(side, "versions").strip().splitlines()[-1]) for side in SIDES
    }
    inputs = build_inputs(sides, args.data_dir.resolve(), shape)
    model = Path(inputs["model"])
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions,
        "ours": {"commit": git(ours_repo, "rev-parse", "HEAD"),
                 "dirty": bool(git(ours_repo, "status", "--porcelain", "--", "src"))},
        "reference": reference,
        "settings": {
            "stages": args.stages, "pairs": args.pairs, "steps": settings.steps,
            "batch_size": settings.batch_size, "max_input_length": settings.max_input_length,
            "max_target_length": settings.max_target_length, "seed": settings.seed,
            "eval_steps": {s: settings.eval_steps(s) for s in STAGES},
            "precision": REFERENCE_PRECISION, "model_shape": shape,
            "stage2_W": int(ALPHA_WARMUP_FRACTION * settings.steps["stage2"]),
            "stage2_M": int(RAMP_FRACTION * settings.steps["stage2"]),
            "stage2_first_sampling_step": sampling_start(settings.steps["stage2"]),
            "quiet": {"cores": args.quiet_cores, "seconds": args.quiet_seconds,
                      "timeout_s": args.quiet_timeout},
        },
        "inputs": inputs,
        "runs": [],
    }  # fmt: skip
    builders = {"reference": reference_command, "ours": ours_command}
    init: Path | None = None
    for stage in args.stages:
        if stage == "stage2":
            init = init or stage1_for_stage2(sides, settings, inputs, args)
        start = init if stage == "stage2" else model
        assert start is not None
        for pair in range(args.pairs):
            for side in SIDES:
                name = f"{stage}-{side}-{pair}"
                run_dir = work / "runs" / name
                shutil.rmtree(run_dir, ignore_errors=True)
                command = builders[side](
                    stage, sides, settings, start, inputs["train"], inputs["val"], run_dir / "out"
                )
                quiet = wait_until_quiet(args.quiet_cores, args.quiet_seconds, args.quiet_timeout)
                print(f"{name}: running", flush=True)
                result = run_one(
                    command, sides.env[side], run_dir, settings.steps[stage],
                    work / "logs" / f"{name}.log", args.run_timeout, tree_pss=args.tree_pss,
                )  # fmt: skip
                result.update(stage=stage, side=side, pair=pair, quiet=quiet)
                first = sampling_start(settings.steps[stage]) if stage == "stage2" else 10**9
                result["split_s"] = split_steps(
                    {int(k): v for k, v in result["step_s"].items()}, first
                )
                result["median_s"] = {k: median(v) for k, v in result["split_s"].items()}
                report["runs"].append(result)
                print(f"{name}: exit {result['returncode']}, {result['wall_s']} s, median "
                      f"{_num(result['median_s']['all'], 3)} s/step, peak RSS "
                      f"{result['peak_rss_mib']} MiB", flush=True)  # fmt: skip
                if result["returncode"] != 0 or settings.steps[stage] not in result["redraw_s"]:
                    write_report(report, out_dir)
                    raise SystemExit(
                        f"{name} failed (exit {result['returncode']}, "
                        f"last redraw seen: step {max(result['redraw_s'], default=None)} of "
                        f"{settings.steps[stage]}); "
                        f"its log: {result['log']}"
                    )
                if stage == "stage1" and side == "reference" and init is None:
                    init = stage2_init(sides, run_dir / "out", model)
                if not args.keep_outputs:
                    shutil.rmtree(run_dir / "out", ignore_errors=True)
    write_report(report, out_dir)
    print(markdown_table(report["summary"]))
    return 0


def stage1_for_stage2(
    sides: Sides, settings: Settings, inputs: dict[str, Any], args: argparse.Namespace
) -> Path:
    """Stage 2's start when Stage 1 was not run now: a former call's, else an untimed
    reference Stage-1 run."""
    model = Path(inputs["model"])
    init = sides.work / "inputs" / f"stage2-init-{model.name}"
    if (init / "model.safetensors").is_file():
        print(f"Stage 2 starts from the former reference Stage-1 weights in {init}")
        return init
    run_dir = sides.work / "runs" / "stage1-reference-init"
    shutil.rmtree(run_dir, ignore_errors=True)
    command = reference_command(
        "stage1", sides, settings, model, inputs["train"], inputs["val"], run_dir / "out"
    )
    print("stage1-reference-init: running (untimed, for Stage 2's start)", flush=True)
    log = sides.work / "logs" / "stage1-reference-init.log"
    steps = settings.steps["stage1"]
    result = run_one(command, sides.env["reference"], run_dir, steps, log, args.run_timeout)
    if result["returncode"] != 0:
        raise SystemExit(f"the reference's Stage 1 failed; its log: {result['log']}")
    init = stage2_init(sides, run_dir / "out", model)
    shutil.rmtree(run_dir, ignore_errors=True)
    return init


def write_report(report: dict[str, Any], out_dir: Path) -> None:
    """``vs_reference.json`` and ``vs_reference.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report["summary"] = stage_rows(report["runs"])
    (out_dir / "vs_reference.json").write_text(json.dumps(report, indent=2) + "\n")
    settings, machine_ = report["settings"], report["machine"]
    modified = " (src modified)" if report["ours"]["dirty"] else ""
    header = (
        f"# This project beside the reference code\n\n"
        f"{report['date']}; {machine_['cpu']} ({machine_['logical_cpus']} logical CPUs); "
        f"reference: torch {report['versions']['reference']['torch']}, transformers "
        f"{report['versions']['reference']['transformers']}, commit "
        f"{(report['reference']['commit'] or '?')[:12]}; ours: torch "
        f"{report['versions']['ours']['torch']}, transformers "
        f"{report['versions']['ours']['transformers']}, commit "
        f"{(report['ours']['commit'] or '?')[:12]}{modified}."
        f"\n\nModel {settings['model_shape']}; batch {settings['batch_size']}, inputs ≤ "
        f"{settings['max_input_length']}, targets ≤ {settings['max_target_length']}; steps "
        f"SFT {settings['steps']['sft']}, Stage 1 {settings['steps']['stage1']}, Stage 2 "
        f"{settings['steps']['stage2']} (W = {settings['stage2_W']}, M = {settings['stage2_M']}, "
        f"sampling from step {settings['stage2_first_sampling_step']}); precision SFT "
        f"{settings['precision']['sft']}, Stage 1 {settings['precision']['stage1']}, Stage 2 "
        f"{settings['precision']['stage2']}; {settings['pairs']} pair(s) per stage. Median "
        f"seconds per step (step 1 dropped) over all runs of a side; ratios above 1: ours is "
        f"faster. Peak memory: the main process's peak resident set"
        + (
            " (in brackets: the peak of the proportional set size summed over its process "
            "tree, data-loader workers included; shared pages counted once)"
            if any(r.get("peak_tree_pss_mib") for r in report["runs"])
            else " (the process tree's proportional set size not polled: --tree-pss)"
        )
        + ".\n\n"
    )
    (out_dir / "vs_reference.md").write_text(header + markdown_table(report["summary"]))


if __name__ == "__main__":
    sys.exit(main())
