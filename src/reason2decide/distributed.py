"""Multi-process runs (``torchrun``, ``accelerate launch``): ranks, barriers, shards, gathers.

Processes are started by the launcher and joined by ``torch.distributed`` as ``accelerate`` sets
it up (gloo on CPUs, NCCL on GPUs); this module only asks it questions. In a plain run every
function is a cheap no-op: rank 0 of a world of one.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Sequence
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def _initialized() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def launched_world_size() -> int:
    """How many processes the launcher started (``WORLD_SIZE``), initialised or not."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def world_size() -> int:
    """Processes in the run (1 without a launcher)."""
    return torch.distributed.get_world_size() if _initialized() else launched_world_size()


def rank() -> int:
    """This process's global rank (0 without a launcher)."""
    return torch.distributed.get_rank() if _initialized() else int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True on rank 0 of a distributed run, and in a plain run: the one process that writes."""
    return rank() == 0


def init_distributed() -> None:
    """Join the launcher's process group now (accelerate's ``PartialState``: gloo on CPUs,
    NCCL on GPUs), so that barriers work before the Trainer exists. No-op in a plain run;
    the Trainer later reuses the same group."""
    if launched_world_size() > 1 and not _initialized():
        from accelerate import PartialState

        PartialState(cpu=not torch.cuda.is_available())
        atexit.register(leave_distributed)


def leave_distributed() -> None:
    """Leave the process group (``destroy_process_group``); a no-op when none is joined.

    Runs at exit once :func:`init_distributed` has joined a group. A process that exits still
    in a gloo group can abort in native code while the interpreter shuts down ("terminate
    called without an active exception", exit -6: gloo's threads still hold work whose tensors
    are freed after Python is gone), turning a finished run into a failed one.
    """
    if _initialized():
        torch.distributed.destroy_process_group()


def barrier() -> None:
    """Wait until every process gets here (no-op in a plain run)."""
    if _initialized() and torch.distributed.get_world_size() > 1:
        torch.distributed.barrier()


def parameters_sharded() -> bool:
    """Whether each process holds only a shard of the parameters (FSDP, DeepSpeed ZeRO-3, as
    ``accelerate launch`` announces them). Every forward pass then gathers parameters from
    all processes, so all processes must run the same passes: the same number of batches,
    generation steps kept in step (``synced_gpus``)."""
    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
        return True
    deepspeed = os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"
    return deepspeed and os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE") == "3"


def shard(items: Sequence[T]) -> list[tuple[int, T]]:
    """This process's share of ``items`` as ``(index, item)`` pairs, round-robin by index.

    Give it whole batches, not examples: every batch is then computed exactly as in a single
    process (same padding, same kernels), so gathered results equal a one-process run's. With
    sharded parameters every process takes every item (see :func:`parameters_sharded`).
    """
    if parameters_sharded():
        return list(enumerate(items))
    r, n = rank(), world_size()
    return [(i, item) for i, item in enumerate(items) if i % n == r]


def generation_in_step() -> bool:
    """Whether ``generate`` must keep every process stepping until all have finished
    (``synced_gpus``): needed when parameters are sharded across several processes."""
    return parameters_sharded() and world_size() > 1


def gather_objects(local: Any) -> list[Any]:
    """Every process's ``local`` (picklable), in rank order; ``[local]`` in a plain run."""
    if not _initialized() or torch.distributed.get_world_size() == 1:
        return [local]
    gathered: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(gathered, local)
    return gathered


def gather_shards(local: list[tuple[int, T]]) -> list[T]:
    """Reassemble what :func:`shard` split: every process's ``(index, result)`` pairs, in index
    order."""
    if parameters_sharded():
        return [result for _, result in local]
    pairs = [pair for part in gather_objects(local) for pair in part]
    return [result for _, result in sorted(pairs, key=lambda pair: pair[0])]
