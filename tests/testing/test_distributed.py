import pytest
import torch
import torch.distributed as dist

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


def test_all_reduce():
    out = run_distributed(_all_reduce, 2, args=(10,))
    assert [float(t) for t in out] == [21.0, 21.0]


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
