"""Matmul-only square roots (sns, ns, mpa, mtp): accuracy envelopes vs scipy, Lyapunov backward vs FD."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from geomrep.linalg import (
    invsqrtm,
    sign_schedule,
    sqrtm,
    sqrtm_invsqrtm,
    sqrtm_newton_schulz,
    sqrtm_pade,
    sqrtm_scaled_ns,
    sqrtm_taylor,
    sym,
    upper_scale,
)
from geomrep.linalg._series import binomial_series, pade_sqrt

from ._helpers import degenerate_points, fd_directional, random_spd, rel_err, spd_with_cond

F64 = torch.float64


def _scipy_roots(A):
    A = A.detach().double()
    S = np.stack([np.real(sl.sqrtm(a)) for a in A.reshape(-1, *A.shape[-2:]).numpy()]).reshape(A.shape)
    return S, np.linalg.inv(S)


# --- forward envelopes (float64, n = 16, relative Frobenius error) --------------------------------
# Measured (seed 11, batch 3), √A / A^{-½}:
#   sns  κ=1: 6.8e-16/7.0e-16  1e2: 2.7e-15/2.4e-15  1e4: 3.9e-15/1.0e-13  1e6: 2.2e-14/1.1e-11
#   ns   κ=1: 1.2e-6/1.2e-6    1e2: 4.5e-2/3.1e-1    1e4: 5.9e-2/8.9e-1
#   mpa  κ=1: 1.1e-5/1.1e-5    1e2: 3.2e-2/1.9e-1    1e4: 1.4e-1/8.5e-1
#   mtp  κ=1: 2.0e-3/1.3e-2    1e2: 1.3e-1/5.8e-1    1e4: 3.2e-1/9.4e-1
# Bounds: ~10x the measured rounding-level errors; the published methods' truncation errors (a fixed
# function of the spectrum, not noise) get 1.3x. Inverse roots with errors ≈ 1 (indistinguishable from
# returning zeros) are not bounded (None).
ENVELOPE = {
    # method: {cond: (sqrt bound, inverse-root bound)}
    "sns": {1.0: (7e-15, 7e-15), 1e2: (3e-14, 3e-14), 1e4: (4e-14, 1e-12), 1e6: (1e-13, 1e-10)},
    "ns": {1.0: (1.5e-5, 1.5e-5), 1e2: (6e-2, 0.4), 1e4: (8e-2, None)},
    "mpa": {1.0: (1.5e-4, 1.5e-4), 1e2: (4.2e-2, 0.25), 1e4: (0.18, None)},
    "mtp": {1.0: (2.6e-3, 1.7e-2), 1e2: (0.17, 0.75), 1e4: (0.42, None)},
}


@pytest.mark.parametrize("method", list(ENVELOPE))
def test_forward_envelope_float64(method):
    for cond, (bs, br) in ENVELOPE[method].items():
        A = spd_with_cond(16, cond, batch=(3,), seed=11)
        S_ref, R_ref = _scipy_roots(A)
        S, R = sqrtm_invsqrtm(A, method=method)
        assert rel_err(S, S_ref) <= bs, (method, cond, rel_err(S, S_ref))
        assert br is None or rel_err(R, R_ref) <= br, (method, cond, rel_err(R, R_ref))


@pytest.mark.parametrize("n", [16, 64])
def test_sns_float32_targets(n):
    """Our matmul-only method in float32 (√A): ≤ 1e-5 up to κ = 1e4 (select_method's claim: ≈ 4e-6 at
    κ = 1e4, ≈ 2e-5 at 1e6; measured 3.0e-6 and 1.2e-5 at n = 64)."""
    for cond, bound in [(10.0, 1e-5), (1e3, 1e-5), (1e4, 1e-5), (1e6, 4e-5)]:
        A = spd_with_cond(n, cond, batch=(4,), seed=3).float()
        S_ref, _ = _scipy_roots(A)  # exact root of the rounded float32 input
        assert rel_err(sqrtm(A, method="sns"), S_ref) <= bound, cond


def test_published_methods_converge_with_more_work():
    """Their error is truncation: more iterations / a higher degree reach float64 accuracy (κ = 10)."""
    A = spd_with_cond(8, 10.0, seed=1)
    S_ref, R_ref = _scipy_roots(A)
    assert rel_err(sqrtm_newton_schulz(A, iters=40)[0], S_ref) < 1e-13
    assert rel_err(sqrtm_pade(A, degree=12)[0], S_ref) < 5e-6  # monomial-basis cancellation: 4.7e-7
    assert rel_err(sqrtm_taylor(A, degree=600)[0], S_ref) < 3e-14


def test_series_coefficients():
    t = binomial_series(0.5, 4)
    assert np.allclose(t, [1, -1 / 2, -1 / 8, -1 / 16, -5 / 128])
    p, q = pade_sqrt(5)
    z = np.linspace(0, 0.9, 7)
    approx = np.polyval(p[::-1], z) / np.polyval(q[::-1], z)
    assert np.max(np.abs(approx - np.sqrt(1 - z))) < 1e-3
    assert np.max(np.abs(approx[:3] - np.sqrt(1 - z[:3]))) < 1e-9


def test_upper_scale_bounds_lambda_max():
    A = random_spd(32, batch=(5,), seed=2)
    c, Ah, Ah2 = upper_scale(A)
    lmax = torch.linalg.eigvalsh(A)[..., -1]
    c = c[..., 0, 0]
    assert torch.all(c >= lmax * (1 - 1e-12)) and torch.all(c <= 32**0.125 * lmax)
    assert torch.allclose(Ah2, Ah @ Ah)


def test_documented_step_counts():
    """scaled_newton_schulz docstring: 7 / 9 / 10 / 12 steps at κ = 1e2 / 1e3 / 1e4 / 1e6 (n = 64);
    newton_schulz docstring: about log_2.25(√n·κ) + 4 steps to converge (to 1e-13 here)."""
    for cond, steps in [(1e2, 7), (1e3, 9), (1e4, 10), (1e6, 12)]:
        assert len(sign_schedule(1.0 / math.sqrt(cond * 64**0.125), 2.22e-16)) == steps
    for n, cond in [(8, 10.0), (16, 1e2), (64, 1e4)]:
        A = spd_with_cond(n, cond, seed=1)
        S_ref, _ = _scipy_roots(A)
        need = next(k for k in range(1, 60) if rel_err(sqrtm_newton_schulz(A, iters=k)[0], S_ref) < 1e-13)
        assert abs(need - (math.log(math.sqrt(n) * cond, 2.25) + 4)) <= 1.5, (n, cond, need)


def test_sign_schedule_converges():
    for ell in (1e-4, 1e-2, 0.5):
        s = torch.tensor(np.geomspace(ell, 1.0, 50), dtype=F64)
        for a in sign_schedule(ell, 1e-14):
            s = 0.5 * a * s * (3 - a * a * s * s)
        assert float((s - 1).abs().max()) < 1e-13
    with pytest.raises(ValueError, match="ell0"):
        sign_schedule(0.0, 1e-8)


def test_sns_beyond_design_condition_degrades_gracefully():
    """κ above ``cond``: √A stays accurate (small eigenvalues contribute little); A^{-½} does not."""
    A = spd_with_cond(16, 1e6, seed=4)
    S_ref, R_ref = _scipy_roots(A)
    S, R = sqrtm_scaled_ns(A, cond=1e2)
    assert rel_err(S, S_ref) < 1e-2
    assert rel_err(R, R_ref) > 1e-3


# --- backward: Lyapunov solve vs finite differences of scipy's sqrtm (independent) -----------------
OPTIONS = {"sns": {}, "ns": {"iters": 40}, "mpa": {"degree": 12}, "mtp": {"degree": 600}}


def _ref_sqrt(X):
    return torch.from_numpy(np.real(sl.sqrtm(X.numpy())))


def _ref_invsqrt(X):
    return torch.from_numpy(np.linalg.inv(np.real(sl.sqrtm(X.numpy()))))


@pytest.mark.parametrize("method", list(OPTIONS))
@pytest.mark.parametrize("point", range(3))
def test_backward_matches_finite_differences(method, point):
    A = [*degenerate_points(), random_spd(4, seed=5)][point]
    gen = torch.Generator().manual_seed(10 + point)
    E = sym(torch.randn(4, 4, dtype=F64, generator=gen))
    GS = torch.randn(4, 4, dtype=F64, generator=gen)
    GR = torch.randn(4, 4, dtype=F64, generator=gen)
    Ar = A.clone().requires_grad_()
    S, R = sqrtm_invsqrtm(Ar, method=method, **OPTIONS[method])
    ((S * GS).sum() + (R * GR).sum()).backward()
    analytic = float((Ar.grad * E).sum())
    fd_s = fd_directional(_ref_sqrt, A, E, 1e-5)
    fd_r = fd_directional(_ref_invsqrt, A, E, 1e-5)
    fd = float((fd_s * GS).sum() + (fd_r * GR).sum())
    # measured ≤ 4.6e-10 (the finite-difference limit, h = 1e-5) for every method
    assert abs(analytic - fd) <= 1e-8 * max(1.0, abs(fd)), (analytic, fd)


@pytest.mark.parametrize("fn", [sqrtm, invsqrtm])
def test_gradcheck_sns(fn):
    for A in [*degenerate_points(), random_spd(4, seed=2)]:
        assert torch.autograd.gradcheck(lambda X: fn(sym(X), method="sns"), (A.clone().requires_grad_(),))


def test_sns_backward_ill_conditioned_float64():
    """At κ = 1e6 the matmul-only gradient matches the eigen (Daleckii–Krein) gradient."""
    A = spd_with_cond(12, 1e6, seed=6)
    G = torch.randn(12, 12, dtype=F64, generator=torch.Generator().manual_seed(0))
    grads = []
    for method in ("sns", "eig"):
        Ar = A.clone().requires_grad_()
        (sqrtm(Ar, method=method) * G).sum().backward()
        grads.append(Ar.grad)
    assert rel_err(grads[0], grads[1]) < 2e-10  # measured 2.2e-11


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("method", ["sns", "ns", "mpa", "mtp"])
def test_batch_shapes_dtypes(batch, dtype, method):
    A = random_spd(5, batch=batch, dtype=dtype, seed=1).requires_grad_()
    S, R = sqrtm_invsqrtm(A, method=method)
    assert S.shape == A.shape and R.shape == A.shape and S.dtype == dtype
    (S.sum() + R.sum()).backward()
    assert A.grad.shape == A.shape and torch.isfinite(A.grad).all()


def test_half_precision_computed_in_float32():
    A = random_spd(4, seed=1).to(torch.bfloat16)
    S = sqrtm(A, method="sns")
    assert S.dtype == torch.bfloat16
    assert rel_err(S.float() @ S.float(), A.float()) < 1e-2  # measured 1.9e-3 (bfloat16 eps 7.8e-3)


@pytest.mark.parametrize("method", ["sns", "ns", "mpa", "mtp"])
def test_not_positive_definite_rejected(method):
    with pytest.raises(ValueError, match="positive"):
        invsqrtm(torch.diag(torch.tensor([1.0, -1.0])), method=method)
    with pytest.raises(ValueError, match="positive semidefinite"):
        sqrtm(torch.diag(torch.tensor([1.0, -0.1])), method=method)


def test_sqrtm_singular_psd_matmul():
    """Singular PSD input: sns keeps the null space at 0 and roots the rest."""
    A = torch.diag(torch.tensor([0.0, 1.0, 4.0], dtype=F64))
    assert torch.allclose(sqrtm(A, method="sns"), torch.diag(torch.tensor([0.0, 1.0, 2.0], dtype=F64)))


def test_option_validation():
    A = random_spd(3, seed=0)
    with pytest.raises(ValueError, match="iters"):
        sqrtm(A, method="ns", iters=0)
    with pytest.raises(ValueError, match="degree"):
        sqrtm(A, method="mpa", degree=0)
    with pytest.raises(ValueError, match="cond"):
        sqrtm(A, method="sns", cond=0.5)
    assert math.isfinite(float(sqrtm(A, method="mtp", degree=1).sum()))
