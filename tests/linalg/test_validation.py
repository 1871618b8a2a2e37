"""Input validation of :mod:`geomrep.linalg`: dtype policy, option checks, extreme scales, compiled checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from geomrep.linalg import (
    expm,
    invsqrtm,
    logm,
    powm,
    solve_lyapunov,
    spectral_map,
    sqrtm,
    sqrtm_invsqrtm,
)
from geomrep.linalg._checks import check_spd, safe_frobenius_norm

from ._helpers import rel_err, spd_with_cond

F64 = torch.float64
METHODS = ["eig", "sns", "ns", "mpa", "mtp"]

PUBLIC = {
    "sqrtm": sqrtm,
    "invsqrtm": invsqrtm,
    "sqrtm_invsqrtm": sqrtm_invsqrtm,
    "logm": logm,
    "expm": expm,
    "powm": lambda X: powm(X, 0.5),
    "spectral_map": lambda X: spectral_map(X, torch.sin, torch.cos),
    "solve_lyapunov": lambda X: solve_lyapunov(X, torch.eye(2)),
}


@pytest.mark.parametrize("name", list(PUBLIC))
@pytest.mark.parametrize("bad", [torch.int64, torch.bool, torch.complex64, "list"])
def test_wrong_type_or_dtype_kind_is_type_error(name, bad):
    X = [[1.0, 0.0], [0.0, 1.0]] if bad == "list" else torch.eye(2).to(bad)
    with pytest.raises(TypeError, match="A must"):
        PUBLIC[name](X)


@pytest.mark.parametrize("method", METHODS)
def test_sqrtm_of_zero_matrix(method):
    """0 is PSD: every method returns 0 (the matmul methods' Cholesky check used to reject it)."""
    for dtype in (torch.float32, F64):
        assert torch.equal(sqrtm(torch.zeros(3, 3, dtype=dtype), method), torch.zeros(3, 3, dtype=dtype))
    with pytest.raises(ValueError, match="A must be symmetric positive definite"):
        invsqrtm(torch.zeros(3, 3), method="sns")


@pytest.mark.parametrize("fn", [sqrtm, invsqrtm, sqrtm_invsqrtm])
def test_option_values(fn):
    A = torch.eye(3, dtype=F64)
    for cond in (float("inf"), float("nan"), 0.5):
        with pytest.raises(ValueError, match="cond must be"):
            fn(A, method="sns", cond=cond)
    with pytest.raises(TypeError, match="cond"):
        fn(A, method="sns", cond="big")
    with pytest.raises(ValueError, match="iters must be an integer"):
        fn(A, method="ns", iters=2.7)
    with pytest.raises(ValueError, match="degree must be an integer"):
        fn(A, method="mpa", degree=4.5)
    with pytest.raises(TypeError, match="iters"):
        fn(A, method="ns", iters=True)
    with pytest.raises(ValueError, match="cond must be"):
        fn(A, method="eig", cond=-1.0)  # validated whatever the method
    # integral floats are integers
    assert torch.allclose(fn(A, method="ns", iters=7.0)[0], fn(A, method="ns", iters=7)[0])
    with pytest.raises(TypeError, match="method"):
        fn(A, method=None)


def test_powm_exponent():
    A = torch.eye(2, dtype=F64)
    for p in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="p must be finite"):
            powm(A, p)
    for p in (torch.tensor(0.5), "0.5", True):
        with pytest.raises(TypeError, match="p must be"):
            powm(A, p)
    assert torch.allclose(powm(4 * A, np.float32(0.5)), 2 * A)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scale", [1e-30, 1e-36, 1e30, 1e37])
def test_float32_extreme_scales(method, scale):
    """Finite float32 inputs anywhere in range: accepted, and scale-equivariant (√(cA) = √c √A).

    The checks and the matmul methods' normalisation used ‖A‖_F, which underflows to 0 below ~1e-19
    (NaN/0 output) and overflows above ~1e19 ("non-finite entries" error).
    """
    A = spd_with_cond(6, 10.0, seed=1)
    X = (A * scale).float()
    S, R = sqrtm_invsqrtm(X, method)
    S1, R1 = sqrtm_invsqrtm(A.float(), method)
    assert torch.isfinite(S).all() and torch.isfinite(R).all()
    assert rel_err(S.double() / math.sqrt(scale), S1) < 1e-5
    assert rel_err(R.double() * math.sqrt(scale), R1) < 1e-5
    for fn in (logm, lambda Y: powm(Y, -0.5)):
        assert torch.isfinite(fn(X)).all()


def test_safe_frobenius_norm():
    for scale in (1e-30, 1.0, 1e30):
        X = torch.full((2, 3, 3), scale, dtype=torch.float32)
        assert torch.allclose(safe_frobenius_norm(X).double(), torch.full((2, 1, 1), 3 * scale, dtype=F64))
    assert float(safe_frobenius_norm(torch.zeros(2, 2))) == 0.0


def test_non_finite_and_asymmetric_messages():
    X = torch.eye(3)
    X[0, 1] = float("nan")
    for fn in (sqrtm, logm, lambda Y: sqrtm(Y, "sns")):
        with pytest.raises(ValueError, match="A contains non-finite"):
            fn(X)
    big = torch.tensor([[3e38, 1e38], [0.0, 3e38]])  # finite, clearly non-symmetric, ‖·‖_F = inf
    with pytest.raises(ValueError, match="A must be symmetric: relative asymmetry"):
        sqrtm(big)


def test_check_spd_names_the_argument():
    """Callers (manifolds.spd) validate their own argument so the message names it."""
    with pytest.raises(ValueError, match="^Y must be symmetric positive definite"):
        check_spd(-torch.eye(2), "Y")
    with pytest.raises(ValueError, match="^Y must be symmetric"):
        check_spd(torch.tensor([[1.0, 2.0], [0.0, 1.0]]), "Y")
    with pytest.raises(TypeError, match="^Y must have a real floating dtype"):
        check_spd(torch.eye(2, dtype=torch.int32), "Y")
    check_spd(torch.zeros(2, 2), "Y", allow_singular=True)
    check_spd(torch.eye(2) * 1e30, "Y")


def test_empty_batch():
    E = torch.zeros(0, 3, 3, dtype=F64)
    for fn in (*[lambda X, m=m: sqrtm(X, m) for m in METHODS], logm, expm, invsqrtm):
        assert fn(E).shape == (0, 3, 3)
    assert solve_lyapunov(E, E).shape == (0, 3, 3)


@pytest.mark.parametrize(
    "fn",
    [logm, lambda X: sqrtm(X, "sns"), lambda X: invsqrtm(X, "eig"), lambda X: powm(X, -1.0)],
)
def test_compiled_checks_raise_on_cpu(fn):
    """Under torch.compile on CPU the data checks are async asserts: no graph break, still an error."""
    cfn = torch.compile(fn, backend="aot_eager", fullgraph=True)
    A = spd_with_cond(3, 10.0, seed=0)
    assert torch.allclose(cfn(A), fn(A))
    with pytest.raises(RuntimeError, match="A must be"):
        cfn(-A)


def test_spectral_map_needs_callables():
    with pytest.raises(TypeError, match="f and df must be callables"):
        spectral_map(torch.eye(2), torch.sin, None)


def test_lyapunov_rhs_must_be_finite():
    C = torch.eye(3)
    C[0, 0] = float("inf")
    with pytest.raises(ValueError, match="^C contains non-finite"):
        solve_lyapunov(torch.eye(3), C)
