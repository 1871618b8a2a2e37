r"""Bures–Wasserstein (BW) geometry of symmetric positive definite matrices, on batches ``(..., n, n)``.

The BW distance is the 2-Wasserstein distance between centred Gaussians with these covariances:

.. math::

    d^2(X, Y) = \operatorname{tr} X + \operatorname{tr} Y - 2 \operatorname{tr}(X^{1/2} Y X^{1/2})^{1/2}.

Write :math:`L_P[V]` for the solution of the Lyapunov equation :math:`P L + L P = V`. The metric at
:math:`P` is :math:`g_P(U, V) = \tfrac12 \operatorname{tr}(L_P[U]\, V)`, and

- :math:`\operatorname{Log}_P X = (PX)^{1/2} + (XP)^{1/2} - 2P`, with
  :math:`(PX)^{1/2} = P^{1/2} (P^{1/2} X P^{1/2})^{1/2} P^{-1/2}`;
- :math:`\operatorname{Exp}_P V = P + V + L_P[V]\, P\, L_P[V] = (I + L_P[V])\, P\, (I + L_P[V])`;
- geodesic :math:`\gamma(t) = (1-t)^2 A + t^2 B + t(1-t)[(AB)^{1/2} + (BA)^{1/2}]`;
- parallel transport between commuting points :math:`P = Q \operatorname{diag}(\sigma) Q^\top` and
  :math:`I`: in :math:`Q`'s basis entry :math:`(k, l)` of a tangent vector is scaled by
  :math:`\sqrt{2/(\sigma_k + \sigma_l)}` (towards :math:`I`) or its inverse (from :math:`I`).

Every matrix function comes from :mod:`geomrep.linalg` (tie-safe gradients). Functions follow the
dtype and device of their inputs (float32 or float64); leading batch dimensions broadcast; empty
batches give empty results.

Validation (see ``geomrep.manifolds.spd._checks``): every matrix argument, first or second, is
checked the same way — finite, symmetric, and SPD (``P``, and ``A`` of :func:`bw_geodesic`, which are
inverted) or PSD (``X``, ``Y``, ``B``) — and a failure names the user's argument and reports that
matrix's own smallest eigenvalue. Data checks are skipped under ``torch.compile``. Distance, log,
exp, geodesic and inner product are positively homogeneous, and are computed on inputs divided by a
common (detached) scale, so finite inputs of any magnitude (float32 entries of 1e30 or 1e-30) neither
overflow nor underflow.
"""

from __future__ import annotations

import torch

from ...linalg import solve_lyapunov, sqrtm, sqrtm_invsqrtm, sym
from ._checks import check_same_n, check_spd, check_tangent, is_tracing
from ._transport import transport_identity

__all__ = [
    "bw_distance",
    "bw_inner",
    "bw_log",
    "bw_exp",
    "bw_geodesic",
    "bw_transport_to_identity",
    "bw_transport_from_identity",
    "safe_sqrt",
]


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(max(x, 0))`` with gradient 0 (not inf/NaN) where ``x ≤ 0``."""
    pos = x > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, x, torch.ones_like(x))), torch.zeros_like(x))


def bw_distance(X: torch.Tensor, Y: torch.Tensor, *, squared: bool = False) -> torch.Tensor:
    r"""Bures–Wasserstein distance :math:`d(X, Y)` between SPD (or PSD) matrices.

    :math:`d^2 = \operatorname{tr} X + \operatorname{tr} Y - 2\operatorname{tr}(X^{1/2} Y X^{1/2})^{1/2}`,
    clamped at 0 against rounding.

    Args:
        X, Y: SPD matrices ``(..., n, n)``, broadcastable, same dtype.
        squared: return :math:`d^2` instead of :math:`d`.

    Returns:
        ``(...)`` distances in the dtype of the inputs. The gradient of :math:`d` is set to 0 at
        :math:`d = 0` (where :math:`d` is not differentiable); that of :math:`d^2` is exact.

    Example:
        >>> I = torch.eye(3, dtype=torch.float64)
        >>> bw_distance(I, 4 * I, squared=True)  # 3 + 12 - 2 * 3 * 2
        tensor(3., dtype=torch.float64)
    """
    check_same_n(X, Y, "X", "Y")
    check_spd(X, "X", allow_singular=True)
    check_spd(Y, "Y", allow_singular=True)
    return _bw_distance(X, Y, squared=squared)


def _bw_distance(X: torch.Tensor, Y: torch.Tensor, *, squared: bool) -> torch.Tensor:
    """:func:`bw_distance` without validation; ``d²(cX, cY) = c·d²(X, Y)`` scales out the magnitude."""
    c = _scale(X, Y)
    X, Y = X / c, Y / c
    Xh = sqrtm(X, check=False)
    cross = sqrtm(sym(Xh @ Y @ Xh), check=False)
    d2 = _trace(X) + _trace(Y) - 2.0 * _trace(cross)
    d2 = d2.clamp_min(0.0) * c[..., 0, 0]
    return d2 if squared else safe_sqrt(d2)


def _scale(*mats: torch.Tensor) -> torch.Tensor:
    """Common positive scale ``(..., 1, 1)`` (largest absolute entry, detached; 1 for zero matrices)."""
    s = None
    for A in mats:
        a = A.detach().abs().amax(dim=(-2, -1), keepdim=True)
        s = a if s is None else torch.maximum(s, a)
    return torch.where(s > 0, s, torch.ones_like(s))


def bw_inner(P: torch.Tensor, U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    r"""BW inner product :math:`g_P(U, V) = \tfrac12 \operatorname{tr}(L_P[U]\, V)` of tangent vectors.

    Args:
        P: SPD base points ``(..., n, n)``.
        U, V: symmetric tangent vectors ``(..., n, n)`` (broadcastable with ``P``).

    Returns:
        ``(...)`` inner products. At ``P = I`` this is ``tr(UV)/4``.

    Example:
        >>> I = torch.eye(2, dtype=torch.float64)
        >>> bw_inner(I, I, I)
        tensor(0.5000, dtype=torch.float64)
    """
    check_same_n(P, U, "P", "U")
    check_same_n(P, V, "P", "V")
    check_spd(P, "P")
    check_tangent(U, "U")
    check_tangent(V, "V")
    return _bw_inner(P, U, V)


def _bw_inner(P: torch.Tensor, U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """:func:`bw_inner` without validation; ``g_{cP}(cU, cV) = c·g_P(U, V)``."""
    c = _scale(P, U, V)
    L = solve_lyapunov(P / c, sym(U) / c)
    return 0.5 * (L * sym(V)).sum(dim=(-2, -1))


def bw_log(P: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    r"""Riemannian logarithm :math:`\operatorname{Log}_P X = (PX)^{1/2} + (XP)^{1/2} - 2P`.

    Computed as :math:`P^{1/2} S P^{-1/2} + P^{-1/2} S P^{1/2} - 2P` with
    :math:`S = (P^{1/2} X P^{1/2})^{1/2}`. Inverse of :func:`bw_exp` on its injectivity domain;
    :math:`g_P(\operatorname{Log}_P X, \operatorname{Log}_P X) = d^2(P, X)`.

    Args:
        P: SPD base points ``(..., n, n)``.
        X: SPD matrices ``(..., n, n)`` (broadcastable with ``P``).

    Returns:
        Symmetric tangent vectors ``(..., n, n)`` at ``P``.

    Example:
        >>> I = torch.eye(2, dtype=torch.float64)
        >>> bw_log(I, 4 * I)  # 2 X^½ - 2 I at the identity
        tensor([[2., 0.],
                [0., 2.]], dtype=torch.float64)
    """
    check_same_n(P, X, "P", "X")
    check_spd(P, "P")
    check_spd(X, "X", allow_singular=True)
    return _bw_log(P, X)


def _bw_log(P: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """:func:`bw_log` without validation; ``Log_{cP}(cX) = c·Log_P X``."""
    c = _scale(P, X)
    P, X = P / c, X / c
    Ph, Pih = sqrtm_invsqrtm(P, check=False)
    S = sqrtm(sym(Ph @ X @ Ph), check=False)
    A = Ph @ S @ Pih
    return sym(A + A.mT - 2.0 * P) * c


def _lyapunov(P: torch.Tensor, V: torch.Tensor, eig) -> torch.Tensor:
    if eig is None:
        return solve_lyapunov(P, V)
    sigma, Q = eig
    Vt = Q.mT @ V @ Q
    return Q @ (Vt / (sigma[..., :, None] + sigma[..., None, :])) @ Q.mT


def bw_exp(
    P: torch.Tensor, V: torch.Tensor, *, eig: tuple[torch.Tensor, torch.Tensor] | None = None
) -> torch.Tensor:
    r"""Riemannian exponential :math:`\operatorname{Exp}_P V = (I + L_P[V])\, P\, (I + L_P[V])`.

    Equal to :math:`P + V + L_P[V] P L_P[V]`; at the identity :math:`(I + V/2)^2`. The result is
    always positive semidefinite; it is the geodesic point (and :func:`bw_log` inverts it) while
    :math:`I + L_P[V]` is positive definite.

    Args:
        P: SPD base points ``(..., n, n)``.
        V: symmetric tangent vectors ``(..., n, n)`` (broadcastable with ``P``).
        eig: optional precomputed eigendecomposition ``(sigma (..., n), Q (..., n, n))`` of ``P``
            (``P = Q diag(sigma) Qᵀ``); then no decomposition is computed and gradients flow
            through ``sigma`` and ``Q`` (used by :class:`SPDBatchNorm`'s spectrally parametrised bias).

    Returns:
        SPD matrices ``(..., n, n)``.

    Example:
        >>> I = torch.eye(2, dtype=torch.float64)
        >>> bw_exp(I, 2 * I)  # (I + I)^2
        tensor([[4., 0.],
                [0., 4.]], dtype=torch.float64)
    """
    check_same_n(P, V, "P", "V")
    check_spd(P, "P")
    check_tangent(V, "V")
    return _bw_exp(P, V, eig)


def _bw_exp(P: torch.Tensor, V: torch.Tensor, eig=None) -> torch.Tensor:
    """:func:`bw_exp` without validation; ``Exp_{cP}(cV) = c·Exp_P V`` (``L_{cP}[cV] = L_P[V]``)."""
    V = sym(V)
    if eig is None:
        c = _scale(P, V)
        L = solve_lyapunov(P / c, V / c)
    else:
        L = _lyapunov(P, V, eig)
    n = P.shape[-1]
    E = torch.eye(n, dtype=P.dtype, device=P.device) + L
    return sym(E @ P @ E.mT)


def bw_geodesic(A: torch.Tensor, B: torch.Tensor, t) -> torch.Tensor:
    r"""BW geodesic :math:`\gamma(t) = (1-t)^2 A + t^2 B + t(1-t)[(AB)^{1/2} + (BA)^{1/2}]`.

    :math:`\gamma(0) = A`, :math:`\gamma(1) = B`, :math:`d(\gamma(s), \gamma(t)) = |s - t|\, d(A, B)`
    for :math:`s, t \in [0, 1]`.

    Args:
        A, B: SPD matrices ``(..., n, n)``, broadcastable.
        t: float or tensor of shape broadcastable with the batch shape ``(...)``.

    Returns:
        SPD matrices ``(..., n, n)``.

    Example:
        >>> I = torch.eye(2, dtype=torch.float64)
        >>> bw_geodesic(I, 9 * I, 0.5)  # ((1 + 3) / 2)^2
        tensor([[4., 0.],
                [0., 4.]], dtype=torch.float64)
    """
    check_same_n(A, B, "A", "B")
    check_spd(A, "A")
    check_spd(B, "B", allow_singular=True)
    return _bw_geodesic(A, B, _as_t(t, A))


def _as_t(t, A: torch.Tensor) -> torch.Tensor:
    """The geodesic parameter as a finite tensor of ``A``'s dtype (``TypeError``/``ValueError`` otherwise)."""
    if not isinstance(t, torch.Tensor):
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            raise TypeError(f"t must be a float or a tensor, got {type(t).__name__}")
        t = torch.tensor(float(t), dtype=A.dtype, device=A.device)
    elif t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"t must be a real tensor, got dtype {t.dtype}")
    t = t.to(A.dtype)
    if not is_tracing() and not bool(torch.isfinite(t).all()):
        raise ValueError("t must be finite")
    return t


def _bw_geodesic(A: torch.Tensor, B: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """:func:`bw_geodesic` without validation (``t`` a tensor of the dtype); homogeneous of degree 1."""
    t = t[..., None, None]
    c = _scale(A, B)
    A, B = A / c, B / c
    Ah, Aih = sqrtm_invsqrtm(A, check=False)
    C = Ah @ sqrtm(sym(Ah @ B @ Ah), check=False) @ Aih  # (AB)^½
    return sym((1 - t) ** 2 * A + t**2 * B + t * (1 - t) * (C + C.mT)) * c


def bw_transport_to_identity(
    P: torch.Tensor, V: torch.Tensor, *, eig: tuple[torch.Tensor, torch.Tensor] | None = None
) -> torch.Tensor:
    r"""Parallel transport of a tangent vector ``V`` at ``P`` to the identity along the BW geodesic.

    ``P`` and ``I`` commute, so the transport is closed-form: with
    :math:`P = Q \operatorname{diag}(\sigma) Q^\top`,
    :math:`\Gamma_{P\to I}(V) = Q\,[K \circ Q^\top V Q]\,Q^\top`,
    :math:`K_{kl} = \sqrt{2/(\sigma_k + \sigma_l)}`.
    It is an isometry: :math:`g_I(\Gamma V, \Gamma V) = g_P(V, V)`.

    Args:
        P: SPD base points ``(..., n, n)``.
        V: symmetric tangent vectors at ``P`` ``(..., n, n)``.
        eig: optional ``(sigma, Q)`` of ``P`` (then no decomposition is computed and gradients flow
            through ``sigma`` and ``Q``). Without it the gradient with respect to ``P`` comes from a
            closed-form backward that is exact at repeated eigenvalues of ``P`` (no
            ``1/(σ_k − σ_l)``; first order only).

    Returns:
        Symmetric tangent vectors at ``I`` ``(..., n, n)``.

    Example:
        >>> I = torch.eye(2, dtype=torch.float64)
        >>> bw_transport_to_identity(4 * I, I)  # scale by sqrt(2 / 8)
        tensor([[0.5000, 0.0000],
                [0.0000, 0.5000]], dtype=torch.float64)
    """
    check_same_n(P, V, "P", "V")
    check_spd(P, "P")
    check_tangent(V, "V")
    if eig is None:
        return transport_identity(P, sym(V), inverse=False)
    sigma, Q = eig
    K = torch.rsqrt(0.5 * (sigma[..., :, None] + sigma[..., None, :]))
    return Q @ (K * (Q.mT @ V @ Q)) @ Q.mT


def bw_transport_from_identity(
    P: torch.Tensor, V: torch.Tensor, *, eig: tuple[torch.Tensor, torch.Tensor] | None = None
) -> torch.Tensor:
    r"""Parallel transport of a tangent vector ``V`` at ``I`` to ``P``.

    The inverse of :func:`bw_transport_to_identity`.

    :math:`\Gamma_{I\to P}(V) = Q\,[K \circ Q^\top V Q]\,Q^\top` with
    :math:`K_{kl} = \sqrt{(\sigma_k + \sigma_l)/2}`.

    Args:
        P: SPD target points ``(..., n, n)``.
        V: symmetric tangent vectors at ``I`` ``(..., n, n)``.
        eig: optional ``(sigma, Q)`` of ``P`` (gradients then flow through them). Without it the
            ``P``-gradient is tie-safe as in :func:`bw_transport_to_identity`.

    Returns:
        Symmetric tangent vectors at ``P`` ``(..., n, n)``.

    Example:
        >>> I = torch.eye(2, dtype=torch.float64)
        >>> bw_transport_from_identity(4 * I, I)
        tensor([[2., 0.],
                [0., 2.]], dtype=torch.float64)
    """
    check_same_n(P, V, "P", "V")
    check_spd(P, "P")
    check_tangent(V, "V")
    if eig is None:
        return transport_identity(P, sym(V), inverse=True)
    sigma, Q = eig
    K = torch.sqrt(0.5 * (sigma[..., :, None] + sigma[..., None, :]))
    return Q @ (K * (Q.mT @ V @ Q)) @ Q.mT


def _trace(A: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(A, dim1=-2, dim2=-1).sum(-1)
