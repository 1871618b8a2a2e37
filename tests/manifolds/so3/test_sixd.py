"""6D ↔ matrix (columns, Zhou et al.) and the row convention, against roma; degenerate inputs."""

import pytest
import roma
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomrep.manifolds.so3 import (
    matrix_to_rotation_6d,
    matrix_to_rotation_6d_rows,
    rotation_6d_rows_to_matrix,
    rotation_6d_to_matrix,
)
from geomrep.testing import assert_compiles, assert_equivariant, assert_gradcheck, random_rotation

from ._helpers import DTYPES, scipy_rotations, so3_error


def _roma_columns(x):
    """roma's Gram–Schmidt takes the two vectors as the columns of a (..., 3, 2) matrix."""
    return roma.special_gramschmidt(torch.stack((x[..., :3], x[..., 3:]), dim=-1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_roma_columns_and_rows(dtype):
    x = torch.randn(2000, 6, dtype=dtype)
    R = rotation_6d_to_matrix(x)
    ref = _roma_columns(x.double())  # roma in float64 on the same inputs
    err = float((R.double() - ref).abs().max())
    if dtype == torch.float32:
        # ill-conditioned draws (a₂ nearly parallel to a₁) amplify rounding: be no worse than roma in float32
        assert err <= max(1e-6, float((_roma_columns(x).double() - ref).abs().max()))
    else:
        assert err < 1e-12
    # pytorch3d-style: the same Gram–Schmidt vectors stacked as rows
    torch.testing.assert_close(rotation_6d_rows_to_matrix(x), R.mT, atol=0, rtol=0)
    assert so3_error(R) < (1e-6 if dtype == torch.float32 else 1e-14)


def test_columns_not_rows():
    """The first column of R is a₁/‖a₁‖ (Zhou et al.), the first row is not (that is the other convention)."""
    x = torch.tensor([[3.0, 0.0, 4.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    R = rotation_6d_to_matrix(x)[0]
    torch.testing.assert_close(R[:, 0], torch.tensor([0.6, 0.0, 0.8], dtype=torch.float64))
    assert not torch.allclose(R[0, :], R[:, 0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(dtype):
    R = scipy_rotations(100, seed=1, dtype=dtype)
    tol = 1e-6 if dtype == torch.float32 else 1e-14
    torch.testing.assert_close(rotation_6d_to_matrix(matrix_to_rotation_6d(R)), R, atol=tol, rtol=0)
    torch.testing.assert_close(rotation_6d_rows_to_matrix(matrix_to_rotation_6d_rows(R)), R, atol=tol, rtol=0)
    torch.testing.assert_close(matrix_to_rotation_6d(R)[:, :3], R[:, :, 0])


def test_left_equivariance():
    def act(g, x):
        return torch.cat((x[..., :3] @ g.mT, x[..., 3:] @ g.mT), dim=-1)

    def left(g, R):
        return g @ R

    x = torch.randn(20, 6, dtype=torch.float64)
    assert_equivariant(rotation_6d_to_matrix, (x,), (act,), left, group_sampler=random_rotation)


@pytest.mark.parametrize("dtype", DTYPES)
def test_degenerate_inputs_are_rotations_without_nan(dtype):
    a = torch.tensor([0.3, -1.2, 0.5], dtype=dtype)
    cases = torch.stack(
        [
            torch.cat((torch.zeros(3, dtype=dtype), a)),  # a1 = 0
            torch.cat((a, torch.zeros(3, dtype=dtype))),  # a2 = 0
            torch.cat((a, 2.5 * a)),  # collinear
            torch.cat((a, -a)),  # anti-collinear
            torch.cat((a, a + 1e-7 * torch.tensor([1.0, 0.0, 0.0], dtype=dtype))),  # near-collinear
            torch.zeros(6, dtype=dtype),  # everything zero
            torch.cat((1e-30 * a, 1e-30 * torch.tensor([1.0, 2.0, 3.0], dtype=dtype))),  # tiny scale
            torch.cat((1e30 * a, 1e30 * torch.tensor([1.0, 2.0, 3.0], dtype=dtype))),  # huge scale
        ]
    ).requires_grad_(True)
    R = rotation_6d_to_matrix(cases)
    assert torch.isfinite(R).all()
    assert so3_error(R) < (1e-6 if dtype == torch.float32 else 1e-14)
    (R * torch.randn_like(R)).sum().backward()
    assert torch.isfinite(cases.grad).all()
    # a1 = 0: b1 = e_x; collinear: b1 = a/|a|, b2 ⟂ b1; scale invariance at 1e-30 / 1e30
    torch.testing.assert_close(R[0, :, 0], torch.tensor([1.0, 0.0, 0.0], dtype=dtype))
    torch.testing.assert_close(R[2, :, 0], a / a.norm())
    unit = torch.cat((a, torch.tensor([1.0, 2.0, 3.0], dtype=dtype)))
    ref = rotation_6d_to_matrix(unit)
    torch.testing.assert_close(R[6], ref)
    torch.testing.assert_close(R[7], ref)


def test_gradcheck():
    x = torch.randn(4, 6, dtype=torch.float64)
    near = torch.tensor([[1.0, 2.0, 3.0, 1.0, 2.0, 3.0 + 1e-2]], dtype=torch.float64)
    assert_gradcheck(rotation_6d_to_matrix, x, points=[(near,)])
    # scale invariance of the map ⇒ the gradient at s·x is grad(x)/s, also for s = 1e-20 (no underflow)
    w = torch.randn(4, 3, 3, dtype=torch.float64)
    xs = (1e-20 * x).requires_grad_()
    (gs,) = torch.autograd.grad((rotation_6d_to_matrix(xs) * w).sum(), xs)
    xr = x.clone().requires_grad_()
    (gr,) = torch.autograd.grad((rotation_6d_to_matrix(xr) * w).sum(), xr)
    torch.testing.assert_close(gs * 1e-20, gr, rtol=1e-10, atol=1e-12)


def test_empty_batch_and_broadcast_shapes():
    assert rotation_6d_to_matrix(torch.zeros(0, 6)).shape == (0, 3, 3)
    assert rotation_6d_to_matrix(torch.randn(2, 5, 6)).shape == (2, 5, 3, 3)
    assert matrix_to_rotation_6d(torch.zeros(0, 3, 3)).shape == (0, 6)


def test_validation():
    with pytest.raises(TypeError, match="x must have dtype"):
        rotation_6d_to_matrix(torch.zeros(2, 6, dtype=torch.int64))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        rotation_6d_to_matrix([0.0] * 6)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 6\)"):
        rotation_6d_to_matrix(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"x\[1\] contains NaN"):
        rotation_6d_to_matrix(torch.tensor([[1.0] * 6, [float("nan")] * 6]))
    with pytest.raises(ValueError, match="R must have shape"):
        matrix_to_rotation_6d(torch.zeros(3, 3, 2))


def test_compiles():
    x = torch.randn(8, 6)
    assert_compiles(rotation_6d_to_matrix, x, backend="aot_eager", fullgraph=True)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    log_scale1=st.floats(-30, 30),
    log_scale2=st.floats(-30, 30),
    mix=st.sampled_from([0.0, 1e-9, 1e-3, 1.0]),
    dtype=st.sampled_from(DTYPES),
)
def test_property_always_a_rotation(seed, log_scale1, log_scale2, mix, dtype):
    """Any finite input, any scale, a₂ possibly nearly parallel to a₁: SO(3) to 1e-6 in float32."""
    g = torch.Generator().manual_seed(seed)
    a1 = torch.randn(3, dtype=torch.float64, generator=g)
    a2 = a1 + mix * torch.randn(3, dtype=torch.float64, generator=g)
    x = torch.cat((a1 * 10.0**log_scale1, a2 * 10.0**log_scale2)).to(dtype).requires_grad_(True)
    R = rotation_6d_to_matrix(x)
    assert torch.isfinite(R).all()
    assert so3_error(R) < (1e-6 if dtype == torch.float32 else 1e-14)
    R.sum().backward()
    assert torch.isfinite(x.grad).all()
