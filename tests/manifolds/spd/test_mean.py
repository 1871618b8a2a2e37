"""Fréchet means vs pyriemann: BW barycenter (mean_wasserstein) and affine-invariant (mean_riemann)."""

import warnings

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
    np.testing.assert_allclose(S.numpy(), ref, rtol=1e-11, atol=1e-13)


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
    torch.testing.assert_close(bw_mean(X[:1].expand(5, 3, 3)), X[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n", [3, 6])
def test_karcher_mean_vs_pyriemann(n):
    X = random_spd(6, n=n, cond=100.0, seed=5)
    ref = mean_riemann(np64(X), tol=1e-14, maxiter=500)
    np.testing.assert_allclose(karcher_mean(X, iters=200, tol=1e-15).numpy(), ref, rtol=1e-10, atol=1e-12)


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


# ------------------------------------------------------------------- issue #17: step control, validation
def _karcher_gradient_norm(G, X):
    """‖Σ log(G^{-½} X_i G^{-½})‖_F / N with scipy (independent of the library's matrix functions)."""
    import scipy.linalg as sla

    Gih = np.linalg.inv(sla.sqrtm(np64(G)).real)
    return float(np.linalg.norm(np.mean([sla.logm(Gih @ x @ Gih).real for x in np64(X)], axis=0)))


@pytest.mark.parametrize("cond,seed", [(1e3, 0), (1e3, 1), (1e6, 0)])
def test_karcher_mean_converges_on_ill_conditioned_data(cond, seed):
    """The plain fixed point 2-cycles here (gradient norm O(1) at its result); step control converges."""
    X = random_spd(10, n=6, cond=cond, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "did not converge" warning
        G = karcher_mean(X)
    assert _karcher_gradient_norm(G, X) < 1e-9
    ref = mean_riemann(np64(X), tol=1e-14, maxiter=2000)
    np.testing.assert_allclose(G.numpy(), ref, rtol=1e-9 if cond < 1e4 else 1e-8, atol=1e-12)


def test_plain_fixed_point_two_cycles_on_the_same_data():
    """Control for the test above: 200 steps of t = 1 leave an O(1) gradient (what karcher_mean did)."""
    from geomrep.manifolds.spd.mean import _karcher_steps

    X = random_spd(10, n=6, cond=1e3, seed=0)
    G = _karcher_steps(X, X.mean(0), None, torch.tensor(10.0, dtype=X.dtype), iters=200, tol=None,
                       reduce=lambda t: t)
    assert _karcher_gradient_norm(G, X) > 0.1


def test_karcher_mean_warns_when_iters_run_out_and_is_batched():
    X = random_spd(10, n=6, cond=1e3, seed=1)
    with pytest.warns(RuntimeWarning, match="did not converge in iters=3"):
        karcher_mean(X, iters=3)
    Xb = torch.stack([random_spd(10, n=6, cond=1e3, seed=s) for s in range(3)])  # (3, 10, 6, 6)
    G = karcher_mean(Xb, iters=100)
    for b in range(3):
        assert _karcher_gradient_norm(G[b], Xb[b]) < 1e-9


def test_karcher_mean_float64_extreme_condition_number():
    """κ = 1e12: pyriemann's mean_riemann raises here; ours reaches the rounding floor without a warning."""
    X = random_spd(10, n=6, cond=1e12, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        G = karcher_mean(X, iters=100)
    assert _karcher_gradient_norm(G, X) < 1e-3


@pytest.mark.parametrize("mean", [arithmetic_mean, bw_mean, karcher_mean])
def test_bad_weights_and_empty_batches_raise_clear_errors(mean):
    X = random_spd(4, n=3, seed=8)
    with pytest.raises(ValueError, match="X holds no matrices"):
        mean(X[:0])
    with pytest.raises(ValueError, match="weights sum to zero"):
        mean(X, torch.zeros(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="weights must be finite"):
        mean(X, torch.tensor([1.0, float("nan"), 1.0, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="weights must be non-negative"):
        mean(X, torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=torch.float64))
    with pytest.raises(TypeError, match="weights must have a real dtype"):
        mean(X, torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"X must be finite; X\[4\] contains NaN"):
        mean(torch.cat([X, torch.full((1, 3, 3), float("nan"), dtype=torch.float64)]))
    # an empty *outer* batch is fine: an empty result
    assert mean(X[None, :, :, :][:0]).shape == (0, 3, 3)
    # integer weights are accepted and normalised
    torch.testing.assert_close(mean(X, [1, 1, 1, 1]), mean(X), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("mean", [bw_mean, karcher_mean])
def test_iterative_mean_arguments(mean):
    X = random_spd(4, n=3, seed=9)
    with pytest.raises(ValueError, match=r"^init must be symmetric positive definite; init has smallest"):
        mean(X, init=-torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="init must be"):
        mean(X, init=torch.eye(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="iters"):
        mean(X, iters=2.7)
    with pytest.raises(ValueError, match="iters"):
        mean(X, iters=True)
    with pytest.raises(ValueError, match="tol"):
        mean(X, tol=float("nan"))
    with pytest.raises(TypeError, match="X must have dtype"):
        mean(X.to(torch.float16))


def test_bw_mean_float32_large_entries():
    """float32 entries ~1e19: S^½ X S^½ would overflow; the homogeneous rescaling keeps it finite."""
    X = random_spd(5, n=3, cond=10.0, seed=10)
    S = bw_mean(X, iters=30)
    S_big = bw_mean((1e19 * X).float(), iters=30)
    torch.testing.assert_close(S_big.double() / 1e19, S, rtol=1e-5, atol=1e-6)
