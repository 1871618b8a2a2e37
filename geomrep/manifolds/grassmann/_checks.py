"""Input validation for :mod:`geomrep.manifolds.grassmann`.

Policy (library-wide): a wrong type or dtype kind raises ``TypeError``; a wrong shape or value raises
``ValueError`` naming the user's argument. Static checks (shapes, dtypes) always run; the data checks
(orthonormality, finiteness) cost one host synchronisation and run only with ``check=True``; under
``torch.compile`` they follow :mod:`geomrep.linalg._checks` (an async assert on CPU, skipped elsewhere).
"""

from __future__ import annotations

import math

import torch

from ...linalg._checks import _fail, check_batch_broadcast, check_finite, check_tensor

__all__ = [
    "check_bases",
    "check_pair",
    "check_orthonormal",
    "check_horizontal",
    "orthonormality_tolerance",
]


def check_bases(X, name: str = "X") -> None:
    """``TypeError`` unless ``X`` is a real float tensor; ``ValueError`` unless ``(..., d, k)``, 1 ≤ k ≤ d."""
    check_tensor(X, name)
    if X.dim() < 2:
        raise ValueError(f"{name} must be bases of shape (..., d, k), got shape {tuple(X.shape)}")
    d, k = X.shape[-2], X.shape[-1]
    if k < 1:
        raise ValueError(f"{name} must have k >= 1 columns, got shape {tuple(X.shape)}")
    if k > d:
        raise ValueError(
            f"{name} must have k <= d (a k-dimensional subspace of R^d), got d={d}, k={k} "
            f"(shape {tuple(X.shape)})"
        )


def check_pair(X, Y, name_x: str, name_y: str, *, same_k: bool = True) -> None:
    """Both valid bases of the same ``d`` (and ``k``), same dtype, broadcastable batch shapes."""
    check_bases(X, name_x)
    check_tensor(Y, name_y)
    if Y.dim() < 2:
        raise ValueError(f"{name_y} must have shape (..., d, k), got shape {tuple(Y.shape)}")
    if same_k and X.shape[-2:] != Y.shape[-2:]:
        raise ValueError(
            f"{name_x} and {name_y} must have the same (d, k), "
            f"got {tuple(X.shape[-2:])} and {tuple(Y.shape[-2:])}"
        )
    if X.shape[-2] != Y.shape[-2]:
        raise ValueError(f"{name_x} and {name_y} must have the same d, got {X.shape[-2]} and {Y.shape[-2]}")
    if X.dtype != Y.dtype:
        raise TypeError(f"{name_x} and {name_y} must have the same dtype, got {X.dtype} and {Y.dtype}")
    check_batch_broadcast(X, Y, name_x, name_y)


def orthonormality_tolerance(dtype: torch.dtype) -> float:
    """Largest accepted ``max |XᵀX − I|``: ``√eps`` of the dtype (3.5e-4 float32, 1.5e-8 float64).

    Bases produced by QR, by :func:`grassmann_exp` or by thousands of optimizer steps stay orders of
    magnitude below it; a basis that is merely full-rank (not orthonormal) is far above it.
    """
    return math.sqrt(torch.finfo(dtype).eps)


def check_orthonormal(X: torch.Tensor, name: str = "X") -> None:
    """``ValueError`` if ``X`` is non-finite or ``max |XᵀX − I| > √eps`` (data check, one host sync)."""
    check_finite(X, name)
    if X.numel() == 0:
        return
    k = X.shape[-1]
    eye = torch.eye(k, dtype=X.dtype, device=X.device)
    err = (X.mT @ X - eye).abs().amax()
    tol = orthonormality_tolerance(X.dtype)
    msg = f"{name} must have orthonormal columns (XᵀX = I); use Grassmann().projx or orthonormalize() first"
    if _fail(err <= tol, msg):
        raise ValueError(f"{msg}: max |{name}ᵀ{name} − I| = {float(err):.3g} > {tol:.1e}")


def check_horizontal(X: torch.Tensor, U: torch.Tensor, name_x: str = "X", name_u: str = "U") -> None:
    """``ValueError`` unless ``U`` is horizontal at ``X``: ``max |XᵀU| ≤ √eps·max(1, max|U|)``."""
    check_finite(U, name_u)
    if U.numel() == 0 or X.numel() == 0:
        return
    err = (X.mT @ U).abs().amax()
    tol = orthonormality_tolerance(U.dtype) * U.abs().amax().clamp_min(1.0)
    msg = f"{name_u} must be a tangent vector at {name_x} ({name_x}ᵀ{name_u} = 0); use proju first"
    if _fail(err <= tol, msg):
        raise ValueError(f"{msg}: max |{name_x}ᵀ{name_u}| = {float(err):.3g}")
