"""Quaternions ↔ matrices against scipy (xyzw) and roma; canonical sign; angles 0 … π; q = 0."""

import pytest
import roma
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from geomrep.manifolds.so3 import canonical_quaternion, matrix_to_quaternion, quaternion_to_matrix
from geomrep.testing import assert_compiles, assert_gradcheck

from ._helpers import CRITICAL_ANGLES, DTYPES, rotvec_rotations, scipy_rotations, so3_error


def _canon_xyzw(q):
    s = torch.where(q[..., 3:] < 0, -1.0, 1.0).to(q.dtype)
    return q * s


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_to_quaternion_matches_scipy(dtype):
    R64 = scipy_rotations(500, seed=0)
    R, _ = rotvec_rotations(CRITICAL_ANGLES, seed=1)
    R64 = torch.cat((R64, R))
    ref = _canon_xyzw(torch.tensor(Rotation.from_matrix(R64.numpy()).as_quat()))
    q = matrix_to_quaternion(R64.to(dtype), convention="xyzw")
    tol = 1e-6 if dtype == torch.float32 else 1e-14
    # at angle exactly π (w = 0) both signs are canonical for scipy's rule: compare up to sign there
    err = torch.minimum((q.double() - ref).abs().amax(-1), (q.double() + ref).abs().amax(-1))
    assert float(err.max()) < tol
    assert float((q.double() - ref).abs().amax(-1)[:-1].max()) < tol  # strict below π
    torch.testing.assert_close(q.norm(dim=-1), torch.ones(len(q), dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_quaternion_to_matrix_matches_scipy_and_roma(dtype):
    q = torch.randn(300, 4, dtype=torch.float64)
    ref = torch.tensor(Rotation.from_quat(q.numpy()).as_matrix())  # xyzw, scipy normalises
    tol = 1e-6 if dtype == torch.float32 else 1e-14
    torch.testing.assert_close(quaternion_to_matrix(q.to(dtype), "xyzw").double(), ref, atol=tol, rtol=0)
    wxyz = torch.cat((q[:, 3:], q[:, :3]), -1)
    torch.testing.assert_close(quaternion_to_matrix(wxyz.to(dtype)).double(), ref, atol=tol, rtol=0)
    qn = (q / q.norm(dim=-1, keepdim=True)).to(dtype)
    torch.testing.assert_close(
        quaternion_to_matrix(qn, "xyzw"), roma.unitquat_to_rotmat(qn), atol=tol, rtol=0
    )


def test_round_trip_and_canonical_sign():
    R = scipy_rotations(200, seed=2)
    q = matrix_to_quaternion(R)
    assert bool((q[:, 0] > 0).all())
    torch.testing.assert_close(quaternion_to_matrix(q), R, atol=1e-14, rtol=0)
    torch.testing.assert_close(canonical_quaternion(-q), q)
    q_roma = roma.rotmat_to_unitquat(R)  # xyzw, sign not canonical
    q_roma = q_roma * torch.where(q_roma[:, 3:] < 0, -1.0, 1.0).double()
    torch.testing.assert_close(matrix_to_quaternion(R, "xyzw"), q_roma, atol=1e-14, rtol=0)
    qx = torch.tensor([[0.0, -0.6, 0.8, 0.0], [0.0, 0.0, -1.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(canonical_quaternion(qx), -qx)  # w = 0: first non-zero of x, y, z positive


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_and_scaled_quaternions(dtype):
    q = torch.tensor(
        [[0.0, 0.0, 0.0, 0.0], [1e-30, 2e-30, 0.0, -1e-30], [1e30, 2e30, 0.0, -1e30]], dtype=dtype
    )
    q.requires_grad_(True)
    R = quaternion_to_matrix(q)
    torch.testing.assert_close(R[0], torch.eye(3, dtype=dtype))  # documented: q = 0 gives the identity
    torch.testing.assert_close(R[1], R[2])
    assert so3_error(R) < 1e-6
    R.sum().backward()
    assert torch.isfinite(q.grad).all()


def test_gradcheck():
    q = torch.randn(4, 4, dtype=torch.float64)
    assert_gradcheck(quaternion_to_matrix, q)
    R, _ = rotvec_rotations([0.3, 1e-4, 3.1], seed=3)

    def through_matrix(omega):  # matrix_to_quaternion on a path R·exp(hat(ω)) that stays in SO(3)
        return matrix_to_quaternion(R @ torch.linalg.matrix_exp(_hat(omega)))

    assert_gradcheck(through_matrix, torch.zeros(3, 3, dtype=torch.float64))


def _hat(w):
    o = torch.zeros_like(w[..., 0])
    x, y, z = w.unbind(-1)
    return torch.stack(
        (torch.stack((o, -z, y), -1), torch.stack((z, o, -x), -1), torch.stack((-y, x, o), -1)), -2
    )


def test_validation():
    with pytest.raises(ValueError, match="convention must be"):
        quaternion_to_matrix(torch.randn(4), convention="wzyx")
    with pytest.raises(ValueError, match=r"q must have shape \(\.\.\., 4\)"):
        quaternion_to_matrix(torch.randn(3))
    with pytest.raises(TypeError, match="R must have dtype"):
        matrix_to_quaternion(torch.eye(3, dtype=torch.int32))
    assert matrix_to_quaternion(torch.zeros(0, 3, 3)).shape == (0, 4)
    assert quaternion_to_matrix(torch.zeros(2, 0, 4)).shape == (2, 0, 3, 3)


def test_compiles():
    assert_compiles(quaternion_to_matrix, torch.randn(5, 4), backend="aot_eager", fullgraph=True)
    assert_compiles(
        matrix_to_quaternion, scipy_rotations(5, seed=0).float(), backend="aot_eager", fullgraph=True
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    log_scale=st.floats(-30, 30),
    zero_w=st.booleans(),
    dtype=st.sampled_from(DTYPES),
)
def test_property_round_trip(seed, log_scale, zero_w, dtype):
    """q ↦ R ↦ q returns the canonical ±q/|q| for any scale, also at angle π (w = 0)."""
    q = torch.randn(4, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    if zero_w:
        q[0] = 0.0
    R = quaternion_to_matrix((q * 10.0**log_scale).to(dtype))
    assert so3_error(R) < (1e-6 if dtype == torch.float32 else 1e-14)
    back = matrix_to_quaternion(R).double()
    expected = canonical_quaternion(q / q.norm())
    tol = 2e-6 if dtype == torch.float32 else 1e-14
    assert float(torch.minimum((back - expected).abs().max(), (back + expected).abs().max())) < tol
    assert float(back[0]) >= 0
