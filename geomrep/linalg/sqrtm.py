r"""Matrix square root and inverse square root of SPD matrices: method dispatch.

:func:`sqrtm`, :func:`invsqrtm` and :func:`sqrtm_invsqrtm` take ``method``:

========  ==========================================================================  ===============
method    algorithm                                                                    backward
========  ==========================================================================  ===============
"eig"     ``torch.linalg.eigh``, ``U f(Λ) Uᵀ`` (:mod:`geomrep.linalg.spectral`)       Daleckii–Krein
"sns"     scaled Newton–Schulz sign iteration, λ_max-bound scaling (ours,              Lyapunov, sign
          :mod:`geomrep.linalg.scaled_newton_schulz`)                                  iteration
"ns"      coupled Newton–Schulz, Frobenius scaling, 5 steps (published)                 same
"mpa"     Padé [5/5] of √(1−z), Frobenius scaling (published)                          same
"mtp"     Taylor degree 10 of √(1−z), Frobenius scaling (published)                    same
"auto"    :func:`select_method`                                                        —
========  ==========================================================================  ===============

Measured accuracy envelopes (relative Frobenius error vs the float64 root of the rounded input):
``benchmarks/results/linalg.md``; each method's module docstring states its envelope.

Every method is scale-safe: inputs are normalised without forming squares of raw entries, so finite
float32 matrices from ``1e-38`` to ``3e38`` work (``tests/linalg/test_validation.py``). float16 and
bfloat16 are computed in float32 and cast back; empty batches ``(0, n, n)`` return empty results.
"""

from __future__ import annotations

import functools

import torch

from ._checks import (
    check_cond,
    check_int_option,
    check_positive_definite,
    check_square_float,
    check_symmetric,
    is_tracing,
)
from .matmul_root import matmul_sqrtm_invsqrtm
from .newton_schulz import sqrtm_newton_schulz
from .pade import sqrtm_pade
from .scaled_newton_schulz import sqrtm_scaled_ns
from .spectral import invsqrtm_eig, sqrtm_eig, sqrtm_invsqrtm_eig, sym
from .taylor import sqrtm_taylor

__all__ = ["METHODS", "MATMUL_METHODS", "select_method", "sqrtm", "invsqrtm", "sqrtm_invsqrtm"]

#: Methods accepted by :func:`sqrtm`, :func:`invsqrtm` and :func:`sqrtm_invsqrtm`.
METHODS = ("auto", "eig", "sns", "ns", "mpa", "mtp")
#: The matmul-only methods (Lyapunov backward).
MATMUL_METHODS = ("sns", "ns", "mpa", "mtp")

_HALF = (torch.float16, torch.bfloat16)


def select_method(A: torch.Tensor) -> str:
    """The method ``method="auto"`` resolves to for ``A``'s device and dtype.

    Rule:

    - **CPU (and any non-CUDA device): ``"eig"``.** LAPACK's batched ``eigh`` is the fastest
      accurate method on CPU (measured: ``"sns"`` forward+backward is slower than ``eigh`` for
      n ≥ 16 at batch 256 with 2 threads, see ``benchmarks/results/linalg.md``), and it meets the
      accuracy targets (float64 ≤ 1e-10 to κ = 1e6; float32 ≤ 1e-5 to κ = 1e4, ≤ 3e-4 to κ = 1e6).
    - **CUDA: ``"sns"``.** Batched ``eigh`` on GPUs (cuSOLVER's Jacobi ``syevjBatched``) is slow,
      while ``"sns"`` is 2 + 3·(steps − 1) matrix products (≈ 35 at the default design condition
      number 1e6), which GPUs execute at close to peak. Its measured CPU accuracy (the same
      arithmetic, float32: ≈ 4e-6 at κ = 1e4, ≈ 2e-5 at κ = 1e6 for ``A^½``; float64 ≤ 1e-13) meets
      every "auto" target. **Untested on GPU in this project so far**: no GPU was available when this
      rule was written; the GPU speed claim is an expectation, not a measurement.

    Safeguard: when ``"auto"`` resolved to a matmul-only method and the data checks run (``check=True``,
    not under ``torch.compile``), the result is verified by the convergence residual
    ``max|A^½·A^{-½} − I|`` (one extra product; every sign value that has not converged shows in
    it) and the batch is recomputed with ``"eig"`` when it exceeds ``100·√eps`` (float32 3.5e-2,
    float64 1.5e-6). That happens for ``κ(A) >`` the design ``cond`` (measured in float64:
    residual 1e-12 at κ = 1e6, 6e-3 at 1e7) and for singular PSD input, so ``"auto"`` never returns
    an unconverged result. Under ``torch.compile`` or with ``check=False`` there is no fallback.

    Example:
        >>> select_method(torch.eye(3))
        'eig'
    """
    return "sns" if A.device.type == "cuda" else "eig"


def _resolve(A: torch.Tensor, method: str) -> str:
    check_square_float(A, "A")
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {METHODS}, got {type(method).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return select_method(A) if method == "auto" else method


def _auto_fallback_needed(S: torch.Tensor, R: torch.Tensor) -> bool:
    """True if ``max|S R − I| > 100·√eps`` for some matrix (unconverged matmul root); one host sync."""
    if is_tracing() or S.numel() == 0:
        return False
    eye = torch.eye(S.shape[-1], dtype=S.dtype, device=S.device)
    res = (S @ R - eye).abs().amax(dim=(-2, -1))
    tol = 100.0 * float(torch.finfo(S.dtype).eps) ** 0.5
    return not bool((res <= tol).all())


def _matmul_auto(A, method, m, cond, iters, degree, *, singular_ok: bool, check: bool, eig_fn):
    """Method ``m``; for ``method="auto"`` with checks on, fall back to ``eig_fn`` when unconverged."""
    S, R = _matmul(A, m, cond, iters, degree, singular_ok=singular_ok, check=check)
    if method == "auto" and check:
        with torch.no_grad():
            bad = _auto_fallback_needed(S.detach(), R.detach())
        if bad:
            return eig_fn()
    return S, R


def _options(cond, iters, degree):
    return check_cond(cond), check_int_option(iters, "iters"), check_int_option(degree, "degree")


def _forward_fn(method: str, cond, iters, degree):
    if method == "sns":
        return functools.partial(sqrtm_scaled_ns, cond=cond)
    if method == "ns":
        return functools.partial(sqrtm_newton_schulz, iters=iters)
    if method == "mpa":
        return functools.partial(sqrtm_pade, degree=degree)
    return functools.partial(sqrtm_taylor, degree=degree)


def _matmul(A, method, cond, iters, degree, *, singular_ok: bool, check: bool = True):
    cond, iters, degree = _options(cond, iters, degree)
    dtype = A.dtype
    A = A.float() if dtype in _HALF else A
    if check:
        check_symmetric(A, "A")
    A = sym(A)
    if check:
        check_positive_definite(A, "A", allow_singular=singular_ok)
    S, R = matmul_sqrtm_invsqrtm(A, _forward_fn(method, cond, iters, degree), cond=cond)
    return S.to(dtype), R.to(dtype)


def sqrtm(
    A: torch.Tensor,
    method: str = "auto",
    *,
    cond: float | None = None,
    iters: int | None = None,
    degree: int | None = None,
    check: bool = True,
) -> torch.Tensor:
    """Principal square root ``A^½`` (``S`` symmetric PSD with ``S² = A``) of symmetric PSD ``A``.

    Args:
        A: symmetric positive semidefinite matrices ``(..., n, n)``; see also the method table in
            :mod:`geomrep.linalg.sqrtm`.
        method: ``"auto"``, ``"eig"``, ``"sns"``, ``"ns"``, ``"mpa"`` or ``"mtp"``.
        cond: design condition number of the matmul-only methods (default 1e6).
        iters: steps of ``"ns"`` (default 5).
        degree: degree of ``"mpa"`` (default 5) or ``"mtp"`` (default 10).
        check: ``False`` skips the data-dependent checks (symmetry, definiteness), which each cost a
            host synchronisation; for inputs symmetric positive (semi)definite by construction.

    Returns:
        ``A^½ (..., n, n)`` in ``A``'s dtype; gradient symmetric.

    Near-singular input: ``"eig"`` clamps eigenvalues in ``[−n·eps·max|λ|, 0)`` to 0 (result accurate
    to about ``√(eps)·‖A‖^½`` in the null directions); the matmul-only methods leave zero eigenvalues
    at 0 and converge for eigenvalues above ``λ_max/cond``. The gradient is unbounded as
    ``λ_min → 0`` (``K_ij = 1/(√λ_i + √λ_j)``), infinite/NaN at singular ``A``.

    Raises:
        TypeError: ``A`` not a tensor with a real floating dtype (int/bool/complex), ``method`` not a
            string, ``cond``/``iters``/``degree`` of the wrong type.
        ValueError: not a square batch ``(..., n, n)`` with n ≥ 1, non-finite entries, clearly
            non-symmetric (relative asymmetry above ``√eps``), not positive semidefinite, unknown
            ``method``, ``cond`` not a finite number ≥ 1, ``iters``/``degree`` not an integer ≥ 1.
            Under ``torch.compile`` the data checks (finite, symmetric, definite) are async asserts
            on CPU (``RuntimeError`` when the compiled code runs) and skipped on CUDA.

    Example:
        >>> A = torch.tensor([[5.0, 4.0], [4.0, 5.0]], dtype=torch.float64)
        >>> torch.allclose(sqrtm(A), torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64))
        True
        >>> torch.allclose(sqrtm(A, method="sns"), sqrtm(A))
        True
    """
    m = _resolve(A, method)
    if m == "eig":
        _options(cond, iters, degree)
        return sqrtm_eig(A, check=check)
    return _matmul_auto(
        A,
        method,
        m,
        cond,
        iters,
        degree,
        singular_ok=True,
        check=check,
        eig_fn=lambda: (sqrtm_eig(A, check=check), None),
    )[0]


def invsqrtm(
    A: torch.Tensor,
    method: str = "auto",
    *,
    cond: float | None = None,
    iters: int | None = None,
    degree: int | None = None,
    check: bool = True,
) -> torch.Tensor:
    """Inverse square root ``A^{-½}`` of symmetric positive definite ``A (..., n, n)``.

    Args:
        A: symmetric positive definite matrices ``(..., n, n)``, float32/float64 (float16/bfloat16
            are computed in float32 and cast back). Only ``sym(A)`` is used.
        method: ``"auto"``, ``"eig"``, ``"sns"``, ``"ns"``, ``"mpa"`` or ``"mtp"``.
        cond: design condition number of the matmul-only methods (default 1e6).
        iters: steps of ``"ns"`` (default 5).
        degree: degree of ``"mpa"`` (default 5) or ``"mtp"`` (default 10).
        check: ``False`` skips the data-dependent checks (symmetry, definiteness), which each cost a
            host synchronisation; for inputs symmetric positive (semi)definite by construction.
    Returns:
        ``A^{-½} (..., n, n)`` in ``A``'s dtype; gradient symmetric.

    Near-singular input: the relative error grows like ``eps·κ(A)`` (``"eig"``); the matmul-only
    methods are accurate only for ``κ(A) ≤ cond``.

    Raises:
        ValueError: as :func:`sqrtm`, and when an eigenvalue is ≤ 0 (not positive definite).

    Example:
        >>> A = torch.tensor([[5.0, 4.0], [4.0, 5.0]], dtype=torch.float64)
        >>> torch.allclose(invsqrtm(A) @ torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64),
        ...                torch.eye(2, dtype=torch.float64))
        True
    """
    m = _resolve(A, method)
    if m == "eig":
        _options(cond, iters, degree)
        return invsqrtm_eig(A, check=check)
    return _matmul_auto(
        A,
        method,
        m,
        cond,
        iters,
        degree,
        singular_ok=False,
        check=check,
        eig_fn=lambda: (None, invsqrtm_eig(A, check=check)),
    )[1]


def sqrtm_invsqrtm(
    A: torch.Tensor,
    method: str = "auto",
    *,
    cond: float | None = None,
    iters: int | None = None,
    degree: int | None = None,
    check: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A^½, A^{-½})`` of symmetric positive definite ``A (..., n, n)``, sharing the work.

    Args:
        A: symmetric positive definite matrices ``(..., n, n)``, float32/float64 (float16/bfloat16
            are computed in float32 and cast back). Only ``sym(A)`` is used.
        method: ``"auto"``, ``"eig"``, ``"sns"``, ``"ns"``, ``"mpa"`` or ``"mtp"``.
        cond: design condition number of the matmul-only methods (default 1e6).
        iters: steps of ``"ns"`` (default 5).
        degree: degree of ``"mpa"`` (default 5) or ``"mtp"`` (default 10).
        check: ``False`` skips the data-dependent checks (symmetry, definiteness), which each cost a
            host synchronisation; for inputs symmetric positive (semi)definite by construction.
    Returns:
        ``(A^½, A^{-½})``, each ``(..., n, n)``; gradients through either or both.

    Example:
        >>> S, R = sqrtm_invsqrtm(torch.eye(3, dtype=torch.float64) * 4, method="sns")
        >>> round(float(S[0, 0]), 12), round(float(R[0, 0]), 12)
        (2.0, 0.5)
    """
    m = _resolve(A, method)
    if m == "eig":
        _options(cond, iters, degree)
        return sqrtm_invsqrtm_eig(A, check=check)
    return _matmul_auto(
        A,
        method,
        m,
        cond,
        iters,
        degree,
        singular_ok=False,
        check=check,
        eig_fn=lambda: sqrtm_invsqrtm_eig(A, check=check),
    )
