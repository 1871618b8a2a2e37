"""SPDBatchNorm(metric="lem"): the LieBN-style log-Euclidean batch norm against scipy's logm/expm."""

import numpy as np
import pytest
import scipy.linalg as sla
import torch

from geomrep.manifolds.spd import SPDBatchNorm

from ._helpers import np64, random_spd

N, n = 7, 4


def _bias(bn: SPDBatchNorm, seed: int = 0) -> np.ndarray:
    """Give the layer a generic bias and scale; return B as a float64 array."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        Q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=g))
        bn.bias_eigvecs.copy_(Q)
        bn.bias_log_eigvals.copy_(torch.linspace(-0.6, 0.8, n, dtype=torch.float64))
        bn.scale.fill_(0.7)
    U, b = np64(bn.bias_eigvecs), np64(bn.bias_log_eigvals)
    return (U * np.exp(b)) @ U.T


def _scipy_lem(X, B, s, theta, variance, eps, mu=None, v=None):
    """Independent float64 formula: Y_i = exp(s (log X_i^θ − μ)/√(v+ε) + log B)^{1/θ}."""
    L = np.stack([sla.logm(sla.fractional_matrix_power(x, theta)).real for x in X])
    if mu is None:
        mu = L.mean(0)
        if variance == "mean":
            v = ((L - mu) ** 2).sum((1, 2)).mean() / theta**2
        elif variance == "identity":
            v = (L**2).sum((1, 2)).mean() / theta**2
    c = 1.0 if variance == "none" else s / np.sqrt(v + eps)
    logB = sla.logm(B).real
    Y = np.stack([sla.expm(c * (l - mu) + logB) for l in L])
    Y = np.stack([sla.fractional_matrix_power(y, 1 / theta).real for y in Y])
    return Y, mu, v


@pytest.mark.parametrize("power", [1.0, 0.5])
@pytest.mark.parametrize("variance", ["mean", "identity", "none"])
def test_train_and_eval_match_scipy(power, variance):
    bn = SPDBatchNorm(n, metric="lem", power=power, variance=variance, momentum=0.3).double()
    B = _bias(bn)
    X = random_spd(N, n=n, cond=200.0, seed=1)
    Y = bn(X).detach().numpy()
    Y_ref, mu, v = _scipy_lem(np64(X), B, 0.7, power, variance, bn.eps)
    np.testing.assert_allclose(Y, Y_ref, rtol=1e-10, atol=1e-11)
    # running statistics after one step from (I, 1): LEM geodesic and moving average
    np.testing.assert_allclose(np64(bn.running_mean), sla.expm(0.3 * mu), rtol=1e-11, atol=1e-13)
    if variance != "none":
        np.testing.assert_allclose(float(bn.running_var), 0.7 + 0.3 * v, rtol=1e-12)
    bn.eval()
    X2 = random_spd(3, n=n, cond=50.0, seed=2)
    mu_run = sla.logm(np64(bn.running_mean)).real
    Y2_ref, _, _ = _scipy_lem(np64(X2), B, 0.7, power, variance, bn.eps, mu=mu_run, v=float(bn.running_var))
    np.testing.assert_allclose(bn(X2).detach().numpy(), Y2_ref, rtol=1e-11, atol=1e-12)


def test_normalised_output_has_log_mean_zero_and_unit_dispersion():
    bn = SPDBatchNorm(n, metric="lem", eps=0.0).double()
    Y = bn(3.0 * random_spd(N, n=n, cond=1e3, seed=3)).detach().numpy()
    L = np.stack([sla.logm(y).real for y in Y])
    np.testing.assert_allclose(L.mean(0), 0.0, atol=1e-13)
    assert abs((L**2).sum((1, 2)).mean() - 1.0) < 1e-10


def test_differs_from_affine_invariant_layer():
    """A control: the LEM and AIM layers are different maps (so the scipy test pins down "lem")."""
    X = random_spd(N, n=n, cond=1e3, seed=4)
    lem = SPDBatchNorm(n, metric="lem").double()(X)
    aim = SPDBatchNorm(n, metric="aim").double()(X)
    assert float((lem - aim).abs().max()) > 1e-3


def test_running_mean_over_several_steps_vs_scipy():
    """LEM running mean R ← exp((1−m) log R + m μ) from R ≠ I, μ the batch mean of log X^θ."""
    bn = SPDBatchNorm(n, metric="lem", power=0.5, momentum=0.3).double()
    R = np.eye(n)
    for seed in range(4):
        X = random_spd(N, n=n, cond=100.0, seed=30 + seed) * (1.0 + seed)
        bn(X)
        mu = np.mean([sla.logm(sla.fractional_matrix_power(x, 0.5)).real for x in np64(X)], axis=0)
        R = sla.expm(0.7 * sla.logm(R).real + 0.3 * mu)
    assert np.linalg.norm(R - np.eye(n)) > 0.5
    np.testing.assert_allclose(np64(bn.running_mean), R, rtol=1e-12, atol=1e-13)


def test_float32_running_mean_survives_a_cast_to_float64():
    bn = SPDBatchNorm(n, metric="lem")
    for seed in range(3):
        bn(random_spd(N, n=n, cond=1e3, seed=40 + seed, dtype=torch.float32))
    torch.testing.assert_close(bn.running_mean, bn.running_mean.mT, rtol=0, atol=0)
    bn.double()(random_spd(N, n=n, seed=43))  # the checked path would reject an asymmetric buffer
