import os
import threading

import pytest
import torch
import torch.distributed as dist

import geomrep.testing.distributed as distributed
from geomrep.testing import run_distributed


def _all_reduce(rank, world_size, base):
    t = torch.tensor([float(rank + base)])
    dist.all_reduce(t)
    return t


def _ddp_grad(rank, world_size):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    x = torch.arange(12.0).reshape(4, 3)[rank * 2 : rank * 2 + 2]
    ddp(x).sum().backward()
    return model.weight.grad.clone()


def _fails(rank, world_size):
    dist.barrier()
    if rank == 1:
        raise ValueError("boom on rank 1")
    return rank


def test_ddp_matches_single_process():
    grads = run_distributed(_ddp_grad, 2)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    model(torch.arange(12.0).reshape(4, 3)).sum().backward()
    # DDP averages gradients over ranks: mean of per-rank sums = full-batch sum / world_size
    assert torch.allclose(grads[0], model.weight.grad / 2) and torch.allclose(grads[1], grads[0])


def test_failure_is_reported():
    with pytest.raises(RuntimeError, match="boom on rank 1"):
        run_distributed(_fails, 2, timeout=300)


def test_all_reduce_in_concurrent_groups_and_rendezvous_cleanup(monkeypatch):
    """all_reduce in two groups at once (as under pytest-xdist): each meets through its own file store,
    removed afterwards; the old helper picked a 'free' TCP port that a parallel group could take."""
    folders = []
    make = distributed._rendezvous_file

    def recording():
        folder, store = make()
        folders.append(folder)
        return folder, store

    monkeypatch.setattr(distributed, "_rendezvous_file", recording)
    out = {}
    threads = [
        threading.Thread(target=lambda b=b: out.__setitem__(b, run_distributed(_all_reduce, 2, args=(b,))))
        for b in (0, 100)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [float(t) for t in out[0]] == [1.0, 1.0]
    assert [float(t) for t in out[100]] == [201.0, 201.0]
    assert len(set(folders)) == 2 and not any(os.path.exists(f) for f in folders)
