"""Learning curves of a recipe study: several runs, each from its own bench or run folder.

    python benchmarks/recipe_curves.py --out docs/img/recipes-pubmedqa.png \\
        "plain, lr 1e-4=runs/pqa-sft-a" "chat, lr 1e-4=runs/pqa-sft-chat"

Each argument is ``LABEL=FOLDER``; the folder's ``log_history.jsonl`` files (found recursively;
a bench folder holds one per run) give the decision stage's training loss and validation
accuracy and macro-F1 per step. A folder with several runs is drawn once per run. The figure has
three panels side by side; the script also prints the curves' last values as a table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reason2decide.bench.plots import LOG_FILE, curve, read_log
from reason2decide.io import atomic_open

PANELS = (
    ("loss", "training loss (decision stage)"),
    ("eval_accuracy", "validation accuracy"),
    ("eval_macro_f1", "validation macro-F1"),
)


def decision_stage(rows: list[dict]) -> str | None:
    """The last stage a log names (Stage 2 of a two-stage method, the only stage otherwise)."""
    stages = [row["stage"] for row in rows if "stage" in row]
    return stages[-1] if stages else None


def runs_of(label: str, folder: Path) -> list[tuple[str, list[dict]]]:
    """``(label, log rows)`` of every run under ``folder``."""
    logs = sorted(folder.rglob(LOG_FILE))
    found = []
    for path in logs:
        rows = read_log(path)
        if not rows:
            continue
        name = label if len(logs) == 1 else f"{label} ({path.parent.relative_to(folder)})"
        found.append((name, rows))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="LABEL=FOLDER")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    series = []
    for spec in args.runs:
        label, sep, folder = spec.partition("=")
        if not sep or not Path(folder).is_dir():
            parser.error(f"expected LABEL=FOLDER with an existing folder, got {spec!r}")
        series.extend(runs_of(label, Path(folder)))
    if not series:
        parser.error("no log_history.jsonl under the folders given")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 3.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(PANELS))
    print(f"{'run':45s} " + " ".join(f"{key:>14s}" for key, _ in PANELS))
    for name, rows in series:
        stage = decision_stage(rows)
        last = []
        for ax, (key, title) in zip(axes, PANELS, strict=True):
            points = curve(rows, stage, key) if stage else {}
            if points:
                steps = sorted(points)
                ax.plot(
                    steps,
                    [points[s] for s in steps],
                    marker="." if "eval" in key else None,
                    label=name,
                )
            last.append(f"{points[max(points)]:14.3f}" if points else f"{'-':>14s}")
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("step")
            if key == "loss":
                ax.set_yscale("log")  # a pretrained LM starts far off on label tokens
        print(f"{name:45s} " + " ".join(last))
    axes[0].legend(fontsize=7)
    if args.title:
        figure.suptitle(args.title, fontsize=11)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
