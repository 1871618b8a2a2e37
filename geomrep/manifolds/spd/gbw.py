r"""Generalized Bures–Wasserstein (GBW) geometry with an SPD parameter ``M``.

.. math::

    d_M^2(X, Y) = \operatorname{tr}(M^{-1}X) + \operatorname{tr}(M^{-1}Y)
        - 2 \operatorname{tr}\bigl((X M^{-1} Y M^{-1})^{1/2}\bigr).

The congruence :math:`\varphi_M(X) = M^{-1/2} X M^{-1/2}` is an isometry from :math:`(\mathrm{SPD}, g^M)`
onto plain BW (``M = I`` gives BW back), so every GBW operation is the BW operation after it:
:math:`\operatorname{Log}^M_P X = M^{1/2}\, \operatorname{Log}_{\varphi P} \varphi X\, M^{1/2}`,
:math:`\operatorname{Exp}^M_P V = M^{1/2} \operatorname{Exp}_{\varphi P}(M^{-1/2} V M^{-1/2}) M^{1/2}`.

Validation as in :mod:`.bw`: every argument is checked on the user's matrix (``M``, ``P`` and ``A``
SPD; ``X``, ``Y``, ``B`` PSD; tangent vectors finite and symmetric) before the congruence, so errors
name the user's argument and report its own eigenvalues.
"""

from __future__ import annotations

import torch

from ...linalg import sqrtm_invsqrtm, sym
from ._checks import check_same_n, check_spd, check_tangent
from .bw import _as_t, _bw_distance, _bw_exp, _bw_geodesic, _bw_inner, _bw_log

__all__ = [
    "gbw_congruence",
    "gbw_distance",
    "gbw_inner",
    "gbw_log",
    "gbw_exp",
    "gbw_geodesic",
]


def gbw_congruence(X: torch.Tensor, M: torch.Tensor, *, inverse: bool = False) -> torch.Tensor:
    r"""The isometry :math:`\varphi_M(X) = M^{-1/2} X M^{-1/2}` from GBW\ :sub:`M` onto BW (or its inverse).

    It also maps tangent vectors (it is linear). ``inverse=True`` gives :math:`M^{1/2} X M^{1/2}`.

    Args:
        X: symmetric matrices ``(..., n, n)``.
        M: SPD metric parameter ``(..., n, n)``, broadcastable with ``X``.
        inverse: apply :math:`\varphi_M^{-1}` instead.

    Returns:
        ``(..., n, n)``.

    Example:
        >>> I = torch.eye(2, dtype=torch.float64)
        >>> gbw_congruence(I, 4 * I)
        tensor([[0.2500, 0.0000],
                [0.0000, 0.2500]], dtype=torch.float64)
    """
    check_same_n(X, M, "X", "M")
    check_tangent(X, "X")
    check_spd(M, "M")
    Mh, Mih = sqrtm_invsqrtm(M, check=False)
    C = Mh if inverse else Mih
    return sym(C @ X @ C)


def gbw_distance(X: torch.Tensor, Y: torch.Tensor, M: torch.Tensor, *, squared: bool = False) -> torch.Tensor:
    r"""GBW distance :math:`d_M(X, Y) = d_{BW}(M^{-1/2} X M^{-1/2}, M^{-1/2} Y M^{-1/2})`.

    Args:
        X, Y: SPD matrices ``(..., n, n)``; M: SPD parameter ``(..., n, n)``; all broadcastable.
        squared: return :math:`d_M^2`.

    Returns:
        ``(...)`` distances.

    Example:
        >>> I = torch.eye(3, dtype=torch.float64)
        >>> gbw_distance(I, 4 * I, I, squared=True)
        tensor(3., dtype=torch.float64)
    """
    check_same_n(X, Y, "X", "Y")
    check_same_n(X, M, "X", "M")
    check_spd(X, "X", allow_singular=True)
    check_spd(Y, "Y", allow_singular=True)
    check_spd(M, "M")
    Mih = sqrtm_invsqrtm(M, check=False)[1]
    return _bw_distance(sym(Mih @ X @ Mih), sym(Mih @ Y @ Mih), squared=squared)


def gbw_inner(P: torch.Tensor, U: torch.Tensor, V: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    r"""GBW inner product :math:`g^M_P(U, V) = g_{\varphi P}(\varphi U, \varphi V)`.

    Args:
        P: SPD base points; U, V: symmetric tangent vectors; M: SPD parameter; all ``(..., n, n)``.

    Returns:
        ``(...)`` inner products.
    """
    check_same_n(P, U, "P", "U")
    check_same_n(P, V, "P", "V")
    check_same_n(P, M, "P", "M")
    check_spd(P, "P")
    check_tangent(U, "U")
    check_tangent(V, "V")
    check_spd(M, "M")
    Mih = sqrtm_invsqrtm(M, check=False)[1]
    return _bw_inner(sym(Mih @ P @ Mih), sym(Mih @ U @ Mih), sym(Mih @ V @ Mih))


def gbw_log(P: torch.Tensor, X: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    r"""GBW logarithm :math:`M^{1/2}\operatorname{Log}_{\varphi P}(\varphi X)M^{1/2}`.

    Args:
        P: SPD base points; X: SPD matrices; M: SPD parameter; all ``(..., n, n)``.

    Returns:
        Symmetric tangent vectors at ``P`` ``(..., n, n)``.
    """
    check_same_n(P, X, "P", "X")
    check_same_n(P, M, "P", "M")
    check_spd(P, "P")
    check_spd(X, "X", allow_singular=True)
    check_spd(M, "M")
    Mh, Mih = sqrtm_invsqrtm(M, check=False)
    V = _bw_log(sym(Mih @ P @ Mih), sym(Mih @ X @ Mih))
    return sym(Mh @ V @ Mh)


def gbw_exp(P: torch.Tensor, V: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    r"""GBW exponential :math:`M^{1/2}\operatorname{Exp}_{\varphi P}(\varphi V)M^{1/2}`.

    Args:
        P: SPD base points; V: symmetric tangent vectors; M: SPD parameter; all ``(..., n, n)``.

    Returns:
        SPD matrices ``(..., n, n)``.
    """
    check_same_n(P, V, "P", "V")
    check_same_n(P, M, "P", "M")
    check_spd(P, "P")
    check_tangent(V, "V")
    check_spd(M, "M")
    Mh, Mih = sqrtm_invsqrtm(M, check=False)
    Y = _bw_exp(sym(Mih @ P @ Mih), sym(Mih @ V @ Mih))
    return sym(Mh @ Y @ Mh)


def gbw_geodesic(A: torch.Tensor, B: torch.Tensor, t, M: torch.Tensor) -> torch.Tensor:
    r"""GBW geodesic :math:`\varphi_M^{-1}(\gamma_{BW}(\varphi_M A, \varphi_M B; t))`.

    Args:
        A, B: SPD end points ``(..., n, n)``; t: float or tensor broadcastable with the batch;
            M: SPD parameter ``(..., n, n)``.

    Returns:
        SPD matrices ``(..., n, n)``.
    """
    check_same_n(A, B, "A", "B")
    check_same_n(A, M, "A", "M")
    check_spd(A, "A")
    check_spd(B, "B", allow_singular=True)
    check_spd(M, "M")
    t = _as_t(t, A)
    Mh, Mih = sqrtm_invsqrtm(M, check=False)
    G = _bw_geodesic(sym(Mih @ A @ Mih), sym(Mih @ B @ Mih), t)
    return sym(Mh @ G @ Mh)
