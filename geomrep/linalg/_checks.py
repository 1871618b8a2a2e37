"""Input validation shared by the matrix functions of :mod:`geomrep.linalg` (and their callers).

Policy (library-wide): a wrong *type or dtype kind* (not a tensor, integer/bool/complex dtype, a
tensor where a Python number is expected) raises :class:`TypeError`; a wrong *shape or value*
(non-square, non-symmetric, not positive definite, ``cond < 1``, ``p = nan``) raises
:class:`ValueError`. Every message starts with the name of the user's argument: each helper takes
``name`` (default ``"A"``), so callers such as :mod:`geomrep.manifolds.spd` validate *their*
argument (``check_spd(Y, "Y")``) before transforming it, and the message names ``Y``.

Scale safety: every data check first divides each matrix by its largest absolute entry, so finite
inputs anywhere in the dtype's range (float32 entries up to 3e38 or down to 1e-38) are judged
correctly; Frobenius norms of the raw input would overflow above ~1e19 or underflow below ~1e-19
in float32.

Under ``torch.compile`` the data-dependent checks (symmetry, definiteness, finiteness) cannot raise
a Python exception without a graph break. On CPU they become ``torch._assert_async`` ops (no graph
break; a failed check raises ``RuntimeError`` with the same message when the compiled code runs).
On other devices (CUDA) they are **skipped** under ``torch.compile``: a device-side assert would
leave the CUDA context unusable. Shape and dtype checks are static and always run.
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = [
    "is_tracing",
    "check_tensor",
    "check_square_float",
    "check_symmetric",
    "check_finite",
    "check_batch_broadcast",
    "symmetry_tolerance",
    "check_positive_eigenvalues",
    "check_positive_definite",
    "check_spd",
    "check_cond",
    "check_int_option",
    "check_real_scalar",
    "max_abs",
    "safe_frobenius_norm",
]


def is_tracing() -> bool:
    """True while ``torch.compile`` (dynamo) traces the current code."""
    return torch.compiler.is_compiling()


def _fail(ok: torch.Tensor, message: str) -> bool:
    """Return True if the eager check failed; under ``torch.compile`` add an async assert (CPU) instead.

    ``ok`` is a boolean tensor (any shape). Eager: one host synchronisation. Compiled on CPU:
    ``torch._assert_async`` (raises ``RuntimeError(message)`` at run time); compiled elsewhere: nothing.
    """
    if is_tracing():
        if ok.device.type == "cpu":
            torch._assert_async(ok.all(), message)
        return False
    return not bool(ok.all())


def max_abs(A: torch.Tensor) -> torch.Tensor:
    """Largest absolute entry of each matrix, ``(..., n, n) -> (..., 1, 1)`` (never over/underflows)."""
    return A.abs().amax(dim=(-2, -1), keepdim=True)


def _unit_scaled(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A / m, m)`` with ``m`` the max-abs entry per matrix (``m = 0`` matrices are left as they are)."""
    m = max_abs(A)
    return A / torch.where(m > 0, m, torch.ones_like(m)), m


def safe_frobenius_norm(A: torch.Tensor) -> torch.Tensor:
    """``‖A‖_F`` per matrix, ``(..., n, n) -> (..., 1, 1)``, without overflow or underflow of the squares.

    Computed as ``m·‖A/m‖_F`` with ``m`` the largest absolute entry (``torch.linalg.matrix_norm``
    squares the raw entries: float32 gives 0 at ``1e-30·I`` and inf at ``1e30·I``).
    """
    B, m = _unit_scaled(A)
    return m * torch.linalg.matrix_norm(B)[..., None, None]


def check_tensor(A, name: str = "A") -> None:
    """Raise ``TypeError`` unless ``A`` is a tensor with a real floating dtype."""
    if not isinstance(A, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(A).__name__}")
    if not A.is_floating_point():
        raise TypeError(f"{name} must have a real floating dtype (float32/float64), got {A.dtype}")


def check_square_float(A, name: str = "A") -> None:
    """``TypeError`` unless ``A`` is a real floating tensor; ``ValueError`` unless ``(..., n, n)``, n ≥ 1.

    Empty batches ``(0, n, n)`` are valid.
    """
    check_tensor(A, name)
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{name} must be square matrices of shape (..., n, n), got {tuple(A.shape)}")
    if A.shape[-1] == 0:
        raise ValueError(f"{name} must have n >= 1, got shape {tuple(A.shape)}")


def symmetry_tolerance(dtype: torch.dtype) -> float:
    """Relative asymmetry ``‖A − Aᵀ‖_F / ‖A‖_F`` above which an input counts as clearly non-symmetric.

    ``sqrt(eps)`` of the dtype (1.5e-8 in float64, 3.5e-4 in float32): rounding in products such as
    ``X Xᵀ`` stays orders of magnitude below it.
    """
    return float(torch.finfo(dtype).eps) ** 0.5


def check_batch_broadcast(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str, event_dims: int = 2):
    """Broadcast batch shape of ``a`` and ``b`` (all but the last ``event_dims`` dimensions).

    Raises ``ValueError`` naming both arguments when the batch shapes do not broadcast.
    """
    batch_a, batch_b = a.shape[: a.dim() - event_dims], b.shape[: b.dim() - event_dims]
    try:
        return torch.broadcast_shapes(batch_a, batch_b)
    except RuntimeError as exc:
        raise ValueError(
            f"batch shapes of {name_a} {tuple(batch_a)} and {name_b} {tuple(batch_b)} do not broadcast"
        ) from exc


def check_finite(A: torch.Tensor, name: str = "A") -> None:
    """Raise ``ValueError`` if ``A`` has a NaN or infinite entry (compiled: see the module docstring)."""
    if _fail(torch.isfinite(max_abs(A)), f"{name} contains non-finite entries (nan or inf)"):
        raise ValueError(f"{name} contains non-finite entries (nan or inf)")


def check_symmetric(A: torch.Tensor, name: str = "A") -> None:
    """Raise ``ValueError`` if ``A`` is non-finite or clearly non-symmetric.

    Clearly non-symmetric: ``‖A − Aᵀ‖_F > √eps·‖A‖_F``, evaluated on ``A`` divided by its largest
    entry (valid for every finite input). Compiled: see the module docstring.
    """
    B, m = _unit_scaled(A)
    asym = torch.linalg.matrix_norm(B - B.mT)
    scale = torch.linalg.matrix_norm(B)
    tol = symmetry_tolerance(A.dtype)
    finite = torch.isfinite(m[..., 0, 0])
    ok = asym <= tol * scale
    if _fail(finite & ok, f"{name} must be finite and symmetric"):  # one host sync for both checks
        if not bool(finite.all()):
            raise ValueError(f"{name} contains non-finite entries (nan or inf)")
        worst = float((asym / scale.clamp_min(torch.finfo(A.dtype).tiny))[~ok].max())
        raise ValueError(
            f"{name} must be symmetric: relative asymmetry ‖{name}−{name}ᵀ‖/‖{name}‖ = {worst:.3g} "
            f"exceeds {tol:.3g}"
        )


def check_positive_eigenvalues(L: torch.Tensor, name: str = "A", *, allow_singular: bool) -> None:
    """Raise ``ValueError`` if eigenvalues ``L (..., n)`` show the matrix is not positive (semi)definite.

    With ``allow_singular`` (functions defined on PSD matrices such as ``√A``) eigenvalues down to
    ``−n·eps·max|λ|`` (rounding of a singular PSD matrix) pass; otherwise every eigenvalue must be
    strictly positive. NaN eigenvalues fail. Compiled: see the module docstring.
    """
    n = L.shape[-1]
    scale = L.abs().amax(dim=-1)
    lmin = L.amin(dim=-1)
    if allow_singular:
        ok = lmin >= -n * float(torch.finfo(L.dtype).eps) * scale
        what = "positive semidefinite"
    else:
        ok = lmin > 0
        what = "positive definite"
    if _fail(ok, f"{name} must be {what}"):
        vals = lmin[~ok]
        vals = vals[~vals.isnan()]
        worst = float(vals.min()) if vals.numel() else float("nan")
        raise ValueError(f"{name} must be {what}; found an eigenvalue {worst:.3g}")


def check_positive_definite(A: torch.Tensor, name: str = "A", *, allow_singular: bool = False) -> None:
    """Raise ``ValueError`` unless a Cholesky factorisation of every (scaled) matrix in ``A`` exists.

    Used by the matmul-only methods, which never compute eigenvalues (a Cholesky costs about a
    sixth of one of their matrix products). Each matrix is divided by its largest entry first
    (no overflow for huge finite entries). With ``allow_singular`` the factorisation is of
    ``A/m + n·eps·I``, which accepts singular positive semidefinite matrices up to rounding,
    including the zero matrix. Assumes ``A`` finite and symmetric (:func:`check_symmetric`).
    Compiled: see the module docstring.
    """
    n = A.shape[-1]
    B, m = _unit_scaled(A)
    if allow_singular:
        B = B + n * float(torch.finfo(A.dtype).eps) * torch.eye(n, dtype=A.dtype, device=A.device)
    _, info = torch.linalg.cholesky_ex(B)
    ok = info == 0
    if not allow_singular:
        ok = ok & (m[..., 0, 0] > 0)
    what = "positive semidefinite" if allow_singular else "positive definite"
    if _fail(ok, f"{name} must be symmetric {what}"):
        raise ValueError(f"{name} must be symmetric {what} (its Cholesky factorisation failed)")


def check_spd(A, name: str = "A", *, allow_singular: bool = False) -> None:
    """All checks for a symmetric positive (semi)definite argument: type, shape, finite, symmetric, definite.

    For callers outside :mod:`geomrep.linalg` that transform their argument before handing it to a
    matrix function: validate first, so that the error names the user's argument.

    Example:
        >>> check_spd(-torch.eye(2), "Y")
        Traceback (most recent call last):
        ...
        ValueError: Y must be symmetric positive definite (its Cholesky factorisation failed)
    """
    check_square_float(A, name)
    check_symmetric(A, name)
    check_positive_definite(A, name, allow_singular=allow_singular)


def check_real_scalar(x, name: str) -> float:
    """A finite real Python number (not bool, not a tensor): ``TypeError``/``ValueError`` otherwise."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real Python number, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def check_cond(cond, name: str = "cond") -> float | None:
    """``None`` or a finite number ``≥ 1`` (a design condition number); returns it as float."""
    if cond is None:
        return None
    c = check_real_scalar(cond, name)
    if not c >= 1.0:
        raise ValueError(f"{name} must be a finite number >= 1, got {cond}")
    return c


def check_int_option(value, name: str, minimum: int = 1) -> int | None:
    """``None`` or an integer ``≥ minimum`` (integral floats such as ``5.0`` accepted; ``2.7`` is not)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    elif math.isfinite(float(value)) and float(value).is_integer():
        v = int(value)
    else:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return v
