"""The helpers of ``reason2decide.distributed`` in a plain (one-process) run and when a
launcher announces sharded parameters."""

from __future__ import annotations

from reason2decide import distributed


def test_plain_run_is_rank_zero_of_one_and_keeps_everything(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert (distributed.rank(), distributed.world_size()) == (0, 1)
    assert distributed.is_main_process()
    items = ["a", "b", "c"]
    assert distributed.shard(items) == [(0, "a"), (1, "b"), (2, "c")]
    assert distributed.gather_shards([(1, "y"), (0, "x")]) == ["x", "y"]
    assert distributed.gather_objects(5) == [5]
    distributed.barrier()  # no process group: a no-op


def test_rank_comes_from_the_launcher_before_the_group_exists(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    assert (distributed.rank(), distributed.world_size()) == (3, 4)
    assert not distributed.is_main_process()
    assert distributed.shard(list(range(10))) == [(3, 3), (7, 7)]


def test_sharded_parameters_keep_every_batch_on_every_process(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert not distributed.parameters_sharded()
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "2")
    assert not distributed.parameters_sharded()  # ZeRO-2 keeps whole parameters
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "3")
    assert distributed.parameters_sharded() and distributed.generation_in_step()
    monkeypatch.delenv("ACCELERATE_USE_DEEPSPEED")
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    assert distributed.shard(["a", "b", "c"]) == [(0, "a"), (1, "b"), (2, "c")]
