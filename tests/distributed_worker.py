"""Run by ``torchrun --nproc_per_node=2`` from tests/training/test_distributed.py: each process
validates a tiny model on its shard of batches and draws Stage 2's per-example coin flips, and
writes what it got to ``ROOT/out-RANK.json``.

    python -m torch.distributed.run --standalone --nproc_per_node=2 distributed_worker.py ROOT
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path

import torch


def validation_results(root: Path) -> dict:
    """Stage 2's label scores and Stage 1's rationale loss on ``root``'s toy validation set of
    16, with validation batches of 5 (4 batches) and 6 (3 batches: uneven shares), and how many
    batches this process computed."""
    from reason2decide.backbones import load_backbone
    from reason2decide.data.readers import ColumnMap, read_examples
    from reason2decide.methods import Stage1Objective, Stage2Objective

    backbone = load_backbone(str(root / "model"), max_input_length=48, max_target_length=12)
    val = read_examples(root / "data" / "val.jsonl", ColumnMap(), require_rationale=True)
    batches = {"score": 0, "loss": 0}

    def counted(name, function):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            batches[name] += 1
            return function(*args, **kwargs)

        return wrapper

    backbone.score_candidates = counted("score", backbone.score_candidates)
    backbone.loss_sum_and_count = counted("loss", backbone.loss_sum_and_count)
    results = {}
    for size in (5, 6):
        stage2 = Stage2Objective(backbone, ["no", "yes"], max_steps=10, eval_batch_size=size)
        stage1 = Stage1Objective(backbone, ["no", "yes"], eval_batch_size=size)
        results[str(size)] = {
            **stage2.validate(backbone.model, val),
            **stage1.validate(backbone.model, val),
            "batches": dict(batches),
        }
        batches.update(score=0, loss=0)
    return results


def draws() -> dict:
    """Stage 2's per-example draws at two steps, each drawn twice."""
    from reason2decide.methods.base import draw_generator

    return {
        str(step): [torch.rand(8, generator=draw_generator(7, step)).tolist() for _ in range(2)]
        for step in (0, 5)
    }


def record_exit(root: Path, rank: str) -> None:
    joined = torch.distributed.is_initialized()
    (root / f"exit-{rank}.json").write_text(json.dumps({"joined_at_exit": joined}))


def main() -> None:
    from reason2decide.distributed import init_distributed, rank, world_size

    root = Path(sys.argv[1])
    # registered before joining, so it runs after the project's own exit hook (last in, first
    # out): it sees whether the process still belongs to the group when Python shuts down
    atexit.register(record_exit, root, os.environ["RANK"])
    init_distributed()
    out = {"rank": rank(), "world_size": world_size(), "draws": draws()}
    out["validation"] = validation_results(root)
    (root / f"out-{rank()}.json").write_text(json.dumps(out))


if __name__ == "__main__":
    main()
