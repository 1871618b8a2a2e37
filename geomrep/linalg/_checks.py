"""Input validation shared by the matrix functions of :mod:`geomrep.linalg`.

Every check raises :class:`ValueError` naming the argument and the expectation. The data-dependent
checks (symmetry, positive definiteness) are skipped while ``torch.compile`` traces, so compiled
code has no graph breaks; shape and dtype checks are static and always run.
"""

from __future__ import annotations

import torch

__all__ = [
    "is_tracing",
    "check_square_float",
    "check_symmetric",
    "symmetry_tolerance",
    "check_positive_eigenvalues",
    "check_positive_definite",
]


def is_tracing() -> bool:
    """True while ``torch.compile`` (dynamo) traces the current code."""
    return torch.compiler.is_compiling()


def check_square_float(A: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` unless ``A`` is a real floating tensor of shape ``(..., n, n)``, n ≥ 1."""
    if not isinstance(A, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(A).__name__}")
    if not A.is_floating_point():
        raise ValueError(f"{name} must have a real floating dtype (float32/float64), got {A.dtype}")
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


def check_symmetric(A: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` if ``A`` is clearly non-symmetric (skipped under ``torch.compile``)."""
    if is_tracing():
        return
    asym = torch.linalg.matrix_norm(A - A.mT)
    scale = torch.linalg.matrix_norm(A)
    tol = symmetry_tolerance(A.dtype)
    bad = asym > tol * scale
    if bool(bad.any()) or not bool(torch.isfinite(scale).all()):
        if not bool(torch.isfinite(scale).all()):
            raise ValueError(f"{name} contains non-finite entries")
        worst = float((asym / scale.clamp_min(torch.finfo(A.dtype).tiny)).max())
        raise ValueError(
            f"{name} must be symmetric: relative asymmetry ‖A−Aᵀ‖/‖A‖ = {worst:.3g} exceeds {tol:.3g}"
        )


def check_positive_eigenvalues(L: torch.Tensor, name: str, *, allow_singular: bool) -> None:
    """Raise ``ValueError`` if eigenvalues ``L (..., n)`` show the matrix is not positive (semi)definite.

    With ``allow_singular`` (functions defined on PSD matrices such as ``√A``) eigenvalues down to
    ``−n·eps·max|λ|`` (rounding of a singular PSD matrix) pass; otherwise every eigenvalue must be
    strictly positive. Skipped under ``torch.compile``.
    """
    if is_tracing():
        return
    n = L.shape[-1]
    scale = L.abs().amax(dim=-1)
    lmin = L.amin(dim=-1)
    if allow_singular:
        bad = lmin < -n * float(torch.finfo(L.dtype).eps) * scale
        what = "positive semidefinite"
    else:
        bad = ~(lmin > 0)
        what = "positive definite"
    if bool(bad.any()):
        worst = float(lmin[bad].min())
        raise ValueError(f"{name} must be {what}; found an eigenvalue {worst:.3g}")


def check_positive_definite(A: torch.Tensor, name: str, *, allow_singular: bool = False) -> None:
    """Raise ``ValueError`` unless a Cholesky factorisation of every matrix in ``A`` exists.

    Used by the matmul-only methods, which never compute eigenvalues (a Cholesky costs about a
    sixth of one of their matrix products). With ``allow_singular`` the factorisation is of
    ``A + n·eps·‖A‖_F·I``, which accepts singular positive semidefinite matrices up to rounding.
    Skipped under ``torch.compile``.
    """
    if is_tracing():
        return
    if allow_singular:
        n = A.shape[-1]
        shift = n * float(torch.finfo(A.dtype).eps) * torch.linalg.matrix_norm(A)[..., None, None]
        A = A + shift * torch.eye(n, dtype=A.dtype, device=A.device)
    _, info = torch.linalg.cholesky_ex(A)
    if bool((info != 0).any()):
        what = "positive semidefinite" if allow_singular else "positive definite"
        raise ValueError(f"{name} must be symmetric {what} (its Cholesky factorisation failed)")
