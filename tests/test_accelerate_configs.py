"""The example accelerate configs under configs/accelerate load and say what their names say."""

from __future__ import annotations

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.utils import DistributedType

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "accelerate"
EXPECTED = {
    "ddp.yaml": (DistributedType.MULTI_GPU, None),
    "ddp-multinode.yaml": (DistributedType.MULTI_GPU, None),
    "fsdp2.yaml": (DistributedType.FSDP, None),
    "deepspeed-zero2.yaml": (DistributedType.DEEPSPEED, 2),
    "deepspeed-zero3.yaml": (DistributedType.DEEPSPEED, 3),
}


def test_every_shipped_config_is_listed():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_loads(name):
    config = load_config_from_file(str(CONFIGS / name))
    kind, zero_stage = EXPECTED[name]
    assert config.distributed_type == kind
    assert config.mixed_precision == "no"  # r2d's --precision decides
    if zero_stage is not None:
        assert config.deepspeed_config["zero_stage"] == zero_stage
    if kind == DistributedType.FSDP:
        assert config.fsdp_config["fsdp_version"] == 2
