"""ProductSpace: geoopt contract, product distance, chunked pdist/cdist, per-factor isometries, optimisers."""

import geoopt
import pytest
import torch

from geomrep.manifolds.products import ProductSpace
from geomrep.manifolds.products import stereographic as st
from geomrep.testing import assert_compiles, assert_gradcheck, assert_invariant, random_rotation

from ._helpers import closed_form_dist

SIG = "H2(-0.7)xS3(1.3)xE2xH1(-2.5)"


@pytest.fixture
def space():
    return ProductSpace(SIG)


def _points(space, n, seed, dtype=torch.float64, std=0.8):
    return space.random(n, space.dim, dtype=dtype, std=std, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_product_distance_is_root_sum_of_squares_of_closed_forms(space, dtype):
    x, y = _points(space, 20, 1, dtype), _points(space, 20, 2, dtype)
    ref = sum(
        closed_form_dist(a, b, f.k) ** 2 for a, b, f in zip(space.split(x), space.split(y), space.factors)
    )
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(space.dist(x, y).double(), ref.sqrt(), rtol=tol, atol=tol)
    torch.testing.assert_close(space.dist2(x, y).double(), ref, rtol=tol, atol=tol)
    assert space.dist(x, y).dtype == dtype


def test_geoopt_contract(space):
    x, y = _points(space, 6, 3), _points(space, 6, 4)
    v = space.logmap(x, y)
    torch.testing.assert_close(space.expmap(x, v), y, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(space.norm(x, v), space.dist(x, y), rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(space.projx(x), x)
    torch.testing.assert_close(space.proju(x, v), v)
    torch.testing.assert_close(space.retr(x, v), space.expmap(x, v))
    space.assert_check_point_on_manifold(x)
    # egrad2rgrad: g_x(rgrad, w) = <egrad, w> for all w
    eg, w = torch.randn(6, space.dim, dtype=torch.float64), torch.randn(6, space.dim, dtype=torch.float64)
    torch.testing.assert_close(space.inner(x, space.egrad2rgrad(x, eg), w), (eg * w).sum(-1))
    # transport along the geodesic is an isometry and maps log_x y to −log_y x
    pv = space.transp(x, y, v)
    torch.testing.assert_close(space.inner(y, pv, pv), space.inner(x, v, v), rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(pv, -space.logmap(y, x), rtol=1e-8, atol=1e-10)
    # broadcasting: one point against a batch
    assert space.dist(x[0], y).shape == (6,)
    assert space.logmap(x[0], y).shape == (6, space.dim)
    torch.testing.assert_close(space.logmap0(space.expmap0(0.3 * eg)), 0.3 * eg, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(
        space.dist(space.origin(space.dim, dtype=torch.float64), x),
        torch.stack([space.dist(torch.zeros(space.dim, dtype=torch.float64), xi) for xi in x]),
    )


def test_pdist_cdist_chunked_match_pairwise(space):
    x, y = _points(space, 37, 5), _points(space, 11, 6)
    full = space.cdist(x, y)
    ref = space.dist(x[:, None, :], y[None, :, :])
    torch.testing.assert_close(full, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        space.cdist(x, y, block_elements=1), full, rtol=1e-14, atol=1e-14
    )  # 1 row/block
    torch.testing.assert_close(space.cdist(x, y, squared=True), full**2, rtol=1e-12, atol=1e-12)
    P = space.pdist(x)
    assert P.shape == (37, 37) and float(P.diagonal().abs().max()) == 0.0
    torch.testing.assert_close(P, P.T)
    assert space.cdist(x[:0], y).shape == (0, 11)  # empty batch
    assert space.pdist(x[:0]).shape == (0, 0)
    # gradients through the zero diagonal stay finite (training uses all pairs)
    xr = x.clone().requires_grad_(True)
    space.pdist(xr).sum().backward()
    assert torch.isfinite(xr.grad).all()


def _moebius_and_rotation_action(space):
    """A random per-factor isometry: y ↦ Q_i (a_i ⊕ y_i) on curved factors, Q_i y_i + b_i on E."""

    def sample(dtype=torch.float64):
        g = torch.Generator().manual_seed(int(torch.randint(0, 10**6, ())))
        parts = []
        for f in space.factors:
            Q = random_rotation(dtype=dtype) if f.dim == 3 else None
            if Q is None:
                A = torch.randn(f.dim, f.dim, dtype=torch.float64, generator=g)
                Q = torch.linalg.qr(A)[0].to(dtype)
            a = (0.3 * torch.randn(f.dim, dtype=torch.float64, generator=g)).to(dtype)
            parts.append((Q, a))
        return parts

    def act(g, x):
        out = []
        for (Q, a), xi, f in zip(g, space.split(x), space.factors):
            moved = xi + a if f.k == 0 else st.mobius_add(a.expand_as(xi), xi, f.k)
            out.append(moved @ Q.T)
        return torch.cat(out, -1)

    return sample, act


def test_distances_invariant_under_per_factor_isometries(space):
    x, y = _points(space, 8, 7), _points(space, 8, 8)
    sample, act = _moebius_and_rotation_action(space)
    assert_invariant(lambda a, b: space.dist(a, b), (x, y), (act, act), group_sampler=sample, trials=4)
    assert_invariant(lambda a: space.pdist(a), (x,), (act,), group_sampler=sample, trials=2)
    # control: acting on one argument only changes distances (the check can fail)
    with pytest.raises(AssertionError):
        assert_invariant(lambda a, b: space.dist(a, b), (x, y), (act, None), group_sampler=sample, trials=2)


def test_riemannian_adam_finds_the_frechet_mean_of_two_points():
    """Minimising d(p,a)² + d(p,b)² gives the geodesic midpoint: d(p,a) = d(p,b) = d(a,b)/2."""
    space = ProductSpace("H2(-0.5)xS2(2.0)xE1")
    a, b = _points(space, 1, 9, std=0.6)[0], _points(space, 1, 10, std=0.6)[0]
    p = geoopt.ManifoldParameter(space.origin(space.dim, dtype=torch.float64), manifold=space)
    opt = geoopt.optim.RiemannianAdam([p], lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        loss = space.dist2(p, a) + space.dist2(p, b)
        loss.backward()
        opt.step()
    half = float(space.dist(a, b)) / 2
    da, db = float(space.dist(p.detach(), a)), float(space.dist(p.detach(), b))
    assert abs(da - half) < 1e-3 and abs(db - half) < 1e-3
    sgd = geoopt.optim.RiemannianSGD([p], lr=0.01)
    sgd.zero_grad()
    (space.dist2(p, a) + space.dist2(p, b)).backward()
    sgd.step()
    assert torch.isfinite(p).all()


def test_learnable_curvature_state_dict_and_gradients():
    space = ProductSpace("H2xS2xE2", learnable_curvature=True)
    assert [m.k.requires_grad for m in space.manifolds] == [True, True, False]
    x, y = _points(space, 5, 11), _points(space, 5, 12)
    space.dist(x, y).sum().backward()
    assert space.manifolds[0].k.grad is not None and torch.isfinite(space.manifolds[0].k.grad)
    with torch.no_grad():
        space.manifolds[0].k.fill_(-0.3)
    other = ProductSpace("H2xS2xE2", learnable_curvature=True)
    other.load_state_dict(space.state_dict())
    torch.testing.assert_close(other.dist(x, y), space.dist(x, y))
    assert other.signature == "H2(-0.3)xS2xE2"
    torch.testing.assert_close(other.curvatures(), torch.tensor([-0.3, 1.0, 0.0], dtype=torch.float64))


def test_gradcheck_and_compile(space):
    x, y = _points(space, 3, 13, std=0.5), _points(space, 3, 14, std=0.5)
    assert_gradcheck(lambda a, b: space.dist(a, b), (x, y))
    assert_gradcheck(lambda a: space.pdist(a), (x,))
    assert_gradcheck(lambda a, b: space.expmap(a, 0.2 * b), (x, y))
    assert_compiles(lambda a, b: space.cdist(a, b), x, y, backend="aot_eager", max_graph_breaks=0)
    assert_compiles(lambda a, b: space.logmap(a, b), x.float(), y.float(), backend="aot_eager")


def test_mobius_matvec_and_bad_inputs(space):
    x = _points(space, 4, 15)
    eyes = [torch.eye(d, dtype=torch.float64) for d in space.dims]
    torch.testing.assert_close(space.mobius_matvec(eyes, x), x, rtol=1e-10, atol=1e-12)
    Qs = [torch.linalg.qr(torch.randn(d, d, dtype=torch.float64))[0] for d in space.dims]
    # orthogonal maps are isometries fixing the origin: distance from the origin unchanged
    o = space.origin(space.dim, dtype=torch.float64)
    torch.testing.assert_close(
        space.dist(o, space.mobius_matvec(Qs, x)), space.dist(o, x), rtol=1e-9, atol=1e-10
    )
    with pytest.raises(ValueError, match="matrices"):
        space.mobius_matvec(eyes[:2], x)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 8\)"):
        space.dist(x[:, :3], x[:, :3])
    with pytest.raises(TypeError, match="x must have a real floating dtype"):
        space.dist(torch.zeros(2, 8, dtype=torch.long), x[:2])
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        space.pdist([[0.0] * 8])
    with pytest.raises(ValueError, match="cdist expects"):
        space.cdist(x[None], x)


def test_empty_batches():
    space = ProductSpace("H2xS2xE1")
    e = torch.zeros(0, 5, dtype=torch.float64)
    assert space.dist(e, e).shape == (0,)
    assert space.expmap0(e).shape == (0, 5) and space.logmap0(e).shape == (0, 5)
    assert space.to_ambient(e).shape == (0, 7)
    assert space.wrapped_normal(torch.zeros(5, dtype=torch.float64), 1.0, sample_shape=(0,)).shape == (0, 5)
    assert space.wrapped_normal_log_prob(e, torch.zeros(5, dtype=torch.float64)).shape == (0,)
