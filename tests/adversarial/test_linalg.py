"""Property-based tests over the public :mod:`geomrep.linalg` API (hypothesis).

Inputs: batch shapes with empty (0) and singleton dimensions, n = 1..6, float32/float64, scales
1e-30..1e30, condition numbers 1..1e12, random rotations. Each property states the documented
behaviour: a value within a stated tolerance of an independent reference (LAPACK's MRRR ``?syevr``
through scipy, in float64, on the *rounded* input; torch's eigh uses divide and conquer), or a clear
``TypeError``/``ValueError`` naming ``A``.

Tolerances (relative Frobenius error, ``eps`` of the input dtype, ``κ`` the condition number of the
rounded input, ``κ₁ = min(κ, 1/eps)``):

- ``sqrtm``/``powm(p > 0)``, ``"eig"``: ``≤ 20·n·eps·√κ₁`` (a perturbation ``eps·λ_max`` of the
  smallest eigenvalue moves its root by ``eps·√κ·√λ_max/2``).
- ``sqrtm``, ``"sns"``: the same plus ``2/√cond`` when ``κ > cond`` (unconverged small eigenvalues
  contribute at most ``√(λ_max/cond)``).
- ``invsqrtm``/``powm(p < 0)`` (``"eig"`` and ``"sns"`` for ``κ ≤ cond``): ``≤ 20·n·eps·κ^{|p|+½}``-type
  growth, stated as ``≤ 20·n·eps·κ`` when ``eps·κ ≤ 1e-2``; beyond that (numerically singular input) the
  documented behaviour is a ``ValueError`` ("positive definite") or a finite result.
- ``logm``: absolute ``≤ 20·n·eps·(κ + max|log λ|)·√n``.
- published ``"ns"``/``"mpa"``/``"mtp"``: their error envelope is large by design; the property tested is
  scale equivariance ``f(cA) = √c·f(A)`` up to the different rounding of ``cA`` (``20·n·eps·√κ`` for the
  root, ``20·n·eps·κ`` for the inverse root).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg as sl
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geomrep.linalg import expm, invsqrtm, logm, powm, solve_lyapunov, spectral_map, sqrtm, sqrtm_invsqrtm

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from([torch.float32, torch.float64])
SCALES = st.sampled_from([1e-30, 1e-10, 1.0, 1e10, 1e30])
CONDS = st.sampled_from([1.0, 10.0, 1e3, 1e6, 1e9, 1e12])
HALF = st.sampled_from([torch.float16, torch.bfloat16])
BATCH = st.lists(st.integers(0, 2), max_size=2).map(tuple)


def _spd(seed, batch, n, cond, scale, dtype):
    """Rotated SPD with eigenvalues scale·[1 .. 1/cond] (float64 construction, then rounded)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    lam = scale * np.logspace(0.0, -math.log10(cond), n) if n > 1 else np.array([scale])
    A = (Q * lam[..., None, :]) @ np.swapaxes(Q, -1, -2)
    A = 0.5 * (A + np.swapaxes(A, -1, -2))
    return torch.from_numpy(A).to(dtype)


def _eigh_ref(A: torch.Tensor):
    """scipy MRRR eigendecomposition of each (rounded) matrix in float64: ``(λ, U)`` batched."""
    flat = A.detach().double().reshape(-1, *A.shape[-2:]).numpy()
    out = [sl.eigh(a, driver="evr") for a in flat]
    lam = np.stack([o[0] for o in out]).reshape(*A.shape[:-1]) if out else np.zeros(A.shape[:-1])
    U = np.stack([o[1] for o in out]).reshape(A.shape) if out else np.zeros(A.shape)
    return lam, U


def _apply(lam, U, f):
    return (U * f(lam)[..., None, :]) @ np.swapaxes(U, -1, -2)


def _rel(X, ref):
    X = X.detach().double().numpy()
    if X.size == 0:
        return 0.0
    num = np.linalg.norm((X - ref).reshape(-1, X.shape[-1] ** 2), axis=-1)
    den = np.linalg.norm(ref.reshape(-1, X.shape[-1] ** 2), axis=-1)
    return float(np.max(num / den))


def _kappa(lam):
    if lam.size == 0:
        return 1.0
    lo = lam.min(axis=-1)
    hi = lam.max(axis=-1)
    return float(np.max(np.where(lo > 0, hi / np.where(lo > 0, lo, 1.0), np.inf)))


@SETTINGS
@given(seed=st.integers(0, 2**31), batch=BATCH, n=st.integers(1, 6), cond=CONDS, scale=SCALES, dtype=DTYPES)
def test_sqrtm_value(seed, batch, n, cond, scale, dtype):
    A = _spd(seed, batch, n, cond, scale, dtype)
    lam, U = _eigh_ref(A)
    eps = float(torch.finfo(dtype).eps)
    k1 = min(_kappa(lam), 1.0 / eps)
    ref = _apply(lam, U, lambda x: np.sqrt(np.clip(x, 0, None)))
    bound = 20 * n * eps * math.sqrt(k1)
    for method, extra in (("eig", 0.0), ("auto", 0.0), ("sns", 2e-3 if _kappa(lam) > 1e6 else 0.0)):
        S = sqrtm(A, method)
        assert S.shape == A.shape and S.dtype == dtype
        assert _rel(S, ref) <= bound + extra, (method, _rel(S, ref), bound + extra)


@SETTINGS
@given(seed=st.integers(0, 2**31), batch=BATCH, n=st.integers(1, 6), cond=CONDS, scale=SCALES, dtype=DTYPES)
def test_inverse_root_and_negative_power(seed, batch, n, cond, scale, dtype):
    A = _spd(seed, batch, n, cond, scale, dtype)
    lam, U = _eigh_ref(A)
    eps = float(torch.finfo(dtype).eps)
    kappa = _kappa(lam)
    cases = [
        (lambda X: invsqrtm(X, "eig"), lambda x: x**-0.5, 1.0),
        (lambda X: sqrtm_invsqrtm(X, "sns")[1], lambda x: x**-0.5, 1.0 if kappa <= 1e6 else None),
        (lambda X: powm(X, -1.0), lambda x: 1.0 / x, 2.0),
    ]
    for fn, f, growth in cases:
        if growth is not None and eps * kappa**growth <= 1e-2:
            out = fn(A)
            assert out.shape == A.shape and out.dtype == dtype
            bound = 20 * n * eps * kappa**growth
            assert _rel(out, _apply(lam, U, f)) <= bound, (_rel(out, _apply(lam, U, f)), bound)
        else:  # numerically singular (or beyond the design condition number): error or finite output
            try:
                out = fn(A)
            except ValueError as exc:
                assert str(exc).startswith("A must be") and "positive" in str(exc)
            else:
                assert out.shape == A.shape


@SETTINGS
@given(seed=st.integers(0, 2**31), batch=BATCH, n=st.integers(1, 6), cond=CONDS, scale=SCALES, dtype=DTYPES)
def test_logm_and_fractional_power(seed, batch, n, cond, scale, dtype):
    A = _spd(seed, batch, n, cond, scale, dtype)
    lam, U = _eigh_ref(A)
    eps = float(torch.finfo(dtype).eps)
    kappa = _kappa(lam)
    if eps * kappa > 1e-2:
        return  # numerically singular: covered by test_inverse_root_and_negative_power's branch
    L = logm(A)
    ref = _apply(lam, U, np.log)
    err = np.abs(L.double().numpy() - ref).max() if L.numel() else 0.0
    assert err <= 20 * n * eps * (kappa + float(np.abs(np.log(lam)).max(initial=0.0))) * math.sqrt(n)
    P = powm(A, 0.3)
    assert _rel(P, _apply(lam, U, lambda x: x**0.3)) <= 20 * n * eps * kappa**0.7


@SETTINGS
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(1, 6),
    cond=st.sampled_from([1.0, 10.0, 1e3]),
    method=st.sampled_from(["ns", "mpa", "mtp", "sns"]),
    dtype=DTYPES,
    scale=st.sampled_from([1e-30, 1e-12, 1e12, 1e30]),
)
def test_matmul_methods_scale_equivariant(seed, n, cond, method, dtype, scale):
    """The published methods are inaccurate by design; their normalisation makes them exactly scale
    equivariant, at any float32 scale (the Frobenius norm used to under/overflow: NaN or 0)."""
    A = _spd(seed, (2,), n, cond, 1.0, torch.float64)
    S1, R1 = sqrtm_invsqrtm(A.to(dtype), method)
    S, R = sqrtm_invsqrtm((A * scale).to(dtype), method)
    # the scaled input is rounded differently: a relative perturbation eps, amplified like the roots
    eps = float(torch.finfo(dtype).eps)
    assert torch.isfinite(S).all() and torch.isfinite(R).all()
    assert _rel(S.double() / math.sqrt(scale), S1.double().numpy()) <= 20 * n * eps * math.sqrt(cond)
    assert _rel(R.double() * math.sqrt(scale), R1.double().numpy()) <= 20 * n * eps * cond


@settings(max_examples=20, deadline=None)
@given(
    dtype=st.sampled_from([torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128]),
    fn=st.sampled_from(
        [
            sqrtm,
            invsqrtm,
            logm,
            expm,
            lambda X: powm(X, 0.5),
            lambda X: sqrtm(X, "sns"),
            lambda X: spectral_map(X, torch.sin, torch.cos),
        ]
    ),
)
def test_bad_dtype_kind_is_type_error(dtype, fn):
    with pytest.raises(TypeError, match="^A must have a real floating dtype"):
        fn(torch.eye(3).to(dtype))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 5), dtype=HALF)
def test_half_precision_computed_in_float32(seed, n, dtype):
    """Documented: float16/bfloat16 are computed in float32 and cast back (error ~ the half eps)."""
    A = _spd(seed, (2,), n, 10.0, 1.0, dtype)
    lam, U = _eigh_ref(A)
    eps = float(torch.finfo(dtype).eps)
    for method in ("eig", "sns"):
        S = sqrtm(A, method)
        assert S.dtype == dtype
        assert _rel(S, _apply(lam, U, np.sqrt)) <= 2 * eps


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 5), dtype=DTYPES, scale=SCALES)
def test_bad_values_are_value_errors(seed, n, dtype, scale):
    A = _spd(seed, (), n, 10.0, scale, dtype)
    N = A.clone()
    N[0, -1] = A[0, -1] + scale  # clearly non-symmetric
    with pytest.raises(ValueError, match="^A must be symmetric"):
        sqrtm(N)
    with pytest.raises(ValueError, match="^A must be positive definite"):
        logm(-A)
    with pytest.raises(ValueError, match="^A must be symmetric positive semidefinite"):
        sqrtm(-A, "sns")
    B = A.clone()
    B[1, 1] = float("nan")
    with pytest.raises(ValueError, match="^A contains non-finite"):
        invsqrtm(B)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), batch=BATCH, n=st.integers(1, 5), cond=st.sampled_from([1.0, 1e3, 1e6]))
def test_lyapunov_vs_scipy(seed, batch, n, cond):
    A = _spd(seed, batch, n, cond, 1.0, torch.float64)
    C = torch.from_numpy(np.random.default_rng(seed + 1).standard_normal((*batch, n, n)))
    eps = float(torch.finfo(torch.float64).eps)
    for method in ("eig", "ns"):
        X = solve_lyapunov(A, C, method)
        assert X.shape == A.shape
        if X.numel() == 0:
            continue
        flatA = A.reshape(-1, n, n).numpy()
        flatC = C.reshape(-1, n, n).numpy()
        ref = np.stack([sl.solve_continuous_lyapunov(a, c) for a, c in zip(flatA, flatC)]).reshape(A.shape)
        # ns (an iteration) measured up to ~60 eps at cond = 1, n = 1: an absolute floor of 500 eps
        assert _rel(X, ref) <= (50 * n * cond + 500) * eps, (method, _rel(X, ref))
