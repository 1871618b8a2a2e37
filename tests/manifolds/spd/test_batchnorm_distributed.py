"""Synchronised SPDBatchNorm under DDP (2 gloo processes) equals one process on the concatenated batch."""

import pytest
import torch

from geomrep.manifolds.spd import SPDBatchNorm, convert_sync_spd_batchnorm
from geomrep.testing import run_distributed

from ._helpers import random_spd

N, n = 6, 3  # per rank


def _make(metric, power, sync):
    torch.manual_seed(0)
    bn = SPDBatchNorm(n, metric=metric, power=power, mean_iters=2).double()
    with torch.no_grad():
        if metric == "gbw":
            bn.set_metric(random_spd(n=n, cond=4.0, seed=5))
        bn.bias_log_eigvals.copy_(torch.linspace(-0.3, 0.4, n, dtype=torch.float64))
        bn.scale.fill_(1.2)
    model = torch.nn.Sequential(bn)
    return convert_sync_spd_batchnorm(model) if sync else model


def _data(world):
    X = random_spd(world * N, n=n, cond=100.0, seed=1)
    W = torch.randn(world * N, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    return X, W


def _worker(rank, world, metric, power, sync):
    model = _make(metric, power, sync)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    X, W = _data(world)
    x = X[rank * N : (rank + 1) * N].clone().requires_grad_()
    y = ddp(x)
    (y * W[rank * N : (rank + 1) * N]).sum().backward()
    bn = model[0]
    grads = {k: p.grad.detach().clone() for k, p in bn.named_parameters()}
    return y.detach(), x.grad.detach(), grads, bn.running_mean.clone(), bn.running_var.clone()


def _single(metric, power, world=2):
    model = _make(metric, power, sync=False)
    X, W = _data(world)
    X = X.clone().requires_grad_()
    Y = model(X)
    (Y * W).sum().backward()
    bn = model[0]
    grads = {k: p.grad.detach().clone() for k, p in bn.named_parameters()}
    return Y.detach(), X.grad.detach(), grads, bn.running_mean.clone(), bn.running_var.clone()


@pytest.mark.parametrize("metric,power", [("gbw", 0.5), ("aim", 1.0), ("lem", 0.5)])
def test_sync_ddp_matches_single_process(metric, power):
    out = run_distributed(_worker, 2, args=(metric, power, True))
    Y, gX, grads, rm, rv = _single(metric, power)
    torch.testing.assert_close(torch.cat([o[0] for o in out]), Y, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(torch.cat([o[1] for o in out]), gX, rtol=1e-9, atol=1e-10)
    for k, g in grads.items():
        # DDP averages over ranks; the single process sums the whole batch's loss
        for o in out:
            torch.testing.assert_close(o[2][k] * 2, g, rtol=1e-8, atol=1e-10, msg=k)
    for o in out:
        torch.testing.assert_close(o[3], rm, rtol=1e-9, atol=1e-11)
        torch.testing.assert_close(o[4], rv, rtol=1e-9, atol=1e-11)


def test_without_sync_statistics_differ():
    """The comparison can fail: unsynchronised ranks normalise with their own batch statistics."""
    out = run_distributed(_worker, 2, args=("gbw", 0.5, False))
    Y = _single("gbw", 0.5)[0]
    assert float((torch.cat([o[0] for o in out]) - Y).abs().max()) > 1e-3


def test_convert_sync():
    model = torch.nn.Sequential(SPDBatchNorm(3), torch.nn.Identity(), torch.nn.Sequential(SPDBatchNorm(3)))
    convert_sync_spd_batchnorm(model)
    assert all(m.sync for m in model.modules() if isinstance(m, SPDBatchNorm))
    # without an initialised process group sync is a no-op
    X = random_spd(4, n=3, seed=3, dtype=torch.float32)
    torch.testing.assert_close(model[0](X), SPDBatchNorm(3)(X))
    with pytest.raises(TypeError):
        convert_sync_spd_batchnorm("not a module")
