"""Grassmann head + GrassmannSGD / RiemannianSGD under DDP (2 gloo ranks): same bases on all ranks."""

import geoopt
import torch
from torch import nn

from geomrep.manifolds.grassmann import GrassmannClassifier, GrassmannSGD
from geomrep.testing import run_distributed

N = 8  # samples per rank


def _model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(6, 8), nn.ReLU(), GrassmannClassifier(8, 3, subspace_dim=[2, 1, 3], scale=5.0)
    )


def _opt(name, model):
    if name == "grassmann_sgd":
        return GrassmannSGD(model.parameters(), lr=0.1, momentum=0.9, qr_every=2)
    return geoopt.optim.RiemannianSGD(model.parameters(), lr=0.1, momentum=0.9)


def _data(world):
    gen = torch.Generator().manual_seed(3)
    return torch.randn(world * N, 6, generator=gen), torch.randint(0, 3, (world * N,), generator=gen)


def _train(model, opt, x, y, steps=4):
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


NAMES = ("grassmann_sgd", "riemannian_sgd")


def _worker(rank, world):
    out = {}
    for name in NAMES:  # one spawn for both optimizers (process start-up dominates)
        model = _model(seed=rank)  # different initialisations: DDP must broadcast rank 0's bases
        ddp = nn.parallel.DistributedDataParallel(model)
        x, y = _data(world)
        _train(ddp, _opt(name, model), x[rank * N : (rank + 1) * N], y[rank * N : (rank + 1) * N])
        out[name] = model[2].bases.detach().clone()
    return out


def test_ddp_bases_identical_and_match_single_process():
    out = run_distributed(_worker, 2)
    for name in NAMES:
        assert torch.equal(out[0][name], out[1][name]), name
        model = _model(seed=0)
        x, y = _data(2)
        _train(model, _opt(name, model), x, y)  # one process, concatenated batch (mean loss = DDP's average)
        torch.testing.assert_close(out[0][name], model[2].bases.detach(), atol=1e-5, rtol=1e-5)
        model[2].bases.manifold.assert_check_point_on_manifold(out[0][name])
