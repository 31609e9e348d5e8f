"""Training on several processes (GPUs, or CPU processes for testing) under ``torchrun``.

``torchrun --nproc_per_node=N script.py`` starts N processes with RANK / WORLD_SIZE set. ``init()``
joins them (NCCL on GPUs, gloo on CPUs). Each process draws its own real batches; after every
backward pass ``sync_grads`` averages the gradients across processes (what DistributedDataParallel
does, written out so that D may run several forwards per step, as the gradient penalty needs), so
every process takes the same optimiser step and the models stay identical. Batch-norm statistics
are broadcast from rank 0. Without torchrun every function here is a no-op.
Taught in 03_dcgan_faces, section 3 (and README, "Training on several GPUs").
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


def active() -> bool:
    """True when this process is one of several joined by ``init``.

    Not in the notebooks: the training loops' machinery.
    """
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank_and_world() -> tuple[int, int]:
    """Return (rank, world size): (0, 1) without torchrun. Not in the notebooks: the training loops' machinery."""
    return (dist.get_rank(), dist.get_world_size()) if active() else (0, 1)


def init(device: torch.device | None = None) -> torch.device:
    """Join the process group torchrun set up (no-op for a single process); return this process's device.

    Not in the notebooks: the training loops' machinery.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and (device is None or torch.device(device).type == "cuda")
    if world > 1 and not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    if use_cuda:
        return torch.device("cuda", local if world > 1 else torch.cuda.current_device())
    return torch.device(device) if device is not None else torch.device("cpu")


def unwrap(module: nn.Module) -> nn.Module:
    """Return the plain module inside a torch.compile (or DDP) wrapper.

    Not in the notebooks: the training loops' machinery.
    """
    module = getattr(module, "_orig_mod", module)
    return getattr(module, "module", module)


def sync_params(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process (call once, before training).

    Not in the notebooks: the training loops' machinery.
    """
    if active():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def sync_grads(module: nn.Module) -> None:
    """Average the gradients of ``module`` across processes, in one flat all-reduce.

    Not in the notebooks: the training loops' machinery.
    """
    if not active():
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
        g.copy_(synced)


def sync_buffers(module: nn.Module) -> None:
    """Broadcast rank 0's buffers (batch-norm running statistics) to every process.

    Not in the notebooks: the training loops' machinery.
    """
    if active():
        for b in module.buffers():
            dist.broadcast(b.data, src=0)


def cleanup() -> None:
    """Leave the process group (end of a torchrun script). Not in the notebooks: the training loops' machinery."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
