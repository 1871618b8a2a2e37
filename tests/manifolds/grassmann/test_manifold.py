"""Grassmann as a geoopt.Manifold: the contract geoopt's own suite checks for every manifold, also Scaled."""

import math

import geoopt
import pytest
import torch

from geomrep.manifolds.grassmann import Grassmann

from ._helpers import exp_svd_ref, horizontal, projector, random_bases

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(atol=2e-5, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}


def _manifolds():
    return [Grassmann(), geoopt.Scaled(Grassmann(), 2.0)]


@pytest.fixture(params=["plain", "scaled"])
def man(request):
    return Grassmann() if request.param == "plain" else geoopt.Scaled(Grassmann(), 2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_projection_identity_and_idempotence(man, dtype):
    x = random_bases(3, 7, 3, seed=1, dtype=dtype)
    x = x * torch.tensor([1.0, -1.0, 1.0], dtype=dtype)  # column signs both ways (LAPACK's QR keeps its own)
    torch.testing.assert_close(man.projx(x), x, **TOL[dtype])  # points are fixed
    a = torch.randn(3, 7, 3, dtype=dtype)
    px = man.projx(a)
    man.assert_check_point_on_manifold(px)
    torch.testing.assert_close(man.projx(px), px, **TOL[dtype])
    torch.testing.assert_close(
        projector(px), projector(torch.linalg.qr(a.double())[0]).to(dtype), **TOL[dtype]
    )
    assert not man.check_point_on_manifold(a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tangent_projection(man, dtype):
    x = random_bases(3, 7, 3, seed=2, dtype=dtype)
    u = man.proju(x, torch.randn(3, 7, 3, dtype=dtype))
    man.assert_check_vector_on_tangent(x, u)
    torch.testing.assert_close(man.proju(x, u), u, **TOL[dtype])
    assert not man.check_vector_on_tangent(x, x)  # x itself is vertical
    # egrad2rgrad: g_x(rgrad, v) = ⟨egrad, v⟩_F for every horizontal v (the defining property)
    g = torch.randn(3, 7, 3, dtype=dtype)
    r = man.egrad2rgrad(x, g)
    v = horizontal(x, seed=3)
    torch.testing.assert_close(
        man.inner(x, r, v), (g * v).sum((-2, -1)), atol=1e-4 if dtype == torch.float32 else 1e-11, rtol=1e-4
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcasting(man, dtype):
    x = random_bases(1, 6, 2, seed=4, dtype=dtype)
    u = torch.randn(4, 6, 2, dtype=dtype)
    assert man.proju(x, u).shape == (4, 6, 2)
    assert man.retr(x, man.proju(x, u)).shape == (4, 6, 2)
    assert man.expmap(x, man.proju(x, u)).shape == (4, 6, 2)
    y = random_bases(4, 6, 2, seed=5, dtype=dtype)
    assert man.transp(x, y, u).shape == (4, 6, 2)
    assert man.projx(torch.randn(2, 4, 6, 2, dtype=dtype)).shape == (2, 4, 6, 2)
    assert man.dist(x, y).shape == (4,)
    assert man.dist(x, y, keepdim=True).shape == (4, 1, 1)
    assert man.logmap(x, y).shape == (4, 6, 2)
    assert man.inner(x, u).shape == (4,)
    assert man.inner(y, u[:1]).shape == (4,)  # broadcast to the point's batch shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_log_and_distance(man, dtype):
    x = random_bases(5, 8, 3, seed=6, dtype=dtype)
    y = random_bases(5, 8, 3, seed=7, dtype=dtype)
    v = man.logmap(x, y)
    man.assert_check_vector_on_tangent(x, v)
    torch.testing.assert_close(projector(man.expmap(x, v)), projector(y), **TOL[dtype])  # exp ∘ log = id
    torch.testing.assert_close(man.dist(x, y), man.norm(x, v), **TOL[dtype])
    u = horizontal(x, seed=8, scale=1.2)  # ‖u‖₂ ≤ 1.2 < π/2 (intrinsic, before any Scaled rescaling)
    if isinstance(man, geoopt.Scaled):
        u = u * 2.0  # Scaled(·, 2): tangent vectors are twice as long for the same geodesic
    u = u.to(dtype)
    torch.testing.assert_close(man.logmap(x, man.expmap(x, u)), u, **TOL[dtype])  # log ∘ exp = id
    torch.testing.assert_close(man.dist(x, man.expmap(x, u)), man.norm(x, u), **TOL[dtype])
    torch.testing.assert_close(man.dist2(x, y), man.dist(x, y) ** 2, **TOL[dtype])


def test_scaled_rescales_distance():
    x = random_bases(4, 6, 2, seed=9)
    y = random_bases(4, 6, 2, seed=10)
    torch.testing.assert_close(geoopt.Scaled(Grassmann(), 3.0).dist(x, y), 3.0 * Grassmann().dist(x, y))


@pytest.mark.parametrize("dtype", DTYPES)
def test_retr_expmap_agree_to_second_order(dtype):
    """QR retraction: d(retr(x, tu), exp(x, tu)) = O(t³) (a second-order retraction)."""
    man = Grassmann()
    x = random_bases(8, 3, seed=11).to(dtype)
    u = horizontal(x, seed=12, scale=1.0)
    errs = []
    for t in (1e-1, 1e-2):
        a, b = man.retr(x, t * u), man.expmap(x, t * u)
        errs.append(float(man.dist(a, b)))
    man.assert_check_point_on_manifold(man.retr(x, u))
    if dtype == torch.float64:
        assert (
            errs[1] < errs[0] / 500
        )  # at least third order in t for the subspaces (second-order retraction)
    torch.testing.assert_close(
        man.expmap(x, u).double(), exp_svd_ref(x, u), atol=1e-5 if dtype == torch.float32 else 1e-12, rtol=0
    )


def test_transp_retr_transp_and_origin_random():
    man = Grassmann()
    x = random_bases(2, 6, 2, seed=13)
    y = random_bases(2, 6, 2, seed=14)
    v = horizontal(x, seed=15)
    w = man.transp(x, y, v)
    man.assert_check_vector_on_tangent(y, w)
    torch.testing.assert_close(w, v - y @ (y.mT @ v))
    u = horizontal(x, seed=16, scale=0.5)
    y2, w2 = man.retr_transp(x, u, v)
    torch.testing.assert_close(y2, man.retr(x, u))
    torch.testing.assert_close(w2, man.transp(x, y2, v))
    o = man.origin(3, 5, 2, dtype=torch.float64)
    torch.testing.assert_close(o[1], torch.eye(5, 2, dtype=torch.float64))
    r = man.random(3, 5, 2, dtype=torch.float64)
    man.assert_check_point_on_manifold(r)
    assert isinstance(r, geoopt.ManifoldTensor) and r.manifold is man
    with pytest.raises(ValueError, match="1 <= k <= d"):
        man.random(2, 3)


def test_shape_checks():
    man = Grassmann()
    assert man._check_shape((4, 3), "x")[0]
    assert not man._check_shape((3, 4), "x")[0]
    assert not man._check_shape((4,), "x")[0]
    with pytest.raises(ValueError, match="1 <= k <= d"):
        man.assert_check_point(torch.zeros(3, 4))
    with pytest.raises(TypeError, match="subspace_dims"):
        Grassmann(subspace_dims=3)
    with pytest.raises(ValueError, match="subspace_dims\\[1\\]"):
        Grassmann(subspace_dims=[2, 0])


# --------------------------------------------------------------------------- mixed subspace dimensions
def _padded(dims, d, seed, dtype=torch.float64):
    kmax = max(dims)
    out = torch.zeros(len(dims), d, kmax, dtype=dtype)
    for i, k in enumerate(dims):
        out[i, :, :k] = random_bases(d, k, seed=seed + i, dtype=dtype)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_mixed_dims_match_per_class_manifolds(dtype):
    """Grassmann(subspace_dims) on a padded tensor == the plain manifold on each class's own k columns."""
    dims = [1, 3, 2]
    man, plain = Grassmann(subspace_dims=dims), Grassmann()
    x = _padded(dims, 7, seed=20, dtype=dtype)
    y = _padded(dims, 7, seed=30, dtype=dtype)
    man.assert_check_point_on_manifold(x)
    u = man.proju(x, torch.randn(3, 7, 3, dtype=dtype) * 0.3)
    man.assert_check_vector_on_tangent(x, u)
    d, e, r, lg = man.dist(x, y), man.expmap(x, u), man.retr(x, u), man.logmap(x, y)
    for i, k in enumerate(dims):
        xi, yi, ui = x[i, :, :k], y[i, :, :k], u[i, :, :k]
        torch.testing.assert_close(d[i], plain.dist(xi, yi), **TOL[dtype])
        torch.testing.assert_close(e[i, :, :k], plain.expmap(xi, ui), **TOL[dtype])
        torch.testing.assert_close(projector(r[i, :, :k]), projector(plain.retr(xi, ui)), **TOL[dtype])
        torch.testing.assert_close(lg[i, :, :k], plain.logmap(xi, yi), **TOL[dtype])
        for t in (e, r, lg, u):
            assert bool((t[i, :, k:] == 0).all())  # padding stays exactly zero
    man.assert_check_point_on_manifold(man.projx(torch.randn(3, 7, 3, dtype=dtype)))
    assert not man.check_point_on_manifold(torch.linalg.qr(torch.randn(3, 7, 3, dtype=dtype))[0])
    assert not man._check_shape((4, 7, 3), "x")[0]  # wrong number of classes


def test_mixed_dims_distance_gradient_finite():
    dims = [1, 2]
    man = Grassmann(subspace_dims=dims)
    x = _padded(dims, 5, seed=40).requires_grad_()
    man.dist(x, x.detach().clone()).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert math.isfinite(float(man.dist(x, x).detach().sum()))
