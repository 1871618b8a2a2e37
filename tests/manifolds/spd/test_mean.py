"""Fréchet means vs pyriemann: BW barycenter (mean_wasserstein) and affine-invariant (mean_riemann)."""

import numpy as np
import pytest
import torch
from pyriemann.geometry.mean import mean_riemann, mean_wasserstein

from geomrep.manifolds.spd import arithmetic_mean, bw_log, bw_mean, karcher_mean
from geomrep.testing import assert_gradcheck

from ._helpers import np64, random_spd


@pytest.mark.parametrize("n,cond", [(3, 10.0), (8, 1e3)])
def test_bw_mean_vs_pyriemann(n, cond):
    X = random_spd(7, n=n, cond=cond, seed=1)
    w = torch.rand(7, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) + 0.1
    ref = mean_wasserstein(np64(X), tol=1e-14, maxiter=500, sample_weight=np64(w / w.sum()))
    S = bw_mean(X, w, iters=200, tol=1e-15)
    np.testing.assert_allclose(S.numpy(), ref, rtol=1e-8, atol=1e-10)


def test_bw_mean_first_order_condition_and_batch():
    X = random_spd(3, 6, n=4, cond=30.0, seed=3)  # 3 independent sets of 6
    S = bw_mean(X, iters=100)
    assert S.shape == (3, 4, 4)
    grad = bw_log(S[:, None], X).mean(dim=1)  # Σ Log_S X_i = 0 at the barycenter
    assert float(grad.abs().max()) < 1e-9


def test_bw_mean_closed_forms():
    eye = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(bw_mean(torch.stack([eye, 9 * eye])), 4 * eye)
    X = random_spd(4, n=3, seed=4)
    torch.testing.assert_close(bw_mean(X, iters=0), X.mean(0))
    torch.testing.assert_close(arithmetic_mean(X), X.mean(0))
    # one matrix repeated
    torch.testing.assert_close(bw_mean(X[:1].expand(5, 3, 3)), X[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [3, 6])
def test_karcher_mean_vs_pyriemann(n):
    X = random_spd(6, n=n, cond=100.0, seed=5)
    ref = mean_riemann(np64(X), tol=1e-14, maxiter=500)
    np.testing.assert_allclose(karcher_mean(X, iters=200, tol=1e-15).numpy(), ref, rtol=1e-8, atol=1e-10)


def test_reduce_hook_and_weights():
    X = random_spd(6, n=3, seed=6)
    calls = []

    def reduce(t):
        calls.append(t.shape)
        return t

    S = bw_mean(X, iters=3, tol=None, reduce=reduce)
    assert len(calls) == 1 + 1 + 3  # total weight, arithmetic mean, one sum per step
    torch.testing.assert_close(S, bw_mean(X, iters=3, tol=None))
    with pytest.raises(ValueError, match="non-negative"):
        bw_mean(X, -torch.ones(6, dtype=torch.float64))
    with pytest.raises(ValueError, match="broadcast"):
        bw_mean(X, torch.ones(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="N, n, n"):
        bw_mean(X[0])
    with pytest.raises(ValueError, match="positive semidefinite"):
        bw_mean(torch.cat([X, -X[:1]]))
    with pytest.raises(ValueError, match="symmetric"):
        bw_mean(X + torch.triu(torch.ones(3, 3, dtype=torch.float64), 1))


def test_mean_gradcheck():
    X = random_spd(3, n=3, seed=7)
    assert_gradcheck(lambda x: bw_mean((x + x.mT) / 2, iters=3, tol=None), (X,))
    assert_gradcheck(lambda x: karcher_mean((x + x.mT) / 2, iters=3, tol=None), (X,))
