"""Several processes, one model: DistributedDataParallel when launched by torchrun.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them training is a single process
and nothing here does anything.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


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

    def barrier(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.barrier()

    def stop(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()
