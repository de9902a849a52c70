"""Data-parallel training under ``torchrun``: one process per GPU (or per CPU worker).

Every ``gzc-train`` trainer runs unchanged as one process, and under
``torchrun --nproc-per-node N`` (or several nodes) as N replicas that split each
global batch (``--batch`` stays the *global* batch). ``torchrun`` sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`start` then joins the process
group: **gloo** on CPU, **NCCL** on GPU (one device per local rank).

How a step stays the step of one process (docs/training.md says where it does not):

* **Data.** Every rank draws the same seeded stream of crop positions, flips,
  settings and channel counts as a single process would, and cuts only its own
  slice of each global batch (:func:`World.shard`). So the ranks see disjoint
  crops, together exactly the single-process batch, and a run's data do not
  depend on how many processes train it.
* **Gradients.** After each backward pass, :func:`World.average_gradients`
  all-reduces the gradients of the parameters about to be stepped (a mean: each
  rank's loss is a mean over its equal share). This is what
  ``DistributedDataParallel`` does during the backward pass; it is done
  explicitly here because the GAN trainers call their networks several times
  per step (the generator on two batches, the discriminator on real and fake),
  which DDP's one-forward-one-backward hooks do not allow. Clipping and the
  optimiser step then run on identical gradients, so replicas stay identical;
  they also start identical (:func:`World.broadcast_module`, as DDP does).
* **Rank 0 only** writes the checkpoint, the config, ``log.jsonl`` and prints;
  logged training metrics are means over all ranks (:func:`World.mean`).
* **Noise.** Every rank seeds torch alike and draws the training noise (the
  autoencoder's uniform rounding noise, the face trainer's latent samples) for
  the whole global batch, keeping its share, so a checkpoint's one torch RNG
  state serves every rank, and a run may resume with another process count.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The process that logs, validates and writes checkpoints."""
        return self.rank == 0

    def shard(self, batch: int) -> slice:
        """This rank's part of a global batch of ``batch`` items (equal parts)."""
        if batch % self.size:
            raise ValueError(f"the global batch ({batch}) must be a multiple of the number of processes "
                             f"({self.size})")
        part = batch // self.size
        return slice(self.rank * part, (self.rank + 1) * part)

    def average_gradients(self, parameters) -> None:
        """Replace every present gradient by its mean over the ranks (one flat all-reduce)."""
        if self.size == 1:
            return
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Scalar metrics averaged over the ranks (for the log)."""
        if self.size == 1:
            return values
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self._device())
        dist.all_reduce(t)
        return {k: float(v) / self.size for k, v in zip(keys, t.tolist())}

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Rank 0's parameters and buffers to every rank (identical replicas at the start)."""
        if self.size == 1:
            return
        for tensor in list(module.parameters()) + list(module.buffers()):
            with torch.no_grad():
                dist.broadcast(tensor.data, 0)

    def broadcast_int(self, value: int) -> int:
        """Rank 0's ``value`` on every rank (a decision all must share, e.g. a time budget's steps)."""
        if self.size == 1:
            return value
        t = torch.tensor([value], dtype=torch.int64, device=self._device())
        dist.broadcast(t, 0)
        return int(t.item())

    def barrier(self) -> None:
        """Wait for every rank (e.g. while rank 0 writes a file the others then read)."""
        if self.size > 1:
            dist.barrier()

    def _device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if dist.get_backend() == "nccl" else torch.device("cpu")


def start(device: str = "cpu") -> tuple[World, torch.device]:
    """Join the process group if ``torchrun`` started this process (``WORLD_SIZE`` > 1);
    returns the world and this process's device (``cuda:LOCAL_RANK`` on GPUs)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    target = torch.device(device)
    if size == 1:
        return World(), target
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if target.type == "cuda":
        torch.cuda.set_device(local)
        target = torch.device("cuda", local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if target.type == "cuda" else "gloo")
    world = World(dist.get_rank(), dist.get_world_size(), local)
    if not world.main:       # one voice: only rank 0 prints progress (errors still reach stderr)
        sys.stdout = open(os.devnull, "w")
    return world, target


def stop(world: World) -> None:
    if world.size > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
