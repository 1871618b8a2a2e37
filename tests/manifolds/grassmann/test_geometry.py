"""Grassmann functional core vs independent float64 references (scipy, numpy SVD formulas, expm)."""

import math

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from geomrep.manifolds.grassmann import (
    grassmann_distance,
    grassmann_exp,
    grassmann_log,
    horizontal_projection,
    orthonormalize,
    principal_angles,
    random_grassmann,
)
from geomrep.testing import assert_gradcheck

from ._helpers import exp_lift_ref, exp_svd_ref, horizontal, log_tan_ref, projector, random_bases

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 2e-5, torch.float64: 1e-12}


@pytest.mark.parametrize("dtype", DTYPES)
def test_principal_angles_match_scipy(dtype):
    X = random_bases(6, 9, 4, seed=1, dtype=dtype)
    Y = random_bases(6, 9, 4, seed=2, dtype=dtype)
    got = principal_angles(X, Y)
    for i in range(6):
        ref = np.sort(sl.subspace_angles(X[i].double().numpy(), Y[i].double().numpy()))
        np.testing.assert_allclose(got[i].double().numpy(), ref, atol=TOL[dtype] * 10, rtol=0)
    assert got.dtype == dtype and got.shape == (6, 4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("angle", [0.0, 1e-7, 1e-4, 0.3, math.pi / 2 - 1e-4, math.pi / 2])
def test_principal_angles_exact_construction(dtype, angle):
    """Subspaces with known angles (rotations in orthogonal planes): accurate at 0, tiny angles and π/2."""
    d, k = 8, 3
    O = random_bases(d, d, seed=3).numpy()
    angles = np.array([angle, 0.5 * angle, 0.9])
    X = O[:, :k]
    Y = O[:, :k] * np.cos(angles) + O[:, k : 2 * k] * np.sin(angles)
    Xt, Yt = torch.from_numpy(X).to(dtype), torch.from_numpy(Y).to(dtype)
    got = principal_angles(Xt, Yt).double().numpy()
    eps = torch.finfo(dtype).eps
    np.testing.assert_allclose(got, np.sort(angles), atol=20 * eps, rtol=0)
    # arccos of the cosines (what we avoid) loses every digit of 1e-4 rad in float32 (cos rounds to 1)
    if dtype == torch.float32 and angle == 1e-4:
        cos = np.linalg.svd(Xt.numpy().T @ Yt.numpy(), compute_uv=False)
        naive = np.sort(np.arccos(np.clip(cos, -1, 1)))[:2]
        ref = np.sort(angles)[:2]
        assert np.abs(naive / ref - 1).max() > 0.3
        assert np.abs(got[:2] / ref - 1).max() < 1e-2


@pytest.mark.parametrize("dtype", DTYPES)
def test_distance_invariances_and_symmetry(dtype):
    X = random_bases(4, 7, 2, seed=4, dtype=dtype)
    Y = random_bases(4, 7, 2, seed=5, dtype=dtype)
    O = random_bases(7, 7, seed=6, dtype=dtype)
    Q = random_bases(2, 2, seed=7, dtype=dtype)
    d = grassmann_distance(X, Y)
    torch.testing.assert_close(grassmann_distance(Y, X), d, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(grassmann_distance(O @ X, O @ Y), d, atol=TOL[dtype] * 5, rtol=0)
    torch.testing.assert_close(grassmann_distance(X @ Q, Y), d, atol=TOL[dtype] * 5, rtol=0)
    torch.testing.assert_close(grassmann_distance(X, Y, squared=True), d**2, atol=TOL[dtype] * 5, rtol=1e-5)
    assert float(grassmann_distance(X, X).abs().max()) <= 30 * torch.finfo(dtype).eps


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_matches_svd_formula_and_matrix_exponential(dtype):
    X = random_bases(5, 8, 3, seed=8, dtype=dtype)
    U = horizontal(X, seed=9, scale=1.3)
    got = grassmann_exp(X, U)
    ref = exp_svd_ref(X, U)
    torch.testing.assert_close(got.double(), ref, atol=TOL[dtype] * 5, rtol=0)
    for i in range(2):  # the geodesic as the exponential of the horizontal lift in so(d)
        torch.testing.assert_close(got[i].double(), exp_lift_ref(X[i], U[i]), atol=TOL[dtype] * 5, rtol=0)
    eye = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close((got.mT @ got).double(), eye.expand(5, 3, 3), atol=TOL[dtype] * 5, rtol=0)


def test_exp_degenerate_tangents():
    """U = 0, rank-deficient U and repeated singular values: same values as the SVD formula."""
    X = random_bases(8, 3, seed=10)
    torch.testing.assert_close(grassmann_exp(X, torch.zeros_like(X)), X, atol=1e-15, rtol=0)
    U = horizontal(X, seed=11)
    P, s, Vt = torch.linalg.svd(U, full_matrices=False)
    for sv in ([0.7, 0.7, 0.7], [0.7, 0.0, 0.0], [1e-9, 1e-9, 0.0]):
        Ud = P @ torch.diag(torch.tensor(sv, dtype=torch.float64)) @ Vt
        torch.testing.assert_close(grassmann_exp(X, Ud), exp_svd_ref(X, Ud), atol=1e-13, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("length", [1e-6, 2.5, 12.0, 60.0])
def test_exp_long_and_short_geodesics(dtype, length):
    """Scaling and squaring of the k×k functions: still the SVD formula for ‖U‖ from 1e-6 to 60 rad."""
    X = random_bases(4, 9, 3, seed=23, dtype=dtype)
    U = horizontal(X, seed=24, scale=length)
    got = grassmann_exp(X, U).double()
    bound = (8 if dtype == torch.float32 else 40) * torch.finfo(dtype).eps * max(1.0, length)
    torch.testing.assert_close(got, exp_svd_ref(X, U), atol=bound, rtol=0)


def test_gradcheck_exp_with_doubling_steps():
    X = random_bases(6, 2, seed=25)
    U = horizontal(X, seed=26, scale=3.0)  # ‖UᵀU‖∞ > 1: two doubling steps

    def f(X, U):
        return grassmann_exp(X, U, check=False)

    assert_gradcheck(f, (X, U))


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_matches_tan_formula_and_inverts_exp(dtype):
    X = random_bases(8, 3, seed=12, dtype=dtype)
    Y = random_bases(8, 3, seed=13, dtype=dtype)
    V = grassmann_log(X, Y)
    torch.testing.assert_close(V.double(), log_tan_ref(X, Y), atol=TOL[dtype] * 20, rtol=0)
    torch.testing.assert_close(projector(grassmann_exp(X, V)), projector(Y), atol=TOL[dtype] * 20, rtol=0)
    torch.testing.assert_close(V.norm(), grassmann_distance(X, Y), atol=TOL[dtype] * 20, rtol=0)
    U = horizontal(X, seed=14, scale=1.0)  # ‖U‖₂ ≤ ‖U‖_F = 1 < π/2: inside the injectivity radius
    torch.testing.assert_close(grassmann_log(X, grassmann_exp(X, U)), U, atol=TOL[dtype] * 20, rtol=0)


def test_log_at_cut_locus_still_reaches_y():
    """An angle of exactly π/2: the log is not unique, but Exp(Log) spans Y and ‖Log‖ = d."""
    O = random_bases(6, 6, seed=15)
    X = O[:, :2]
    Y = torch.stack([O[:, 0] * math.cos(0.4) + O[:, 2] * math.sin(0.4), O[:, 3]], 1)
    V = grassmann_log(X, Y)
    torch.testing.assert_close(projector(grassmann_exp(X, V)), projector(Y), atol=1e-12, rtol=0)
    torch.testing.assert_close(V.norm(), torch.tensor(math.hypot(0.4, math.pi / 2), dtype=torch.float64))


def test_horizontal_projection_and_orthonormalize():
    X = random_bases(3, 7, 2, seed=16)
    G = torch.randn(3, 7, 2, dtype=torch.float64)
    H = horizontal_projection(X, G)
    ref = (torch.eye(7, dtype=torch.float64) - X @ X.mT) @ G
    torch.testing.assert_close(H, ref, atol=1e-14, rtol=0)
    A = torch.randn(4, 7, 3, dtype=torch.float64)
    Q = orthonormalize(A)
    torch.testing.assert_close(projector(Q), A @ torch.linalg.pinv(A), atol=1e-12, rtol=0)  # same span
    assert bool((torch.diagonal(Q.mT @ A, dim1=-2, dim2=-1) > 0).all())  # diag R > 0
    torch.testing.assert_close(orthonormalize(Q), Q, atol=1e-14, rtol=0)  # idempotent


def test_random_grassmann_is_rotation_invariant_in_law():
    """E[XXᵀ] = (k/d) I for Haar subspaces; mean basis 0 (an unfixed-sign QR biases it)."""
    gen = torch.Generator().manual_seed(0)
    X = random_grassmann(4000, 5, 2, dtype=torch.float64, generator=gen)
    P = (X @ X.mT).mean(0)
    torch.testing.assert_close(P, 0.4 * torch.eye(5, dtype=torch.float64), atol=0.03, rtol=0)
    # uniform on the Stiefel manifold: the mean basis is 0 (an unfixed QR biases diag entries' signs)
    assert float(X.mean(0).abs().max()) < 0.05


# ---------------------------------------------------------------------------- gradients
def test_gradcheck_exp_generic_and_degenerate():
    X = random_bases(6, 2, seed=17)
    U = horizontal(X, seed=18, scale=0.9)
    P, _, Vt = torch.linalg.svd(U, full_matrices=False)
    U_tie = P @ torch.diag(torch.tensor([0.5, 0.5], dtype=torch.float64)) @ Vt

    def f(X, U):
        return grassmann_exp(X, U, check=False)

    assert_gradcheck(f, (X, U), points=[(X, torch.zeros_like(U)), (X, U_tie)])


def test_gradients_finite_at_zero_and_right_angle():
    O = random_bases(6, 6, seed=19)
    X = O[:, :2]
    Y_right = torch.stack([O[:, 0] * math.cos(0.3) + O[:, 2] * math.sin(0.3), O[:, 3]], 1)  # θ = 0.3, π/2
    for Y in (X.clone(), Y_right):
        for squared in (False, True):
            Xg, Yg = X.clone().requires_grad_(), Y.clone().requires_grad_()
            grassmann_distance(Xg, Yg, squared=squared).backward()
            assert torch.isfinite(Xg.grad).all() and torch.isfinite(Yg.grad).all()
    # at X = Y the gradient of d² is exactly 0, and d² ≈ ‖(I − XXᵀ)Y‖_F² nearby (first-order check)
    Xg = X.clone().requires_grad_()
    grassmann_distance(Xg, X, squared=True).backward()
    assert float(Xg.grad.abs().max()) < 1e-12


def test_gradcheck_distance_generic():
    X = random_bases(6, 2, seed=20)
    Y = random_bases(6, 2, seed=21)

    def f(X, Y):  # a function of the spans: orthonormalise first so FD perturbations stay on the manifold
        return grassmann_distance(orthonormalize(X, check=False), orthonormalize(Y, check=False), check=False)

    assert_gradcheck(f, (X, Y))
    # against an independent finite difference through scipy's angles
    h = 1e-6
    D = torch.randn(6, 2, dtype=torch.float64)
    fd = (
        np.linalg.norm(sl.subspace_angles((X + h * D).numpy(), Y.numpy()))
        - np.linalg.norm(sl.subspace_angles((X - h * D).numpy(), Y.numpy()))
    ) / (2 * h)
    Xg = X.clone().requires_grad_()
    f(Xg, Y).backward()
    assert abs(float((Xg.grad * D).sum()) - fd) < 1e-6


# ---------------------------------------------------------------------------- bad input / edge cases
def test_bad_inputs_raise_clear_errors():
    X = random_bases(6, 2, seed=22)
    with pytest.raises(ValueError, match="X must have orthonormal columns"):
        grassmann_distance(2 * X, X)
    with pytest.raises(ValueError, match="Y must have orthonormal columns"):
        grassmann_log(X, X + 0.1)
    with pytest.raises(ValueError, match="k <= d"):
        principal_angles(torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="same \\(d, k\\)"):
        grassmann_distance(X, random_bases(6, 3, seed=1))
    with pytest.raises(ValueError, match="shape"):
        grassmann_exp(torch.zeros(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64))
    with pytest.raises(TypeError, match="floating"):
        grassmann_distance(X.long(), X.long())
    with pytest.raises(TypeError, match="same dtype"):
        grassmann_distance(X, X.float())
    with pytest.raises(ValueError, match="tangent"):
        grassmann_exp(X, X)
    with pytest.raises(ValueError, match="non-finite"):
        grassmann_distance(X * float("nan"), X)
    with pytest.raises(ValueError, match="full column rank"):
        orthonormalize(torch.ones(5, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="1 <= k <= d"):
        random_grassmann(2, 3)
    with pytest.raises(ValueError, match="do not broadcast"):
        grassmann_distance(random_bases(2, 6, 2), random_bases(3, 6, 2))


def test_empty_batches():
    X = torch.zeros(0, 5, 2, dtype=torch.float64)
    assert grassmann_distance(X, X).shape == (0,)
    assert principal_angles(X, X).shape == (0, 2)
    assert grassmann_exp(X, X).shape == (0, 5, 2)
    assert grassmann_log(X, X).shape == (0, 5, 2)
    assert orthonormalize(X).shape == (0, 5, 2)
    assert random_grassmann(0, 5, 2).shape == (0, 5, 2)
