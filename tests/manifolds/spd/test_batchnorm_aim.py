"""SPDBatchNorm(metric="aim") vs an independent scipy/pyriemann twin (train, running statistics, eval)."""

import numpy as np
import pytest
import scipy.linalg as sla
import torch
from pyriemann.geometry.mean import mean_riemann

from geomrep.manifolds.spd import SPDBatchNorm

from ._helpers import np64, random_spd

N, n = 7, 4


def _generic(bn: SPDBatchNorm, seed: int = 0) -> np.ndarray:
    """Generic bias (distinct eigenvalues, random basis) and scale 0.8; return B as a float64 array."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        Q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=g))
        bn.bias_eigvecs.copy_(Q)
        bn.bias_log_eigvals.copy_(torch.linspace(-0.7, 0.9, n, dtype=torch.float64))
        bn.scale.fill_(0.8)
    U, b = np64(bn.bias_eigvecs), np64(bn.bias_log_eigvals)
    return (U * np.exp(b)) @ U.T


def _pow(A: np.ndarray, p: float) -> np.ndarray:
    return sla.fractional_matrix_power(A, p).real


def _twin(X, B, s, theta, variance, eps, G=None, v=None):
    """Y_i = (B^½ exp(s·log(G^{-½} X_i^θ G^{-½})/√(v+ε)) B^½)^{1/θ}, G = Karcher mean of X_i^θ (pyriemann)."""
    Xd = np.stack([_pow(x, theta) for x in X])
    if G is None:
        G = mean_riemann(Xd, tol=1e-14, maxiter=1000)
    Gih = np.linalg.inv(sla.sqrtm(G).real)
    T = np.stack([sla.logm(Gih @ x @ Gih).real for x in Xd])
    if v is None and variance != "none":
        L = T if variance == "mean" else np.stack([sla.logm(x).real for x in Xd])
        v = (L**2).sum((1, 2)).mean() / theta**2
    if variance == "none":
        Xc = np.stack([Gih @ x @ Gih for x in Xd])
    else:
        Xc = np.stack([sla.expm(s * t / np.sqrt(v + eps)) for t in T])
    Bh = sla.sqrtm(B).real
    Y = np.stack([_pow(Bh @ x @ Bh, 1.0 / theta) for x in Xc])
    return Y, G, v


def _aim_geodesic(R: np.ndarray, G: np.ndarray, m: float) -> np.ndarray:
    Rh = sla.sqrtm(R).real
    Rih = np.linalg.inv(Rh)
    return Rh @ _pow(Rih @ G @ Rih, m) @ Rh


@pytest.mark.parametrize("power", [1.0, 0.6])
@pytest.mark.parametrize("variance", ["mean", "identity", "none"])
def test_train_running_statistics_and_eval_match_twin(power, variance):
    """Four training steps (θ ≠ 1, generic bias, momentum 0.3), then eval, all against the twin's values."""
    m = 0.3
    bn = SPDBatchNorm(n, metric="aim", power=power, variance=variance, momentum=m, mean_iters=60).double()
    B = _generic(bn)
    R, r = np.eye(n), 1.0
    for step in range(4):
        X = random_spd(N, n=n, cond=30.0, seed=40 + step) * (1.0 + step)
        Y = bn(X).detach().numpy()
        Y_ref, G, v = _twin(np64(X), B, 0.8, power, variance, bn.eps)
        np.testing.assert_allclose(Y, Y_ref, rtol=1e-9, atol=1e-10)
        R = _aim_geodesic(R, G, m)
        if v is not None:
            r = (1 - m) * r + m * v
    assert np.linalg.norm(R - np.eye(n)) > 0.5  # far from the initial I: the running mean is exercised
    np.testing.assert_allclose(np64(bn.running_mean), R, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(float(bn.running_var), r, rtol=1e-13)
    bn.eval()
    X2 = random_spd(3, n=n, cond=50.0, seed=50)
    Y2_ref, _, _ = _twin(np64(X2), B, 0.8, power, variance, bn.eps, G=R, v=None if variance == "none" else r)
    np.testing.assert_allclose(bn(X2).detach().numpy(), Y2_ref, rtol=1e-11, atol=1e-12)


def test_twin_distinguishes_bias_congruence_and_running_power():
    """Controls: the twin with a wrong bias (Uᵀ e^b U) or a running step G^{m²} gives different values."""
    X = random_spd(N, n=n, cond=30.0, seed=60)
    bn = SPDBatchNorm(n, metric="aim", momentum=0.3, mean_iters=60).double()
    B = _generic(bn)
    Y = bn(X).detach().numpy()
    Y_ref, G, _ = _twin(np64(X), B, 0.8, 1.0, "mean", bn.eps)
    np.testing.assert_allclose(Y, Y_ref, rtol=1e-12, atol=1e-13)
    U, b = np64(bn.bias_eigvecs), np64(bn.bias_log_eigvals)
    Y_wrong, _, _ = _twin(np64(X), (U.T * np.exp(b)) @ U, 0.8, 1.0, "mean", bn.eps)
    assert np.abs(Y - Y_wrong).max() > 1e-2
    np.testing.assert_allclose(np64(bn.running_mean), _pow(G, 0.3), rtol=1e-12, atol=1e-13)
    assert np.abs(np64(bn.running_mean) - _pow(G, 0.09)).max() > 1e-2
