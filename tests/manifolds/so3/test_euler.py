"""Euler angles in all 12 sequences, intrinsic and extrinsic, against scipy; gimbal lock."""

import math

import pytest
import roma
import torch
from scipy.spatial.transform import Rotation

from geomrep.manifolds.so3 import EULER_SEQUENCES, euler_to_matrix, matrix_to_euler
from geomrep.testing import assert_compiles, assert_gradcheck

from ._helpers import DTYPES, scipy_rotations

ALL_SEQ = EULER_SEQUENCES + tuple(s.lower() for s in EULER_SEQUENCES)


@pytest.mark.parametrize("seq", ALL_SEQ)
@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_scipy(seq, dtype):
    R = scipy_rotations(200, seed=0)
    ref = torch.tensor(Rotation.from_matrix(R.numpy()).as_euler(seq))
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(matrix_to_euler(R.to(dtype), seq).double(), ref, atol=tol, rtol=0)
    back = torch.tensor(Rotation.from_euler(seq, ref.numpy()).as_matrix())
    torch.testing.assert_close(euler_to_matrix(ref.to(dtype), seq).double(), back, atol=tol, rtol=0)


@pytest.mark.parametrize("seq", ["XYZ", "zyx", "ZXZ", "yzy"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gimbal_lock_reconstructs(seq, dtype):
    proper = seq[0].lower() == seq[2].lower()
    locks = [0.0, math.pi] if proper else [math.pi / 2, -math.pi / 2]
    angles = torch.tensor([[0.7, b, -0.4] for b in locks], dtype=torch.float64)
    R = euler_to_matrix(angles, seq).to(dtype)
    a = matrix_to_euler(R, seq)
    assert torch.isfinite(a).all()
    tol = 2e-6 if dtype == torch.float32 else 1e-13
    torch.testing.assert_close(euler_to_matrix(a, seq), R, atol=tol, rtol=0)
    # third angle 0 at gimbal lock, as scipy does (scipy warns; we document it)
    third = 0 if seq.islower() else 2
    assert float(a[:, third].abs().max()) == 0.0


def test_gradcheck_away_from_lock():
    ang = torch.tensor([[0.3, -0.4, 1.2], [2.0, 0.1, -2.5]], dtype=torch.float64)
    for seq in ("XYZ", "zxz"):
        assert_gradcheck(lambda a, s=seq: euler_to_matrix(a, s), ang)
        R = euler_to_matrix(ang.abs() * 0.5 + 0.2, seq)
        assert_gradcheck(lambda M, s=seq: matrix_to_euler(M, s), R)


def test_validation():
    for bad in ("XYX ", "XXY", "xYz", "abc", 3):
        with pytest.raises(ValueError, match="seq must be"):
            euler_to_matrix(torch.zeros(3), bad)
    with pytest.raises(ValueError, match=r"angles must have shape"):
        euler_to_matrix(torch.zeros(2), "XYZ")
    with pytest.raises(TypeError, match="angles must have dtype"):
        euler_to_matrix(torch.zeros(3, dtype=torch.int64), "XYZ")
    assert matrix_to_euler(torch.zeros(0, 3, 3), "zyz").shape == (0, 3)


def test_compiles():
    assert_compiles(
        lambda a: euler_to_matrix(a, "ZYX"), torch.randn(4, 3), backend="aot_eager", fullgraph=True
    )


@pytest.mark.parametrize("seq", ["XYZ", "ZYZ", "xzy", "yxy"])
def test_matches_roma(seq):
    """roma follows scipy's conventions (upper case intrinsic, lower case extrinsic): a second reference."""
    R = scipy_rotations(100, seed=5)
    torch.testing.assert_close(matrix_to_euler(R, seq), roma.rotmat_to_euler(seq, R), atol=1e-10, rtol=0)
    ang = matrix_to_euler(R, seq)
    torch.testing.assert_close(euler_to_matrix(ang, seq), roma.euler_to_rotmat(seq, ang), atol=1e-13, rtol=0)
