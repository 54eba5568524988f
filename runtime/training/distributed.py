"""Several processes, one model: DistributedDataParallel when launched by torchrun.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them training is a single process
and nothing here does anything.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

# Test hook (tests/test_distributed.py): the folder where every rank, not only rank 0, saves
# its final weights, to check that the ranks ended in step. Unset: nothing is written.
DEBUG_DUMP_ENV = "NODETORCH_DEBUG_DUMP_WEIGHTS"


@dataclass
class Distributed:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> "Distributed":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world)

    def device(self, requested: torch.device) -> torch.device:
        """Each process takes its own GPU; CPU processes share the CPU."""
        if self.enabled and requested.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return requested

    def start(self, device: torch.device) -> None:
        if self.enabled and not dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group(backend=backend)

    def wrap(self, module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        if not self.enabled:
            return module
        ids = [device.index] if device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def shard(self, count: int, epoch: int, seed: int, shuffle: bool) -> list[int] | None:
        """This rank's sample indices for one epoch (torch's DistributedSampler rule)."""
        if not self.enabled:
            return None
        from torch.utils.data import DistributedSampler
        sampler = DistributedSampler(range(count), num_replicas=self.world_size, rank=self.rank,
                                     shuffle=shuffle, seed=seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    def average(self, values: dict[str, float]) -> dict[str, float]:
        """The mean of each value over all ranks (each rank saw its own shard)."""
        if not self.enabled or not values:
            return values
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
        dist.all_reduce(t)
        return {k: float(v) / self.world_size for k, v in zip(keys, t.tolist())}

    def stop(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()

    def debug_dump(self, module: torch.nn.Module, **facts: int) -> None:
        """Test hook: with NODETORCH_DEBUG_DUMP_WEIGHTS=<dir> set, save this rank's state_dict
        to <dir>/rank<R>.safetensors, `facts` (e.g. samples trained) in its metadata."""
        folder = os.environ.get(DEBUG_DUMP_ENV)
        if not folder:
            return
        from safetensors.torch import save_file
        Path(folder).mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
        meta = {"rank": self.rank, "world_size": self.world_size, **facts}
        save_file(tensors, str(Path(folder) / f"rank{self.rank}.safetensors"),
                  metadata={k: str(v) for k, v in meta.items()})
