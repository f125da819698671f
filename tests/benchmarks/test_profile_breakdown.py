"""benchmarks/profile_breakdown.py: py-spy's collapsed stacks cut into the parts of a step."""

from __future__ import annotations

import pytest

LOOP = "<module> (r2d:8);Trainer.train (trainer.py:1);Trainer._inner_training_loop (trainer.py:2)"


@pytest.fixture(scope="module")
def pb(benchmark_script):
    return benchmark_script("profile_breakdown")


def test_each_stack_lands_in_its_part(pb, tmp_path):
    raw = tmp_path / "stage2.txt"
    raw.write_text(
        "\n".join(
            [
                f"{LOOP};Trainer.training_step (t.py:3);ObjectiveTrainer.compute_loss (t.py:4);"
                "Stage2Objective.sampled_labels (r2d.py:5);predict_labels_eval (l.py:6);"
                "Module._call_impl (m.py:7) 30",
                f"{LOOP};ObjectiveTrainer.compute_loss (t.py:4);Backbone.loss (b.py:8);"
                "Seq2SeqBackbone.encode_pairs (s.py:9) 5",
                f"{LOOP};ObjectiveTrainer.compute_loss (t.py:4);Backbone.loss (b.py:8);"
                "Module._call_impl (m.py:7) 40",
                f"{LOOP};Trainer.training_step (t.py:3);Accelerator.backward (a.py:1) 80",
                f"{LOOP};AcceleratedOptimizer.step (o.py:1);Adam.step (adam.py:2) 10",
                f"{LOOP};Trainer._maybe_log_save_evaluate (t.py:9);"
                "ObjectiveTrainer.evaluate (t.py:10) 20",
                f"{LOOP};Trainer._maybe_log_save_evaluate (t.py:9);"
                "Trainer._save_checkpoint (t.py:11) 4",
                f"{LOOP};something_else (x.py:1) 1",
                "<module> (r2d:8);load_backbone (b.py:1) 50",
                " 7",  # a thread with no Python frames
                "",
            ]
        )
    )
    parts = pb.breakdown(pb.read_stacks([raw]))
    assert parts == {
        "label prediction": 30,
        "tokenise + pad": 5,
        "forward + loss": 40,
        "backward": 80,
        "optimizer": 10,
        "validation": 20,
        "checkpoint save": 4,
        "other (in the loop)": 1,
        "outside the loop": 50,
        "threads without Python frames": 7,
    }
    table = pb.table(parts)
    assert "| backward | 80 | 42.1 | 32.4 |" in table  # 80 of 190 in the loop, of 247 in all
    assert "| outside the loop | 50 |  | 20.2 |" in table


def test_a_line_that_is_not_a_stack_is_named(pb, tmp_path):
    raw = tmp_path / "bad.txt"
    raw.write_text(f"{LOOP} 3\nnot a stack line\n")
    with pytest.raises(SystemExit, match=r"bad.txt:2: not a py-spy raw line"):
        pb.read_stacks([raw])
