"""κ-stereographic core vs closed forms, mpmath near the boundary, κ → 0 continuity, transports."""

import geoopt
import mpmath
import pytest
import torch

from geomrep.manifolds.products import stereographic as st
from geomrep.testing import assert_gradcheck

from ._helpers import ball_points, closed_form_dist

KS = [-2.7, -0.37, 0.0, 0.45, 3.1]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", KS)
def test_dist_matches_closed_form(k, dtype):
    x = ball_points(50, 4, k, seed=1, dtype=dtype)
    y = ball_points(50, 4, k, seed=2, dtype=dtype)
    d = st.dist(x, y, k)
    ref = closed_form_dist(x, y, k)
    assert d.dtype == dtype and d.shape == (50,)
    tol = 1e-10 if dtype == torch.float64 else 2e-5
    torch.testing.assert_close(d.double(), ref, rtol=tol, atol=tol)
    torch.testing.assert_close(
        st.dist0(x, k).double(), closed_form_dist(torch.zeros_like(x), x, k), rtol=tol, atol=tol
    )


def test_mobius_addition_is_the_complex_mobius_map():
    """For κ = −1 in 2-D, x ⊕ y = (x + y) / (1 + x̄ y) (complex numbers): an independent formula."""
    x = ball_points(20, 2, -1.0, seed=3)
    y = ball_points(20, 2, -1.0, seed=4)
    zx, zy = torch.complex(x[:, 0], x[:, 1]), torch.complex(y[:, 0], y[:, 1])
    ref = (zx + zy) / (1 + zx.conj() * zy)
    out = st.mobius_add(x, y, -1.0)
    torch.testing.assert_close(torch.complex(out[:, 0], out[:, 1]), ref, rtol=1e-12, atol=1e-14)


def _mp_dist_from_origin(r: float, c: float) -> float:
    mpmath.mp.dps = 50
    r = mpmath.mpf(r)
    return float(2 * mpmath.atanh(mpmath.sqrt(c) * r) / mpmath.sqrt(c))


@pytest.mark.parametrize("c", [1.0, 0.3])
def test_precision_near_the_boundary_float64(c):
    """Points with 1 − c‖x‖² down to 1e-15: distances agree with mpmath; geoopt's clamp caps them."""
    gaps = torch.tensor([1e-3, 1e-7, 1e-10, 1e-13, 1e-15], dtype=torch.float64)
    r = (1 - gaps).sqrt() / c**0.5  # 1 − c r² = gap
    x = torch.stack([r, torch.zeros_like(r)], -1)
    ours = st.dist0(x, -c)
    ref = torch.tensor([_mp_dist_from_origin(float(ri), c) for ri in r], dtype=torch.float64)
    # the stored float r itself carries a relative error ≈ 1e-16/gap in the gap: that is the envelope
    torch.testing.assert_close(ours, ref, rtol=1e-16 / gaps.min() * 4, atol=0)
    assert float(ours[-1]) > 30 / c**0.5
    capped = geoopt.Stereographic(-c).dist0(x)
    assert float(capped[-1]) < float(ours[-1]) - 10  # geoopt's 1 − 1e-7 clamp caps the distance
    # pairwise distance between two near-boundary points on the same ray: also accurate
    y = x.flip(0)
    mpmath.mp.dps = 50
    ref_pair = [
        float(
            abs(
                2 * mpmath.atanh(mpmath.sqrt(c) * mpmath.mpf(float(a)))
                - 2 * mpmath.atanh(mpmath.sqrt(c) * mpmath.mpf(float(b)))
            )
            / mpmath.sqrt(c)
        )
        for a, b in zip(r, r.flip(0))
    ]
    torch.testing.assert_close(
        st.dist(x, y, -c), torch.tensor(ref_pair, dtype=torch.float64), rtol=1e-3, atol=1e-9
    )


def test_project_margin_depends_on_dtype():
    for dtype, lo in [(torch.float64, 30.0), (torch.float32, 13.0)]:
        x = torch.tensor([[2.0, 0.0]], dtype=dtype)  # outside the unit ball
        p = st.project(x, -1.0)
        assert float(p.norm()) < 1.0
        d = float(st.dist0(p, -1.0))
        assert lo < d < lo + 8, (dtype, d)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", KS)
def test_exp_log_inverse_and_distance(k, dtype):
    x = ball_points(30, 3, k, seed=5, dtype=dtype, scale=0.6)
    y = ball_points(30, 3, k, seed=6, dtype=dtype, scale=0.6)
    v = st.logmap(x, y, k)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(st.expmap(x, v, k), y, rtol=tol, atol=tol)
    lam = st.lambda_x(x, k)
    torch.testing.assert_close(lam * v.norm(dim=-1), st.dist(x, y, k), rtol=tol, atol=tol)
    torch.testing.assert_close(st.expmap0(st.logmap0(y, k), k), y, rtol=tol, atol=tol)
    u = torch.randn(30, 3, dtype=dtype)
    u = 0.5 * u / (u.norm(dim=-1, keepdim=True) * lam[:, None])  # Riemannian length 0.5 < π/√κ (cut locus)
    torch.testing.assert_close(st.logmap(x, st.expmap(x, u, k), k), u, rtol=tol * 10, atol=tol * 10)
    torch.testing.assert_close(
        st.dist(x, st.expmap(x, u, k), k), torch.full_like(lam, 0.5), rtol=tol, atol=tol
    )


@pytest.mark.parametrize("k", [-1.3, 0.0, 0.8])
def test_parallel_transport(k):
    """Isometry of tangent spaces, and P_{x→y}(log_x y) = −log_y x (the geodesic's velocity)."""
    x = ball_points(10, 3, k, seed=7, scale=0.6)
    y = ball_points(10, 3, k, seed=8, scale=0.6)
    v = torch.randn(10, 3, dtype=torch.float64)
    w = torch.randn(10, 3, dtype=torch.float64)
    pv, pw = st.transp(x, y, v, k), st.transp(x, y, w, k)
    lx, ly = st.lambda_x(x, k), st.lambda_x(y, k)
    torch.testing.assert_close(ly**2 * (pv * pw).sum(-1), lx**2 * (v * w).sum(-1), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        st.transp(x, y, st.logmap(x, y, k), k), -st.logmap(y, x, k), rtol=1e-9, atol=1e-11
    )


def test_gyration_closed_form_matches_definition():
    for k in (-0.9, 0.6):
        u, v, w = (ball_points(8, 3, k, seed=s, scale=0.5) for s in (9, 10, 11))
        ref = st.mobius_add(-st.mobius_add(u, v, k), st.mobius_add(u, st.mobius_add(v, w, k), k), k)
        torch.testing.assert_close(st.gyration(u, v, w, k), ref, rtol=1e-10, atol=1e-12)


def test_kappa_to_zero_values_and_gradients_continuous():
    x = ball_points(6, 3, 0.0, seed=12) * 0.5
    y = ball_points(6, 3, 0.0, seed=13) * 0.5
    u = 0.4 * torch.randn(6, 3, dtype=torch.float64)

    def fns(k):
        kk = torch.tensor(k, dtype=torch.float64, requires_grad=True)
        xx = x.clone().requires_grad_(True)
        out = st.dist(xx, y, kk).sum() + st.expmap(xx, u, kk).sum() + st.logmap(xx, y, kk).sum()
        out.backward()
        return out.detach(), xx.grad, kk.grad

    v0, gx0, gk0 = fns(0.0)
    for k in (1e-12, -1e-12, 1e-7, -1e-7):
        v, gx, gk = fns(k)
        torch.testing.assert_close(v, v0, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(gx, gx0, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(gk, gk0, rtol=1e-4, atol=1e-5)
    # d/dκ across the switch between the series and the closed-form branch: finite differences agree
    for k in (2e-5, -2e-5, 3e-3, -3e-3, 0.5, -0.5):
        _, _, gk = fns(k)
        h = 1e-7
        fd = (fns(k + h)[0] - fns(k - h)[0]) / (2 * h)
        torch.testing.assert_close(gk, fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("k", [-0.7, 1e-6, 0.9])
def test_gradcheck_in_points_and_curvature(k):
    kp = k if abs(k) > 1e-3 else 0.0  # points of unit scale near κ = 0
    x = ball_points(4, 3, kp, seed=14, scale=0.6)
    y = ball_points(4, 3, kp, seed=15, scale=0.6)
    kk = torch.tensor(k, dtype=torch.float64)
    assert_gradcheck(lambda a, b, c: st.dist(a, b, c), (x, y, kk))
    assert_gradcheck(lambda a, b, c: st.logmap(a, b, c), (x, y, kk))
    assert_gradcheck(lambda a, b, c: st.expmap(a, 0.3 * b, c), (x, y, kk))


def test_gradient_at_coincident_points_is_finite():
    x = ball_points(3, 2, -1.0, seed=16).requires_grad_(True)
    st.dist(x, x.detach(), -1.0).sum().backward()
    assert torch.isfinite(x.grad).all() and float(x.grad.abs().max()) == 0.0
    u = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    st.expmap0(u, -1.0).sum().backward()
    assert torch.isfinite(u.grad).all()


def test_near_boundary_opposite_points_stay_finite_and_accurate():
    """Möbius denominators without cancellation for near-boundary points on opposite sides.

    1 − 2κ⟨x,y⟩ + κ²‖x‖²‖y‖² for y = −t·x (κ = −1) is exactly (1 − t‖x‖²)²; summed naively it is rounding
    noise once that is below 1e-16 (it made Riemannian Adam produce NaN points in training).
    """
    for gap in (1e-7, 1e-10, 1e-12):
        r = 1 - gap
        x = torch.tensor([[r, 0.0]], dtype=torch.float64)
        y = -x * (1 - gap)
        exact = (1 - r * r * (1 - gap)) ** 2
        den = st._mobius_den(x, y, x.pow(2).sum(-1, keepdim=True), y.pow(2).sum(-1, keepdim=True), -1.0)
        torch.testing.assert_close(den, torch.full_like(den, exact), rtol=1e-6, atol=0)
        v = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
        pv = st.transp(x, y, v, -1.0)
        lx, ly = st.lambda_x(x, -1.0), st.lambda_x(y, -1.0)
        torch.testing.assert_close(ly * pv.norm(dim=-1), lx * v.norm(dim=-1), rtol=1e-5, atol=0)
