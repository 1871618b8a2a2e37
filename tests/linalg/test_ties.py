"""Gradients of every eigen-function at *rotated* ties and near-ties vs finite differences of scipy.

At ``Q·diag(3, 3, 5, 7)·Qᵀ`` eigh returns eigenvalues that differ by a few ulps (not bit-identical,
unlike a diagonal input), so a divided difference ``(f(λ_i) − f(λ_j))/(λ_i − λ_j)`` without a tie
branch (or with an exact-equality test) is garbage there; gaps of 1e-9 and 1 ulp test the branch
boundary. Reference: central finite differences of scipy's matrix function (Schur/Padé algorithms,
independent of eigh) along a random symmetric direction. A naive divided difference fails these tests
(checked by planting one: relative errors 1e-2 to 0.6 at the rotated ties and 1-ulp gaps). Measured
errors here: ≤ 8e-11 in float64 (the finite-difference limit), ≤ 7e-6 in float32; bounds 1e-9 and 1e-4.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from geomrep.linalg import (
    expm,
    invsqrtm,
    invsqrtm_eig,
    logm,
    powm,
    spectral_map,
    sqrtm,
    sqrtm_eig,
    sqrtm_invsqrtm_eig,
    sym,
)

F64 = torch.float64


def _rotated(d, seed):
    gen = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(len(d), len(d), dtype=F64, generator=gen))
    return sym((Q * torch.tensor(d, dtype=F64)) @ Q.mT)


ULP3 = float(np.nextafter(3.0, 4.0))
POINTS = {
    "rot_3_3_5_7": lambda: _rotated([3.0, 3.0, 5.0, 7.0], 0),
    "rot_2_2_2_5": lambda: _rotated([2.0, 2.0, 2.0, 5.0], 1),
    "rot_gap_1e-9": lambda: _rotated([3.0, 3.0 + 1e-9, 5.0, 7.0], 2),
    "rot_gap_1ulp": lambda: _rotated([3.0, ULP3, 5.0, 7.0], 3),
    "diag_gap_1e-9": lambda: torch.diag(torch.tensor([3.0, 3.0 + 1e-9, 5.0, 7.0], dtype=F64)),
    "diag_gap_1ulp": lambda: torch.diag(torch.tensor([3.0, ULP3, 5.0, 7.0], dtype=F64)),
}


def _np(f):
    return lambda X: torch.from_numpy(np.real(f(X.numpy())))


FUNCS = {
    # name: (ours, scipy reference)
    "sqrtm_eig": (sqrtm_eig, _np(sl.sqrtm)),
    "invsqrtm_eig": (invsqrtm_eig, _np(lambda X: np.linalg.inv(sl.sqrtm(X)))),
    "sqrtm_invsqrtm_eig": (
        lambda X: sum(sqrtm_invsqrtm_eig(X)),
        _np(lambda X: sl.sqrtm(X) + np.linalg.inv(sl.sqrtm(X))),
    ),
    "logm": (logm, _np(sl.logm)),
    "expm": (expm, _np(sl.expm)),
    "powm_0.37": (lambda X: powm(X, 0.37), _np(lambda X: sl.fractional_matrix_power(X, 0.37))),
    "powm_-1.5": (lambda X: powm(X, -1.5), _np(lambda X: sl.fractional_matrix_power(X, -1.5))),
    "powm_3": (lambda X: powm(X, 3.0), _np(lambda X: X @ X @ X)),
    "spectral_map_sin": (lambda X: spectral_map(X, torch.sin, torch.cos), _np(lambda X: sl.funm(X, np.sin))),
    "spectral_map_log": (lambda X: spectral_map(X, torch.log, torch.reciprocal), _np(sl.logm)),
    "sqrtm_sns": (lambda X: sqrtm(X, "sns"), _np(sl.sqrtm)),
    "invsqrtm_sns": (lambda X: invsqrtm(X, "sns"), _np(lambda X: np.linalg.inv(sl.sqrtm(X)))),
}


def _fd(ref, A, E, h=1e-4):
    # 4th-order central difference: truncation ~h⁴, rounding ~eps/h
    return (-ref(A + 2 * h * E) + 8 * ref(A + h * E) - 8 * ref(A - h * E) + ref(A - 2 * h * E)) / (12 * h)


@pytest.mark.parametrize("point", list(POINTS))
@pytest.mark.parametrize("name", list(FUNCS))
def test_gradient_at_ties_vs_finite_differences(name, point):
    fn, ref = FUNCS[name]
    A = POINTS[point]()
    gen = torch.Generator().manual_seed(7)
    E = sym(torch.randn(4, 4, dtype=F64, generator=gen))
    G = torch.randn(4, 4, dtype=F64, generator=gen)
    fd = float((_fd(ref, A, E) * G).sum())
    for dtype, tol in ((F64, 1e-9), (torch.float32, 1e-4)):
        Ar = A.detach().to(dtype).clone().requires_grad_()
        (fn(Ar) * G.to(dtype)).sum().backward()
        analytic = float((Ar.grad.double() * E).sum())
        assert abs(analytic - fd) <= tol * max(1.0, abs(fd)), (dtype, analytic, fd)
