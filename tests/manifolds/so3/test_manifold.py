"""SpecialOrthogonal as a geoopt.Manifold: geoopt's own contract, the metric, and Riemannian optimisation."""

import math

import geoopt
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from geomrep.manifolds.so3 import SpecialOrthogonal, geodesic_distance, hat

from ._helpers import scipy_rotations


@pytest.fixture
def man():
    return SpecialOrthogonal()


def _tangent(man, x, seed):
    g = torch.Generator().manual_seed(seed)
    return man.proju(x, torch.randn(x.shape, dtype=x.dtype, generator=g))


# ----------------------------------------------------------- the checks of geoopt's test_manifold_basic
def test_projection_identity_and_nearest_point(man):
    x = scipy_rotations(1, seed=0)[0]
    torch.testing.assert_close(man.projx(x), x, atol=1e-12, rtol=0)
    ex = x + 0.05 * torch.randn(3, 3, dtype=torch.float64)
    px = man.projx(ex)
    man.assert_check_point_on_manifold(px)
    # nearest rotation: no rotation from scipy's Haar sample is closer to ex
    Q = scipy_rotations(3000, seed=1)
    assert float(torch.linalg.matrix_norm(px - ex)) <= float(torch.linalg.matrix_norm(Q - ex).min())


def test_vector_projection(man):
    x = scipy_rotations(1, seed=2)[0]
    ev = torch.randn(3, 3, dtype=torch.float64)
    pv = man.proju(x, ev)
    man.assert_check_vector_on_tangent(x, pv)
    A = x.T @ ev
    torch.testing.assert_close(pv, x @ (A - A.T) / 2)  # the orthogonal projection onto x·so(3)
    torch.testing.assert_close(man.proju(x, pv), pv)
    assert not man.check_vector_on_tangent(x, ev)


def test_broadcast_projx_proju_retr_transp(man):
    X = scipy_rotations(4, seed=3) + 0.1 * torch.randn(4, 3, 3, dtype=torch.float64)
    pX = man.projx(X)
    man.assert_check_point_on_manifold(pX)
    for x, px in zip(X, pX):
        torch.testing.assert_close(man.projx(x), px, atol=1e-12, rtol=0)
    U = man.proju(pX, torch.randn(4, 3, 3, dtype=torch.float64))
    V = man.proju(pX, torch.randn(4, 3, 3, dtype=torch.float64))
    Y = man.retr(pX, U)
    man.assert_check_point_on_manifold(Y)
    Q = man.transp_follow_retr(pX, U, V)
    man.assert_check_vector_on_tangent(Y, Q)
    for px, u, v, y, q in zip(pX, U, V, Y, Q):
        torch.testing.assert_close(man.retr(px, u), y)
        torch.testing.assert_close(man.transp_follow_retr(px, u, v), q)
    # the transport is an isometry
    torch.testing.assert_close(man.inner(Y, Q, Q), man.inner(pX, V, V))


def test_reversibility(man):
    assert man.reversible
    X = scipy_rotations(4, seed=4)
    U = _tangent(man, X, 5) / 3
    Z, Q = man.retr_transp(X, U, U)
    X1, U1 = man.retr_transp(Z, -Q, Q)
    torch.testing.assert_close(X1, X, atol=1e-12, rtol=0)
    torch.testing.assert_close(U1, U, atol=1e-12, rtol=0)


def test_exp_log(man):
    X = scipy_rotations(4, seed=6)
    U = _tangent(man, X, 7)
    Y = man.expmap(X, U)
    Uh = man.logmap(X, Y)
    torch.testing.assert_close(man.expmap(X, Uh), Y, atol=1e-12, rtol=0)
    small = 0.3 * U / man.norm(X, U, keepdim=True)  # inside the injectivity radius π: log ∘ exp = id
    torch.testing.assert_close(man.logmap(X, man.expmap(X, small)), small, atol=1e-12, rtol=0)


# ------------------------------------------------------------------ metric facts
def test_distance_is_the_rotation_angle(man):
    X = scipy_rotations(5, seed=8)
    Y = scipy_rotations(5, seed=9)
    ref = torch.tensor((Rotation.from_matrix(X.numpy()).inv() * Rotation.from_matrix(Y.numpy())).magnitude())
    torch.testing.assert_close(man.dist(X, Y), ref, atol=1e-13, rtol=0)
    torch.testing.assert_close(man.dist(X, Y), man.norm(X, man.logmap(X, Y)), atol=1e-13, rtol=0)
    torch.testing.assert_close(man.dist(X, Y), geodesic_distance(X, Y))
    torch.testing.assert_close(man.dist2(X, Y), ref**2)
    assert man.dist(X, Y, keepdim=True).shape == (5, 1, 1)


@pytest.mark.parametrize("theta", [1e-6, 1.0, math.pi - 1e-6])
def test_dist_exp_equals_norm(man, theta):
    x = scipy_rotations(1, seed=10)[0]
    w = torch.tensor([0.36, 0.48, 0.8], dtype=torch.float64) * theta
    u = x @ hat(w)
    torch.testing.assert_close(man.norm(x, u), torch.tensor(theta, dtype=torch.float64))
    torch.testing.assert_close(
        man.dist(x, man.expmap(x, u)), torch.tensor(theta, dtype=torch.float64), atol=1e-12, rtol=1e-9
    )


def test_egrad2rgrad_defining_property(man):
    """g_x(rgrad, v) = ⟨egrad, v⟩_F for every tangent v; and rgrad is tangent."""
    x = scipy_rotations(1, seed=11)[0]
    g = torch.randn(3, 3, dtype=torch.float64)
    r = man.egrad2rgrad(x, g)
    man.assert_check_vector_on_tangent(x, r)
    for seed in range(3):
        v = _tangent(man, x, 20 + seed)
        torch.testing.assert_close(man.inner(x, r, v), (g * v).sum())


def test_random_origin_shapes(man):
    R = man.random(7, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    man.assert_check_point_on_manifold(R)
    torch.testing.assert_close(man.origin(2, 3, 3), torch.eye(3).expand(2, 3, 3))
    with pytest.raises(ValueError, match="x"):
        man.random(3, 4, 4)
    assert not man.check_point_on_manifold(-torch.eye(3))  # det −1
    assert man.inner(torch.eye(3), torch.zeros(4, 3, 3)).shape == (4,)


@pytest.mark.parametrize("n", [2, 4])
def test_other_n(n):
    man = SpecialOrthogonal(n)
    x = man.random(3, n, n, dtype=torch.float64)
    man.assert_check_point_on_manifold(x)
    u = _tangent(man, x, 0)
    y = man.expmap(x, u)
    man.assert_check_point_on_manifold(y)
    # Exp_x(u) = x·expm(xᵀu), against scipy's expm
    from scipy.linalg import expm

    ref = np.stack([xi @ expm(xi.T @ ui) for xi, ui in zip(x.numpy(), u.numpy())])
    torch.testing.assert_close(y, torch.from_numpy(ref), atol=1e-12, rtol=0)
    with pytest.raises(NotImplementedError, match="n = 3 only"):
        man.logmap(x, y)
    with pytest.raises(ValueError, match="n must be a positive int"):
        SpecialOrthogonal(0)


# ------------------------------------------------------------------ optimisation with geoopt
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_riemannian_optimisation_solves_wahba(opt):
    """Fit R minimising Σ‖R pᵢ − qᵢ‖² over a ManifoldParameter vs scipy's align_vectors (Kabsch)."""
    gen = torch.Generator().manual_seed(0)
    P = torch.randn(30, 3, dtype=torch.float64, generator=gen)
    R_true = scipy_rotations(1, seed=12)[0]
    Qp = P @ R_true.T + 0.05 * torch.randn(30, 3, dtype=torch.float64, generator=gen)
    ref, _ = Rotation.align_vectors(Qp.numpy(), P.numpy())
    R_ref = torch.tensor(ref.as_matrix())
    R = geoopt.ManifoldParameter(torch.eye(3, dtype=torch.float64), manifold=SpecialOrthogonal())
    optim = (
        geoopt.optim.RiemannianSGD([R], lr=0.01)
        if opt == "sgd"
        else geoopt.optim.RiemannianAdam([R], lr=0.05)
    )
    for _ in range(300):
        optim.zero_grad()
        ((P @ R.T - Qp) ** 2).sum().backward()
        optim.step()
    SpecialOrthogonal().assert_check_point_on_manifold(R.detach())
    assert float(geodesic_distance(R.detach(), R_ref)) < (1e-8 if opt == "sgd" else 1e-3)
