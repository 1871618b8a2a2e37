"""Geodesic distance: values (mpmath reference) and gradients at 0 … π in float32/64; the loss module."""

import math

import mpmath
import pytest
import roma
import torch
from scipy.spatial.transform import Rotation

from geomrep.manifolds.so3 import GeodesicLoss, geodesic_distance
from geomrep.testing import assert_compiles, assert_gradcheck, assert_invariant, random_rotation

from ._helpers import CRITICAL_ANGLES, DTYPES, scipy_rotations


def _rot_z(t: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(t), torch.sin(t)
    o, one = torch.zeros_like(t), torch.ones_like(t)
    return torch.stack(
        (torch.stack((c, -s, o), -1), torch.stack((s, c, o), -1), torch.stack((o, o, one), -1)), -2
    )


def _acos_clamped(R1, R2, clamp=1e-7):
    """6DRepNet's loss: acos of the clamped cosine (the baseline with the dead gradient)."""
    cos = ((R1.mT @ R2).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    return torch.acos(torch.clamp(cos, -1 + clamp, 1 - clamp))


@pytest.mark.parametrize("dtype", DTYPES)
def test_values_at_critical_angles_vs_mpmath(dtype):
    """R₂ = R_z(θ): the exact angle of the *stored* matrix is atan2(sin_f, cos_f) of its stored entries."""
    mpmath.mp.dps = 40
    t = torch.tensor(CRITICAL_ANGLES, dtype=torch.float64).to(dtype)
    R2 = _rot_z(t)
    eye = torch.eye(3, dtype=dtype).expand_as(R2)
    d = geodesic_distance(eye, R2)
    for k in range(len(t)):
        ref = abs(mpmath.atan2(mpmath.mpf(float(R2[k, 1, 0])), mpmath.mpf(float(R2[k, 0, 0]))))
        err = abs(float(d[k]) - float(ref))
        eps = torch.finfo(dtype).eps
        # relative accuracy near 0, absolute accuracy (a few ulps of π) near π
        assert err <= 4 * eps * max(float(ref), 1e-300) or (float(ref) > 1 and err <= 4 * eps * math.pi), (
            k,
            err,
        )


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradient_is_one_along_geodesics(dtype):
    """d/dt d(R₀, R₀R_z(t)) = 1 for t in (0, π); at exactly 0 and π the (sub)gradient is 0, never NaN."""
    R0 = scipy_rotations(1, seed=0, dtype=dtype)[0]
    for theta in CRITICAL_ANGLES:
        t = torch.tensor(theta, dtype=dtype, requires_grad=True)
        (g,) = torch.autograd.grad(geodesic_distance(R0, R0 @ _rot_z(t)), t)
        assert torch.isfinite(g)
        if theta == 0.0:
            assert float(g) == 0.0
        elif theta == math.pi:  # the stored R_z(π) is within an ulp of π: any value in the subdifferential
            assert abs(float(g)) <= 1 + 1e-6
        else:
            assert abs(float(g) - 1) < (1e-3 if dtype == torch.float32 else 1e-9), (theta, float(g))


def test_baselines_fail_where_we_do_not():
    """The 6DRepNet clamp has zero gradient at 1e-4 in float32; roma's asin form is infinite at π."""
    t = torch.tensor(1e-4, requires_grad=True)
    (g,) = torch.autograd.grad(_acos_clamped(torch.eye(3), _rot_z(t)), t)
    assert float(g) == 0.0
    t = torch.tensor(math.pi - 1e-7, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(roma.rotmat_geodesic_distance(torch.eye(3, dtype=torch.float64), _rot_z(t)), t)
    assert not torch.isfinite(g) or abs(float(g) - 1) > 1e-3


def test_matches_roma_and_scipy_on_random_pairs():
    R1, R2 = scipy_rotations(400, seed=1), scipy_rotations(400, seed=2)
    d = geodesic_distance(R1, R2)
    ref = torch.tensor(
        (Rotation.from_matrix(R1.numpy()).inv() * Rotation.from_matrix(R2.numpy())).magnitude()
    )
    torch.testing.assert_close(d, ref, atol=1e-13, rtol=0)
    ok = ref < 3.0  # roma's asin form loses digits near π
    torch.testing.assert_close(d[ok], roma.rotmat_geodesic_distance(R1, R2)[ok], atol=1e-12, rtol=0)


def test_bi_invariance():
    R1, R2 = scipy_rotations(10, seed=3), scipy_rotations(10, seed=4)
    left = (lambda g, R: g @ R,) * 2
    right = (lambda g, R: R @ g,) * 2
    assert_invariant(geodesic_distance, (R1, R2), left, group_sampler=random_rotation)
    assert_invariant(geodesic_distance, (R1, R2), right, group_sampler=random_rotation)


def test_gradcheck_including_near_pi():
    R1 = scipy_rotations(3, seed=5)
    R2 = scipy_rotations(3, seed=6)

    def d_on_path(omega, base, other):
        return geodesic_distance(base, other @ torch.linalg.matrix_exp(_hat(omega)))

    assert_gradcheck(lambda w: d_on_path(w, R1, R2), torch.zeros(3, 3, dtype=torch.float64))
    near_pi = R1 @ _rot_z(torch.tensor(math.pi - 1e-3, dtype=torch.float64))
    assert_gradcheck(lambda w: d_on_path(w, R1, near_pi), torch.zeros(1, 3, dtype=torch.float64), eps=1e-8)
    near_0 = R1 @ _rot_z(torch.tensor(1e-4, dtype=torch.float64))
    assert_gradcheck(
        lambda w: d_on_path(w, R1, near_0), torch.full((1, 3), 1e-5, dtype=torch.float64), eps=1e-8
    )


def _hat(w):
    o = torch.zeros_like(w[..., 0])
    x, y, z = w.unbind(-1)
    return torch.stack(
        (torch.stack((o, -z, y), -1), torch.stack((z, o, -x), -1), torch.stack((-y, x, o), -1)), -2
    )


def test_broadcast_empty_validation():
    R = scipy_rotations(4, seed=7)
    assert geodesic_distance(R[:, None], R[None]).shape == (4, 4)
    assert geodesic_distance(torch.zeros(0, 3, 3), torch.eye(3)).shape == (0,)
    with pytest.raises(TypeError, match="R1 and R2 must have the same dtype"):
        geodesic_distance(R, R.float())
    with pytest.raises(ValueError, match="R2 must have shape"):
        geodesic_distance(R, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="do not broadcast"):
        geodesic_distance(R, R[:3])


def test_loss_module():
    R1, R2 = scipy_rotations(6, seed=8), scipy_rotations(6, seed=9)
    d = geodesic_distance(R1, R2)
    torch.testing.assert_close(GeodesicLoss()(R1, R2), d.mean())
    torch.testing.assert_close(GeodesicLoss("sum", squared=True)(R1, R2), (d**2).sum())
    torch.testing.assert_close(GeodesicLoss("none")(R1, R2), d)
    empty = torch.zeros(0, 3, 3)
    assert float(GeodesicLoss()(empty, empty)) == 0.0
    with pytest.raises(ValueError, match="reduction must be"):
        GeodesicLoss("max")
    loss = GeodesicLoss("sum")
    loss.load_state_dict(GeodesicLoss("sum").state_dict())
    assert_compiles(GeodesicLoss(), R1.float(), R2.float(), backend="aot_eager", fullgraph=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_accuracy_across_the_branch_switch(dtype):
    """|θ − θ_ref| ≤ 1e-6 rad (float32; ≤ 1e-14 in float64) on a dense sweep over [π/2, π], where the cheap
    √(1 − h²) branch meets the sin θ branch at θ = π − 0.45; reference: scipy on the stored entries."""
    t = torch.linspace(math.pi / 2, math.pi, 4001, dtype=torch.float64)
    R0 = scipy_rotations(1, seed=11)[0]
    R2 = (R0 @ _rot_z(t)).to(dtype)
    d = geodesic_distance(R0.to(dtype).expand_as(R2), R2).double()
    r0 = Rotation.from_matrix(R0.to(dtype).double().numpy())
    ref = torch.tensor((r0.inv() * Rotation.from_matrix(R2.double().numpy())).magnitude())
    assert float((d - ref).abs().max()) <= (1e-6 if dtype == torch.float32 else 1e-14)


def test_hand_written_backward_matches_autograd_of_the_formula():
    """Ambient gradients (off SO(3) too) of the custom backward equal autograd through the plain-ops formula,
    in both branches; and the custom function passes gradcheck / gradgradcheck against finite differences."""
    from geomrep.manifolds.so3.distance import _FAR_H2, _Angle, _composite

    g = torch.Generator().manual_seed(0)
    R1 = scipy_rotations(300, seed=12)
    t = torch.linspace(0.0, math.pi - 1e-3, 300, dtype=torch.float64)
    R2 = R1 @ _rot_z(t)
    x = (R1 + 1e-2 * torch.randn(R1.shape, generator=g, dtype=torch.float64)).requires_grad_()
    y = (R2 + 1e-2 * torch.randn(R2.shape, generator=g, dtype=torch.float64)).requires_grad_()
    h2 = 0.125 * ((x - y) ** 2).sum((-2, -1))
    assert int((h2 > _FAR_H2).sum()) > 30 and int((h2 <= _FAR_H2).sum()) > 30  # both branches exercised
    w = torch.randn(300, generator=g, dtype=torch.float64)
    ours = torch.autograd.grad((_Angle.apply(x, y) * w).sum(), (x, y))
    ref = torch.autograd.grad((_composite(x, y) * w).sum(), (x, y))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, atol=1e-11, rtol=1e-9)
    xs, ys = x[::10].detach().requires_grad_(), y[::10].detach().requires_grad_()
    assert torch.autograd.gradcheck(_Angle.apply, (xs, ys))
    assert torch.autograd.gradgradcheck(_Angle.apply, (xs, ys))
