"""Rotation vectors ↔ matrices against scipy and roma, at the critical angles 0 … π, values and gradients."""

import math

import pytest
import roma
import torch
from scipy.spatial.transform import Rotation

from geomrep.manifolds.so3 import axis_angle_to_matrix, hat, matrix_to_axis_angle, vee
from geomrep.testing import assert_compiles, assert_gradcheck

from ._helpers import CRITICAL_ANGLES, DTYPES, rotvec_rotations, scipy_rotations, so3_error


@pytest.mark.parametrize("dtype", DTYPES)
def test_axis_angle_to_matrix_matches_scipy(dtype):
    R_ref, rv = rotvec_rotations(list(CRITICAL_ANGLES) + [0.5, 2.0, 5.0, 10.0], seed=0)
    R = axis_angle_to_matrix(rv.to(dtype))
    tol = 1e-6 if dtype == torch.float32 else 1e-14
    assert float((R.double() - R_ref).abs().max()) < tol
    assert so3_error(R) < tol
    torch.testing.assert_close(R, roma.rotvec_to_rotmat(rv.to(dtype)), atol=tol, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_to_axis_angle_matches_scipy_at_critical_angles(dtype):
    R, rv = rotvec_rotations(CRITICAL_ANGLES, seed=1)
    v = matrix_to_axis_angle(R.to(dtype)).double()
    ref = torch.tensor(Rotation.from_matrix(R.numpy()).as_rotvec())
    # small angles: relative accuracy of the angle itself (scipy's float64 value as reference)
    for k, theta in enumerate(CRITICAL_ANGLES):
        if theta == 0.0:
            assert float(v[k].abs().max()) == 0.0
            continue
        err = float(torch.minimum((v[k] - ref[k]).norm(), (v[k] + ref[k]).norm()))  # ±v at exactly π
        if theta < 1:
            assert err <= (1e-6 if dtype == torch.float32 else 1e-14) * theta
        else:
            assert err <= (2e-6 if dtype == torch.float32 else 1e-14)
        assert abs(float(v[k].norm()) - theta) <= (2e-6 if dtype == torch.float32 else 1e-14) * max(theta, 1)


def test_random_round_trip_and_roma():
    R = scipy_rotations(500, seed=2)
    v = matrix_to_axis_angle(R)
    torch.testing.assert_close(v, roma.rotmat_to_rotvec(R), atol=1e-12, rtol=0)
    torch.testing.assert_close(axis_angle_to_matrix(v), R, atol=1e-14, rtol=0)
    assert float(v.norm(dim=-1).max()) <= math.pi


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_at_critical_angles(dtype):
    """d/dθ of R(θ n) is R(θn)·[n]× at every angle; d/dv at v = 0 is the hat map (finite everywhere)."""
    for theta in CRITICAL_ANGLES:
        n = torch.tensor([0.48, -0.6, 0.64], dtype=dtype)
        t = torch.tensor(theta, dtype=dtype, requires_grad=True)
        R = axis_angle_to_matrix(t * n)
        W = torch.randn(3, 3, dtype=dtype)
        (g,) = torch.autograd.grad((R * W).sum(), t)
        expected = (R.detach() @ hat(n) * W).sum()
        assert torch.isfinite(g)
        torch.testing.assert_close(g, expected, atol=1e-5 if dtype == torch.float32 else 1e-12, rtol=0)


def test_gradcheck_both_directions():
    rv = torch.tensor(
        [[0.0, 0.0, 0.0], [1e-6, -2e-6, 0.5e-6], [1e-4, 0.0, 0.0], [0.3, -1.0, 2.0]], dtype=torch.float64
    )
    assert_gradcheck(axis_angle_to_matrix, rv)
    R0, _ = rotvec_rotations([0.0, 1e-4, 1.0, math.pi - 1e-3], seed=3)

    def log_on_path(omega):
        return matrix_to_axis_angle(R0 @ axis_angle_to_matrix(omega))

    assert_gradcheck(log_on_path, torch.zeros(4, 3, dtype=torch.float64), eps=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_gradient_finite_near_pi(dtype):
    R, _ = rotvec_rotations([math.pi - 1e-6, math.pi], seed=4, dtype=dtype)
    R.requires_grad_(True)
    v = matrix_to_axis_angle(R)
    v.sum().backward()
    assert torch.isfinite(R.grad).all()


def test_hat_vee():
    v = torch.randn(5, 3, dtype=torch.float64)
    w = torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close((hat(v) @ w[..., None])[..., 0], torch.linalg.cross(v, w))
    torch.testing.assert_close(vee(hat(v)), v)


def test_validation_and_empty():
    with pytest.raises(ValueError, match=r"v must have shape \(\.\.\., 3\)"):
        axis_angle_to_matrix(torch.zeros(4))
    with pytest.raises(ValueError, match="v contains NaN"):
        axis_angle_to_matrix(torch.tensor([float("nan"), 0.0, 0.0]))
    with pytest.raises(TypeError, match="R must have dtype"):
        matrix_to_axis_angle(torch.eye(3, dtype=torch.bfloat16))
    assert axis_angle_to_matrix(torch.zeros(0, 3)).shape == (0, 3, 3)
    assert matrix_to_axis_angle(torch.zeros(0, 3, 3)).shape == (0, 3)


def test_compiles():
    assert_compiles(axis_angle_to_matrix, torch.randn(6, 3), backend="aot_eager", fullgraph=True)
    assert_compiles(matrix_to_axis_angle, scipy_rotations(6, 0).float(), backend="aot_eager", fullgraph=True)
