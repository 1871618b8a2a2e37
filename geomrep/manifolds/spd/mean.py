r"""Fréchet means of SPD matrices: the Bures–Wasserstein barycenter and the affine-invariant Karcher mean.

- BW barycenter (fixed point of Álvarez-Esteban et al. 2016):
  :math:`S \leftarrow S^{-1/2} \bigl(\sum_i w_i (S^{1/2} X_i S^{1/2})^{1/2}\bigr)^2 S^{-1/2}`.
- Affine-invariant (Karcher) mean:
  :math:`G \leftarrow G^{1/2} \exp\bigl(\sum_i w_i \log(G^{-1/2} X_i G^{-1/2})\bigr) G^{1/2}`.

Both start from the weighted arithmetic mean. ``reduce`` is applied to every weighted sum over the
matrices (and to the total weight), so a mean of data spread over processes is computed by passing an
all-reduce (see :class:`geomrep.manifolds.spd.SPDBatchNorm` with ``sync=True``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...linalg import expm, logm, sqrtm, sqrtm_invsqrtm, sym
from ...linalg._checks import check_positive_definite, check_symmetric
from ._checks import check_square

__all__ = ["bw_mean", "karcher_mean", "arithmetic_mean"]

Reduce = Callable[[torch.Tensor], torch.Tensor]


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


def _weights(X: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Weights broadcast to ``X.shape[:-2]`` as ``(..., N, 1, 1)``."""
    if weights is None:
        return torch.ones(X.shape[:-2], dtype=X.dtype, device=X.device)[..., None, None]
    if not isinstance(weights, torch.Tensor):
        weights = torch.as_tensor(weights, dtype=X.dtype, device=X.device)
    try:
        w = weights.to(X.dtype).expand(X.shape[:-2])
    except RuntimeError as exc:
        raise ValueError(
            f"weights must broadcast to X's batch shape {tuple(X.shape[:-2])}, got {tuple(weights.shape)}"
        ) from exc
    if not torch.compiler.is_compiling() and bool((w < 0).any()):
        raise ValueError("weights must be non-negative")
    return w[..., None, None]


def _prepare(X: torch.Tensor, weights, reduce):
    check_square(X, "X")
    if X.dim() < 3:
        raise ValueError(
            f"X must be (..., N, n, n) with the matrices to average on dim -3, got {tuple(X.shape)}"
        )
    reduce = _identity if reduce is None else reduce
    w = _weights(X, weights)
    total = reduce(w.sum(dim=-3))
    return w, total, reduce


def _start(X, weights, reduce, iters, init, *, allow_singular: bool):
    """Validate the arguments of an iterative mean once; return ``(w, total, reduce, start)``.

    The fixed-point steps run unchecked, so the data are checked here (symmetric, positive
    (semi)definite) when any step will run. The start is ``init`` or the weighted arithmetic mean.
    """
    w, total, reduce = _prepare(X, weights, reduce)
    if not isinstance(iters, int) or iters < 0:
        raise ValueError(f"iters must be a non-negative int, got {iters!r}")
    if iters > 0:
        check_symmetric(X, "X")
        check_positive_definite(X, "X", allow_singular=allow_singular)
    start = reduce((w * X).sum(dim=-3)) / total if init is None else init.to(X.dtype)
    return w, total, reduce, start


def arithmetic_mean(
    X: torch.Tensor, weights: torch.Tensor | None = None, *, reduce: Reduce | None = None
) -> torch.Tensor:
    r"""Weighted arithmetic mean :math:`\sum_i w_i X_i / \sum_i w_i` over dim ``-3``.

    Args:
        X: matrices ``(..., N, n, n)``.
        weights: non-negative ``(..., N)`` (default: uniform); normalised to sum 1.
        reduce: applied to every sum over the matrices (e.g. an all-reduce across processes).

    Returns:
        ``(..., n, n)``.
    """
    w, total, reduce = _prepare(X, weights, reduce)
    return reduce((w * X).sum(dim=-3)) / total


def bw_mean(
    X: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    iters: int = 50,
    tol: float | None = 1e-12,
    init: torch.Tensor | None = None,
    reduce: Reduce | None = None,
) -> torch.Tensor:
    r"""Bures–Wasserstein barycenter of SPD matrices by the fixed-point iteration.

    :math:`S \leftarrow S^{-1/2} \bigl(\sum_i w_i (S^{1/2} X_i S^{1/2})^{1/2}\bigr)^2 S^{-1/2}`,
    from the weighted arithmetic mean (or ``init``). The barycenter is the unique minimiser of
    :math:`\sum_i w_i d^2(S, X_i)`; the iteration converges for SPD data (Álvarez-Esteban et al.
    2016), typically to float64 rounding in 10-30 steps.

    Args:
        X: SPD matrices ``(..., N, n, n)``; the mean is over dim ``-3``.
        weights: non-negative ``(..., N)`` (default uniform), normalised to sum 1.
        iters: maximal number of fixed-point steps (``0`` returns the arithmetic mean).
        tol: stop early when ``‖S_new − S‖_F ≤ tol·‖S‖_F`` for every batch entry, with ``tol`` raised
            to at least ``10·eps`` of the dtype (a data-dependent check, skipped under
            ``torch.compile``); ``None`` always runs ``iters`` steps.
        init: starting point ``(..., n, n)``.
        reduce: applied to every sum over the matrices (e.g. an all-reduce across processes).

    Returns:
        ``(..., n, n)`` SPD barycenter, differentiable (through all steps) in ``X`` and ``weights``.

    Example:
        >>> I = torch.eye(2, dtype=torch.float64)
        >>> bw_mean(torch.stack([I, 9 * I]))  # ((1 + 3) / 2)^2 I
        tensor([[4., 0.],
                [0., 4.]], dtype=torch.float64)
    """
    w, total, reduce, S = _start(X, weights, reduce, iters, init, allow_singular=True)
    return _bw_fixed_point(X, S, w, total, iters=iters, tol=tol, reduce=reduce)


def _bw_fixed_point(
    X: torch.Tensor,
    S: torch.Tensor,
    w: torch.Tensor | None,
    total: torch.Tensor,
    *,
    iters: int,
    tol: float | None,
    reduce: Reduce,
    congruence: torch.Tensor | None = None,
    method: str = "auto",
) -> torch.Tensor:
    r"""The fixed-point steps of :func:`bw_mean` from ``S``, without input validation (internal).

    With ``congruence`` :math:`C` ``(..., n, n)`` the data are :math:`C^\top X_i C` (never formed:
    :math:`S^{1/2} C^\top X_i C S^{1/2} = (C S^{1/2})^\top X_i (C S^{1/2})`), which is how the GBW batch
    norm averages :math:`M^{-1/2} X_i M^{-1/2}` at the cost of a plain BW mean. ``w`` ``(..., N, 1, 1)``
    or ``None`` (uniform), ``total`` the (reduced) total weight, ``method`` that of
    :func:`geomrep.linalg.sqrtm`.
    """
    if tol is not None:
        tol = max(float(tol), 10 * torch.finfo(X.dtype).eps)
    for _ in range(iters):
        Sh, Sih = sqrtm_invsqrtm(S, method, check=False)
        P = Sh if congruence is None else congruence @ Sh
        roots = sqrtm(P.mT[..., None, :, :] @ X @ P[..., None, :, :], method, check=False)
        R = reduce((roots if w is None else w * roots).sum(dim=-3)) / total
        R = sym(R)
        S_new = sym(Sih @ R @ R @ Sih)
        done = _converged(S_new, S, tol)
        S = S_new
        if done:
            break
    return S


def karcher_mean(
    X: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    iters: int = 50,
    tol: float | None = 1e-12,
    init: torch.Tensor | None = None,
    reduce: Reduce | None = None,
) -> torch.Tensor:
    r"""Affine-invariant (Karcher / Fréchet) mean of SPD matrices by the Riemannian gradient fixed point.

    :math:`G \leftarrow G^{1/2} \exp\bigl(\sum_i w_i \log(G^{-1/2} X_i G^{-1/2})\bigr) G^{1/2}`, from the
    weighted arithmetic mean (or ``init``). Minimises :math:`\sum_i w_i \|\log(G^{-1/2} X_i G^{-1/2})\|_F^2`.
    Used by the affine-invariant batch norm (Brooks et al. 2019).

    Args:
        X: SPD matrices ``(..., N, n, n)``; weights, iters, tol, init, reduce: as in :func:`bw_mean`.

    Returns:
        ``(..., n, n)`` SPD mean.

    Example:
        >>> I = torch.eye(2, dtype=torch.float64)
        >>> torch.allclose(karcher_mean(torch.stack([I, 9 * I])), 3 * I)  # geometric mean 3 I
        True
    """
    w, total, reduce, G = _start(X, weights, reduce, iters, init, allow_singular=False)
    return _karcher_steps(X, G, w, total, iters=iters, tol=tol, reduce=reduce)


def _uniform_start(X: torch.Tensor, reduce: Reduce | None):
    """``(reduce, total, mean over dim 0)`` of ``X (N, ...)`` with uniform weights (internal)."""
    red = _identity if reduce is None else reduce
    total = red(torch.full((), float(X.shape[0]), dtype=X.dtype, device=X.device))
    return red, total, red(X.sum(dim=0)) / total


def _karcher_fixed_point(X: torch.Tensor, iters: int, reduce: Reduce | None) -> torch.Tensor:
    """Karcher mean of ``X (N, n, n)`` with uniform weights, ``iters`` steps, no validation (internal)."""
    red, total, G = _uniform_start(X, reduce)
    return _karcher_steps(X, G, None, total, iters=iters, tol=None, reduce=red)


def _bw_uniform_mean(
    X: torch.Tensor, iters: int, reduce: Reduce | None, congruence: torch.Tensor | None, method: str
) -> torch.Tensor:
    """BW mean of ``Cᵀ X_i C`` (``C = congruence``, symmetric, or ``I``) with uniform weights, ``iters``
    fixed-point steps from the arithmetic mean, no validation (internal; the GBW batch norm's statistics)."""
    red, total, S = _uniform_start(X, reduce)
    if congruence is not None:  # the arithmetic mean commutes with the congruence
        S = sym(congruence @ S @ congruence)
    return _bw_fixed_point(
        X, S, None, total, iters=iters, tol=None, reduce=red, congruence=congruence, method=method
    )


def _karcher_steps(X, G, w, total, *, iters: int, tol: float | None, reduce: Reduce) -> torch.Tensor:
    if tol is not None:
        tol = max(float(tol), 10 * torch.finfo(X.dtype).eps)
    for _ in range(iters):
        Gh, Gih = sqrtm_invsqrtm(G, check=False)
        logs = logm(Gih[..., None, :, :] @ X @ Gih[..., None, :, :], check=False)
        T = reduce((logs if w is None else w * logs).sum(dim=-3)) / total
        G_new = sym(Gh @ expm(sym(T), check=False) @ Gh)
        done = _converged(G_new, G, tol)
        G = G_new
        if done:
            break
    return G


def _converged(new: torch.Tensor, old: torch.Tensor, tol: float | None) -> bool:
    if tol is None or torch.compiler.is_compiling():
        return False
    diff = torch.linalg.matrix_norm(new - old)
    return bool((diff <= tol * torch.linalg.matrix_norm(old)).all())
