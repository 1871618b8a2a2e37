"""Input validation for :mod:`geomrep.manifolds.spd`: one policy for every public function and module.

- Type and shape (static, always run): a matrix argument must be a ``torch.Tensor`` with dtype float32
  or float64 (``TypeError`` otherwise, naming the argument) of shape ``(..., n, n)``, n ≥ 1
  (``ValueError``). Half precision is refused here: the iterative geometry (means, batch norm) is
  meaningless at 3 significant digits; cast to float32.
- Data (skipped while ``torch.compile`` traces, so compiled code has no graph breaks): every entry
  finite; every matrix argument, first or second, symmetric up to ``√eps`` relative asymmetry; SPD
  (or PSD) arguments must pass a Cholesky test. All data checks work on each matrix divided by its
  largest absolute entry, so finite inputs of any magnitude (float32 entries of 1e30 or 1e-30) are
  judged correctly. A failure names the user's argument, the batch index and reports the user's
  matrix's own smallest eigenvalue (never one of an internal, transformed matrix).
"""

from __future__ import annotations

import torch

from ...linalg._checks import check_batch_broadcast

__all__ = [
    "check_square",
    "check_same_n",
    "check_finite",
    "check_symmetric",
    "check_spd",
    "check_tangent",
    "is_tracing",
]

_DTYPES = (torch.float32, torch.float64)
_HALF = (torch.float16, torch.bfloat16)


def is_tracing() -> bool:
    """True while ``torch.compile`` (dynamo) traces the current code."""
    return torch.compiler.is_compiling()


def check_square(A, name: str, *, allow_half: bool = False) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``A`` is a float32/float64 tensor ``(..., n, n)``, n ≥ 1.

    ``allow_half`` also accepts float16/bfloat16 (the SPDNet layers, which compute those in float32
    through :mod:`geomrep.linalg`).
    """
    if not isinstance(A, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(A).__name__}")
    ok = A.is_floating_point() and (allow_half or A.dtype in _DTYPES)
    if not ok:
        kinds = "a real floating dtype" if allow_half else "dtype float32 or float64"
        raise TypeError(f"{name} must have {kinds}, got {A.dtype}")
    if A.dim() < 2 or A.shape[-1] != A.shape[-2] or A.shape[-1] == 0:
        raise ValueError(f"{name} must be a batch of square matrices (..., n, n), got shape {tuple(A.shape)}")


def check_same_n(A, B, name_a: str, name_b: str) -> None:
    """Both square float batches with the same ``n`` and dtype, batch shapes broadcastable."""
    check_square(A, name_a)
    check_square(B, name_b)
    if A.shape[-1] != B.shape[-1]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same matrix size, got {A.shape[-1]} and {B.shape[-1]}"
        )
    if A.dtype != B.dtype:
        raise TypeError(f"{name_a} and {name_b} must have the same dtype, got {A.dtype} and {B.dtype}")
    check_batch_broadcast(A, B, name_a, name_b)


def _first_bad(bad: torch.Tensor) -> str:
    """``"[i, j]"`` of the first true entry of a batch mask (``""`` for an unbatched matrix)."""
    if bad.dim() == 0:
        return ""
    idx = torch.nonzero(bad)[0].tolist()
    return "[" + ", ".join(str(i) for i in idx) + "]"


def check_finite(A: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` if ``A`` has a NaN or infinite entry (skipped under ``torch.compile``)."""
    if is_tracing():
        return
    bad = ~torch.isfinite(A).flatten(-2).all(dim=-1)
    if bool(bad.any()):
        raise ValueError(f"{name} must be finite; {name}{_first_bad(bad)} contains NaN or infinite entries")


def _normalised(A: torch.Tensor) -> torch.Tensor:
    """Each matrix divided by its largest absolute entry (zero matrices unchanged): no overflow."""
    s = A.abs().amax(dim=(-2, -1), keepdim=True)
    return A / torch.where(s > 0, s, torch.ones_like(s))


def _symmetric_normalised(A: torch.Tensor, name: str) -> torch.Tensor:
    check_finite(A, name)
    tol = float(torch.finfo(A.dtype).eps) ** 0.5  # of the user's dtype (half: checked in float32)
    An = _normalised(A.float() if A.dtype in _HALF else A)
    asym = torch.linalg.matrix_norm(An - An.mT)
    scale = torch.linalg.matrix_norm(An)
    bad = asym > tol * scale
    if bool(bad.any()):
        worst = float((asym / scale.clamp_min(1.0))[bad].max())
        raise ValueError(
            f"{name} must be symmetric; {name}{_first_bad(bad)} has relative asymmetry "
            f"‖{name}−{name}ᵀ‖_F/‖{name}‖_F = {worst:.3g} > {tol:.3g}"
        )
    return 0.5 * (An + An.mT)


def check_symmetric(A: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` unless ``A`` is finite and symmetric up to ``√eps`` (relative, Frobenius)."""
    if is_tracing():
        return
    _symmetric_normalised(A, name)


check_tangent = check_symmetric


def check_spd(A: torch.Tensor, name: str, *, allow_singular: bool = False) -> None:
    """Raise ``ValueError`` unless every matrix of ``A`` is finite, symmetric and positive (semi)definite.

    Positive definite means a Cholesky factorisation of the (max-entry normalised) matrix exists;
    with ``allow_singular`` it is the factorisation of ``Â + n·eps·max(‖Â‖_F, 1)·I``, which accepts
    singular PSD matrices (the zero matrix included) up to rounding. On failure the message reports
    the smallest eigenvalue of the user's matrix (computed in float64). Skipped under ``torch.compile``.
    """
    if is_tracing():
        return
    An = _symmetric_normalised(A, name)
    if An.numel() == 0:
        return
    n = A.shape[-1]
    if allow_singular:
        shift = n * float(torch.finfo(An.dtype).eps) * torch.linalg.matrix_norm(An).clamp_min(1.0)
        An = An + shift[..., None, None] * torch.eye(n, dtype=An.dtype, device=A.device)
    _, info = torch.linalg.cholesky_ex(An)
    bad = info != 0
    if bool(bad.any()):
        what = "positive semidefinite" if allow_singular else "positive definite"
        lam = torch.linalg.eigvalsh(0.5 * (A[bad] + A[bad].mT).double())
        lmin, lmax = float(lam[0, 0]), float(lam[0, -1])
        msg = f"{name} must be symmetric {what}; {name}{_first_bad(bad)} has smallest eigenvalue {lmin:.3g}"
        if lmin > 0:
            msg += f" (largest {lmax:.3g}: numerically singular in {A.dtype})"
        raise ValueError(msg)
