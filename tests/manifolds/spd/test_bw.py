"""BW geometry vs pyriemann (distance, log, exp, geodesic) and scipy (Lyapunov inner), float64 to 1e-8."""

import numpy as np
import pytest
import scipy.linalg as sla
import torch
from pyriemann.geometry.distance import distance_wasserstein
from pyriemann.geometry.geodesic import geodesic_wasserstein
from pyriemann.geometry.tangentspace import exp_map_wasserstein, log_map_wasserstein

from geomrep.manifolds.spd import (
    bw_distance,
    bw_exp,
    bw_geodesic,
    bw_inner,
    bw_log,
    bw_transport_from_identity,
    bw_transport_to_identity,
)
from geomrep.testing import assert_gradcheck

from ._helpers import np64, random_spd, random_sym

N = 5


@pytest.mark.parametrize("n", [2, 5, 12])
@pytest.mark.parametrize("cond", [10.0, 1e4])
def test_distance_vs_pyriemann(n, cond):
    X = random_spd(N, n=n, cond=cond, seed=1)
    Y = random_spd(N, n=n, cond=cond, seed=2)
    d = bw_distance(X, Y)
    ref = np.array([distance_wasserstein(a, b) for a, b in zip(np64(X), np64(Y))])
    np.testing.assert_allclose(d.numpy(), ref, rtol=1e-10, atol=1e-12)
    d2 = bw_distance(X, Y, squared=True)
    np.testing.assert_allclose(d2.numpy(), ref**2, rtol=1e-10, atol=1e-12)
    # symmetry, identity of indiscernibles
    torch.testing.assert_close(bw_distance(Y, X), d, rtol=1e-10, atol=1e-12)
    assert float(bw_distance(X, X).abs().max()) < 1e-6


def test_distance_closed_form_commuting():
    # commuting (diagonal) matrices: d² = Σ (√a − √b)²
    a = torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64)
    b = torch.tensor([4.0, 1.0, 9.0], dtype=torch.float64)
    d2 = bw_distance(torch.diag(a), torch.diag(b), squared=True)
    assert abs(float(d2) - float(((a.sqrt() - b.sqrt()) ** 2).sum())) < 1e-12


@pytest.mark.parametrize("n", [3, 8])
def test_log_exp_vs_pyriemann(n):
    P = random_spd(n=n, cond=100.0, seed=3)
    X = random_spd(N, n=n, cond=100.0, seed=4)
    V = bw_log(P, X)
    ref = np.stack([log_map_wasserstein(x, np64(P)) for x in np64(X)])
    np.testing.assert_allclose(V.numpy(), ref, rtol=1e-10, atol=1e-12)
    U = random_sym(N, n=n, seed=5, scale=0.1)
    E = bw_exp(P, U)
    ref_e = np.stack([exp_map_wasserstein(u, np64(P)) for u in np64(U)])
    np.testing.assert_allclose(E.numpy(), ref_e, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exp_log_identity(dtype):
    P = random_spd(n=6, cond=50.0, seed=6, dtype=dtype)
    X = random_spd(N, n=6, cond=50.0, seed=7, dtype=dtype)
    # ~100x the measured error (float32 ~8e-6, float64 ~8e-14 relative)
    tol = {"rtol": 1e-3, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-11, "atol": 1e-13}
    torch.testing.assert_close(bw_exp(P, bw_log(P, X)), X, **tol)
    # a tangent vector inside the injectivity domain: half of a log
    V = 0.5 * bw_log(P, random_spd(N, n=6, cond=50.0, seed=8, dtype=dtype))
    torch.testing.assert_close(bw_log(P, bw_exp(P, V)), V, **tol)


def test_identity_closed_forms():
    V = random_sym(N, n=4, seed=9, scale=0.3)
    eye = torch.eye(4, dtype=torch.float64)
    torch.testing.assert_close(bw_exp(eye, V), (eye + V / 2) @ (eye + V / 2), rtol=1e-12, atol=1e-12)
    X = random_spd(N, n=4, seed=10)
    Xh = torch.from_numpy(np.stack([sla.sqrtm(x).real for x in np64(X)]))
    torch.testing.assert_close(bw_log(eye, X), 2 * Xh - 2 * eye, rtol=1e-12, atol=1e-12)


def test_norm_of_log_is_distance():
    P = random_spd(n=5, cond=20.0, seed=11)
    X = random_spd(N, n=5, cond=20.0, seed=12)
    V = bw_log(P, X)
    torch.testing.assert_close(bw_inner(P, V, V), bw_distance(P, X, squared=True), rtol=1e-12, atol=1e-14)


def test_inner_vs_scipy_lyapunov():
    P = random_spd(n=5, cond=30.0, seed=13)
    U = random_sym(N, n=5, seed=14)
    V = random_sym(N, n=5, seed=15)
    ref = []
    for u, v in zip(np64(U), np64(V)):
        L = sla.solve_continuous_lyapunov(np64(P), u)  # P L + L P = U
        ref.append(0.5 * np.trace(L @ v))
    np.testing.assert_allclose(bw_inner(P, U, V).numpy(), np.array(ref), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(bw_inner(P, U, V), bw_inner(P, V, U), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
def test_geodesic_vs_pyriemann(t):
    A = random_spd(N, n=6, cond=100.0, seed=16)
    B = random_spd(N, n=6, cond=100.0, seed=17)
    G = bw_geodesic(A, B, t)
    ref = np.stack([geodesic_wasserstein(a, b, t) for a, b in zip(np64(A), np64(B))])
    np.testing.assert_allclose(G.numpy(), ref, rtol=1e-11, atol=1e-13)


def test_geodesic_is_constant_speed():
    A = random_spd(n=5, cond=10.0, seed=18)
    B = random_spd(n=5, cond=10.0, seed=19)
    d = bw_distance(A, B)
    for s, t in [(0.0, 0.4), (0.2, 0.9), (0.5, 1.0)]:
        dst = bw_distance(bw_geodesic(A, B, s), bw_geodesic(A, B, t))
        assert abs(float(dst) - abs(t - s) * float(d)) < 1e-8
    # tensor t broadcast over the batch, and the geodesic equals Exp_A(t Log_A B)
    ts = torch.tensor([0.1, 0.5], dtype=torch.float64)
    G = bw_geodesic(A.expand(2, 5, 5), B.expand(2, 5, 5), ts)
    torch.testing.assert_close(G, bw_exp(A, ts[:, None, None] * bw_log(A, B)), rtol=1e-12, atol=1e-14)


def test_transport_isometry_and_inverse():
    P = random_spd(n=6, cond=100.0, seed=20)
    V = random_sym(N, n=6, seed=21)
    T = bw_transport_to_identity(P, V)
    eye = torch.eye(6, dtype=torch.float64)
    torch.testing.assert_close(bw_inner(eye, T, T), bw_inner(P, V, V), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(bw_transport_from_identity(P, T), V, rtol=1e-11, atol=1e-13)
    # commuting closed form: P diagonal -> entrywise scaling
    d = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
    W = random_sym(n=4, seed=22)
    K = torch.sqrt(2 / (d[:, None] + d[None, :]))
    torch.testing.assert_close(bw_transport_to_identity(torch.diag(d), W), K * W, rtol=1e-13, atol=1e-13)


def test_transport_log_at_identity():
    # Γ_{P→I}(Log_P I) = −Log_I P: the geodesic between commuting P and I reversed.
    P = random_spd(n=5, cond=30.0, seed=23)
    eye = torch.eye(5, dtype=torch.float64)
    torch.testing.assert_close(
        bw_transport_to_identity(P, bw_log(P, eye)), -bw_log(eye, P), rtol=1e-10, atol=1e-12
    )


def test_gradcheck_distance_log_exp():
    X = random_spd(2, n=3, seed=24)
    Y = random_spd(2, n=3, seed=25)
    eye = torch.eye(3, dtype=torch.float64)
    ties = (torch.diag(torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)), 2 * eye)

    def sym(A):
        return (A + A.mT) / 2

    assert_gradcheck(lambda a, b: bw_distance(sym(a), sym(b), squared=True), (X, Y), points=[ties])
    assert_gradcheck(lambda a, b: bw_log(sym(a), sym(b)), (X[0], Y[0]), points=[ties])
    V = random_sym(n=3, seed=26, scale=0.1)
    assert_gradcheck(lambda a, v: bw_exp(sym(a), sym(v)), (X[0], V), points=[(2 * eye, V)])
    assert_gradcheck(lambda a, b: bw_geodesic(sym(a), sym(b), 0.3), (X[0], Y[0]), points=[ties])


def test_distance_gradient_finite_at_zero_and_ties():
    X = (2 * torch.eye(3, dtype=torch.float64)).requires_grad_()
    d = bw_distance(X, X.detach().clone())
    d.backward()
    assert torch.isfinite(X.grad).all()


def test_bad_input():
    with pytest.raises(ValueError, match="same matrix size"):
        bw_distance(torch.eye(3), torch.eye(4))
    with pytest.raises(TypeError, match="dtype"):
        bw_distance(torch.eye(3), torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="square"):
        bw_log(torch.ones(3, 2), torch.ones(3, 2))
    with pytest.raises(TypeError):
        bw_distance(torch.eye(3, dtype=torch.int64), torch.eye(3, dtype=torch.int64))
