r"""Functional core of the Grassmann manifold :math:`\mathrm{Gr}(d, k)` (k-dimensional subspaces of Rᵈ).

A subspace is stored as an orthonormal basis ``X (..., d, k)`` (``XᵀX = I``); ``X`` and ``XQ`` (``Q``
orthogonal) are the same point. Tangent vectors at ``X`` are *horizontal* matrices ``U (..., d, k)``
with ``XᵀU = 0``; the metric is the canonical one, :math:`\langle U, V\rangle = \operatorname{tr}(U^\top V)`.
Principal angles :math:`0 \le \theta_1 \le \dots \le \theta_k \le \pi/2` between ``span X`` and ``span Y``
give the geodesic distance :math:`d(X, Y) = \lVert\theta\rVert_2`; the injectivity radius is π/2.

Functions (all batched over leading dimensions, float32/float64, any device):

- :func:`orthonormalize`: QR with a positive ``diag(R)`` (a deterministic basis of ``span X``);
- :func:`horizontal_projection`: :math:`(I - XX^\top)U`;
- :func:`grassmann_exp`: the exact geodesic;
- :func:`grassmann_log`: its inverse;
- :func:`principal_angles`, :func:`grassmann_distance`;
- :func:`random_grassmann`: Haar-distributed (uniform) subspaces.
"""

from __future__ import annotations

import math

import torch

from ...linalg._checks import check_finite
from ._checks import check_bases, check_horizontal, check_orthonormal, check_pair

__all__ = [
    "orthonormalize",
    "horizontal_projection",
    "grassmann_exp",
    "grassmann_log",
    "principal_angles",
    "grassmann_distance",
    "random_grassmann",
]

_TAYLOR_TERMS = 10  # Taylor terms of cos(√s), sinc(√s) used for ‖s‖ ≤ 1: truncation error ≤ 1/20! ≈ 4e-19
_COS_COEF = tuple((-1) ** n / math.factorial(2 * n) for n in range(_TAYLOR_TERMS))
_SINC_COEF = tuple((-1) ** n / math.factorial(2 * n + 1) for n in range(_TAYLOR_TERMS))


# ------------------------------------------------------------------ cos(√G), sin(√G)/√G, matmul only
def _cos_sinc_sqrt(G: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``cos(√G)`` and ``sinc(√G) = sin(√G)/√G`` of symmetric PSD ``G (..., k, k)`` by matrix products only.

    Both are entire functions of ``G`` (Taylor series Σ(−G)ⁿ/(2n)! and Σ(−G)ⁿ/(2n+1)!), so autograd through
    the products gives exact, finite gradients at repeated and zero eigenvalues, and the k×k work is
    GEMM-shaped (fast on GPUs, where batched ``eigh`` is slow). Scaling and squaring: ``G/4ʲ`` has ∞-norm
    ≤ 1, then the doubling identities ``cos(2θ) = 2cos²θ − 1`` and ``sinc(2θ) = sinc(θ)cos(θ)`` are applied
    ``j`` times (``j`` from the largest norm in the batch: one host synchronisation).
    """
    k = G.shape[-1]
    eye = torch.eye(k, dtype=G.dtype, device=G.device)
    if G.numel() == 0:
        return eye.expand(G.shape).clone(), eye.expand(G.shape).clone()
    norm = float(G.detach().abs().sum(-1).amax())
    j = max(0, math.ceil(math.log(norm, 4))) if norm > 1 else 0
    X = G / 4**j if j else G
    C = _COS_COEF[0] * eye + _COS_COEF[1] * X
    S = _SINC_COEF[0] * eye + _SINC_COEF[1] * X
    P = X
    for n in range(2, _TAYLOR_TERMS):
        P = P @ X
        C = C + _COS_COEF[n] * P
        S = S + _SINC_COEF[n] * P
    for _ in range(j):
        S = S @ C
        C = 2 * (C @ C) - eye
    return C, S


# ------------------------------------------------------------------ unchecked kernels (used by the manifold)
def _orthonormalize(X: torch.Tensor) -> torch.Tensor:
    Q, R = torch.linalg.qr(X)
    sgn = torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))
    sgn = torch.where(sgn == 0, torch.ones_like(sgn), sgn)
    return Q * sgn[..., None, :]


def _horizontal(X: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
    M = X.mT @ U
    if X.dim() == 3 and X.shape == U.shape:  # fused U − X M (one pass less over the d×k data)
        return torch.baddbmm(U, X, M, alpha=-1)
    return U - X @ M


def _exp(X: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
    # U = P Σ Qᵀ ⇒ UᵀU = Q Σ² Qᵀ and Exp_X U = X Q cos Σ Qᵀ + P sin Σ Qᵀ = X cos(√UᵀU) + U sinc(√UᵀU):
    # the thin SVD's geodesic from k×k matrix products (no d×k SVD, no eigh), with exact gradients.
    C, S = _cos_sinc_sqrt(U.mT @ U)
    if X.dim() == 3 and X.shape == U.shape:
        return torch.baddbmm(X @ C, U, S)
    return X @ C + U @ S


def _angles_from(c: torch.Tensor, s: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
    """θ from cosines ``c`` (descending) and sines ``s`` (descending); ``pad`` = padding columns per basis."""
    s_asc = s.flip(-1)
    if pad is None:
        return torch.atan2(s_asc, c)
    k = c.shape[-1]
    j = torch.arange(k, device=c.device)
    # the padding columns add ``pad`` zero cosines (at the end of c) and zero sines (at the start of s_asc)
    idx = (j + pad[..., None]).clamp_max(k - 1).expand(s_asc.shape)
    s_pair = torch.gather(s_asc, -1, idx)
    active = j < (k - pad)[..., None]
    one = torch.ones_like(c)
    theta = torch.atan2(torch.where(active, s_pair, 0 * one), torch.where(active, c, one))
    return theta


def _angles(X: torch.Tensor, Y: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
    M = X.mT @ Y
    c = torch.linalg.svdvals(M)  # cos θ, descending
    s = torch.linalg.svdvals(Y - X @ M)  # sin θ, descending (accurate for small θ)
    return _angles_from(c, s, pad)


def _log(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    # Align Y's basis with X (XᵀY* symmetric PSD), then the SVD of the horizontal part of Y* gives the
    # directions and the sines of the principal angles; cosines come from XᵀY* in the same basis and
    # θ = atan2(sin, cos) is accurate at 0 and at π/2.
    Q, _, Rh = torch.linalg.svd(Y.mT @ X)
    Ys = Y @ (Q @ Rh)
    XtYs = X.mT @ Ys
    B = Ys - X @ XtYs
    Uh, Sh, Vh = torch.linalg.svd(B, full_matrices=False)
    cos = torch.diagonal(Vh @ XtYs @ Vh.mT, dim1=-2, dim2=-1).clamp_min(0)
    theta = torch.atan2(Sh, cos)
    return Uh @ (theta[..., :, None] * Vh)


# ------------------------------------------------------------------ public, validated API
def orthonormalize(X: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    r"""Orthonormal basis of ``span X`` by QR with a positive diagonal of ``R`` (deterministic).

    Args:
        X: full-rank matrices ``(..., d, k)``, ``k ≤ d``, float32/float64.
        check: raise ``ValueError`` for non-finite or (numerically) rank-deficient ``X`` (one host sync).

    Returns:
        ``Q (..., d, k)`` with ``QᵀQ = I``, ``span Q = span X`` and ``X = QR``, ``diag R > 0``; an orthonormal
        ``X`` is returned unchanged up to rounding (the projection is idempotent).

    Example:
        >>> Q = orthonormalize(torch.randn(5, 2, dtype=torch.float64))
        >>> torch.allclose(Q.mT @ Q, torch.eye(2, dtype=torch.float64))
        True
    """
    check_bases(X, "X")
    if not check:
        return _orthonormalize(X)
    check_finite(X, "X")
    Q, R = torch.linalg.qr(X)
    if X.numel():
        diag = torch.diagonal(R, dim1=-2, dim2=-1).abs()
        scale = X.abs().amax(dim=(-2, -1)).clamp_min(torch.finfo(X.dtype).tiny)
        rel = (diag.amin(-1) / scale).amin()
        if not bool(rel > X.shape[-2] * torch.finfo(X.dtype).eps):
            raise ValueError(
                f"X must have full column rank k={X.shape[-1]}: smallest |R_ii|/max|X| = {float(rel):.3g}"
            )
    sgn = torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))
    sgn = torch.where(sgn == 0, torch.ones_like(sgn), sgn)
    return Q * sgn[..., None, :]


def horizontal_projection(X: torch.Tensor, U: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    r"""Tangent (horizontal) projection :math:`(I - XX^\top)U` at the subspace ``span X``.

    It is also the Riemannian gradient of a function of ``span X`` whose Euclidean gradient is ``U``.

    Args:
        X: orthonormal bases ``(..., d, k)``; U: matrices ``(..., d, k)`` (batch shapes broadcast).
        check: verify ``XᵀX = I`` (``√eps`` tolerance; one host sync).

    Returns:
        ``(..., d, k)`` with ``Xᵀ·result = 0``.

    Example:
        >>> X = random_grassmann(6, 2, dtype=torch.float64)
        >>> H = horizontal_projection(X, torch.randn(6, 2, dtype=torch.float64))
        >>> bool((X.mT @ H).abs().max() < 1e-12)
        True
    """
    check_pair(X, U, "X", "U")
    if check:
        check_orthonormal(X, "X")
        check_finite(U, "U")
    return _horizontal(X, U)


def grassmann_exp(X: torch.Tensor, U: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    r"""Exact geodesic :math:`\operatorname{Exp}_X(U)` of the Grassmann manifold.

    With the thin SVD :math:`U = P\Sigma Q^\top`,
    :math:`\operatorname{Exp}_X(U) = XQ\cos\Sigma\,Q^\top + P\sin\Sigma\,Q^\top`. It is evaluated as
    :math:`X\cos(\sqrt{U^\top U}) + U\,\mathrm{sinc}(\sqrt{U^\top U})` with the two k×k matrix functions
    from Taylor series and scaling-and-squaring (matrix products only: same value, no d×k SVD, no ``eigh``;
    both functions are entire in :math:`U^\top U`, so the gradient is finite and exact also at repeated or
    zero singular values, including ``U = 0``). Accuracy: a few eps for ``‖U‖₂ ≲ 2``; the doubling steps
    grow the rounding error by at most ~4× per factor 2 of ``‖U‖₂`` beyond that.
    The geodesic is minimising, ``d(X, Exp_X U) = ‖U‖_F``, while the largest singular value of ``U`` is
    at most π/2.

    Args:
        X: orthonormal bases ``(..., d, k)``.
        U: horizontal tangent vectors ``(..., d, k)`` (``XᵀU = 0``); batch shapes broadcast.
        check: verify ``XᵀX = I`` and ``XᵀU = 0`` (``√eps`` tolerances; host syncs).

    Returns:
        Orthonormal bases ``(..., d, k)`` of the end points (orthonormal to rounding; re-orthonormalise with
        :func:`orthonormalize` after many chained steps).

    Example:
        >>> X = random_grassmann(6, 2, dtype=torch.float64)
        >>> U = horizontal_projection(X, 0.3 * torch.randn(6, 2, dtype=torch.float64))
        >>> torch.allclose(grassmann_distance(X, grassmann_exp(X, U)), U.norm())
        True
    """
    check_pair(X, U, "X", "U")
    if check:
        check_orthonormal(X, "X")
        check_horizontal(X, U, "X", "U")
    return _exp(X, U)


def grassmann_log(X: torch.Tensor, Y: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    r"""Logarithm :math:`\operatorname{Log}_X(Y)`: horizontal ``U``, ``Exp_X(U) = span Y``, ``‖U‖ = d(X, Y)``.

    Algorithm: align Y's basis, :math:`Y^* = Y Q R^\top` with :math:`Y^\top X = Q S R^\top` (then
    :math:`X^\top Y^*` is symmetric PSD), take the thin SVD
    :math:`(I - XX^\top)Y^* = \hat U \sin\Theta\,\hat V^\top` and return :math:`\hat U\,\Theta\,\hat V^\top`
    with :math:`\Theta = \operatorname{atan2}(\sin\Theta, \cos\Theta)` (accurate near 0 and π/2).

    Validity: the logarithm is unique while every principal angle is below π/2 (inside the injectivity
    radius); then ``Log_X(Exp_X U) = U`` for ``‖U‖₂ < π/2``. At an angle of exactly π/2 (``XᵀY`` singular, the
    cut locus) several minimising geodesics exist: the result is one of them (``Exp_X(Log_X Y)`` still spans
    ``Y``, its norm is still ``d(X, Y)``), and it is not continuous there. Principal angles never exceed π/2,
    so there is no "beyond". Gradients through this function are not tie-safe (it uses SVDs).

    Args:
        X, Y: orthonormal bases ``(..., d, k)`` (batch shapes broadcast).
        check: verify orthonormality of both (host syncs).

    Returns:
        Horizontal tangent vectors at ``X``, shape ``(..., d, k)``.

    Example:
        >>> X, Y = random_grassmann(2, 6, 2, dtype=torch.float64)
        >>> torch.allclose(grassmann_log(X, Y).norm(), grassmann_distance(X, Y))
        True
    """
    check_pair(X, Y, "X", "Y")
    if check:
        check_orthonormal(X, "X")
        check_orthonormal(Y, "Y")
    return _log(X, Y)


def principal_angles(X: torch.Tensor, Y: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    r"""Principal angles between ``span X`` and ``span Y``, ascending, in ``[0, π/2]``.

    :math:`\theta_i = \operatorname{atan2}(\sin\theta_i, \cos\theta_i)` with the cosines the singular values
    of :math:`X^\top Y` and the sines those of :math:`(I - XX^\top)Y`: accurate to ~eps *absolute* at
    every angle (``arccos`` of the cosines alone loses all digits below ~√eps, e.g. 3e-4 rad in float32,
    and has an infinite derivative at 0). Gradients are finite everywhere, including at θ = 0 and θ = π/2
    (one-sided derivatives there).

    Args:
        X, Y: orthonormal bases ``(..., d, k)`` of the same ``d`` and ``k`` (batch shapes broadcast).
        check: verify orthonormality (host syncs).

    Returns:
        ``(..., k)`` angles, matching ``scipy.linalg.subspace_angles`` (which sorts them descending).

    Example:
        >>> X = torch.eye(3, dtype=torch.float64)[:, :1]
        >>> Y = torch.tensor([[1.0], [1.0], [0.0]], dtype=torch.float64) / 2 ** 0.5
        >>> principal_angles(X, Y)
        tensor([0.7854], dtype=torch.float64)
    """
    check_pair(X, Y, "X", "Y")
    if check:
        check_orthonormal(X, "X")
        check_orthonormal(Y, "Y")
    return _angles(X, Y)


def grassmann_distance(
    X: torch.Tensor, Y: torch.Tensor, *, squared: bool = False, check: bool = True
) -> torch.Tensor:
    r"""Geodesic distance :math:`d(X, Y) = \lVert\theta\rVert_2` (θ: :func:`principal_angles`).

    Args:
        X, Y: orthonormal bases ``(..., d, k)``.
        squared: return :math:`d^2 = \sum_i \theta_i^2` (smooth at 0).
        check: verify orthonormality (host syncs).

    Returns:
        ``(...)`` distances in ``[0, √k·π/2]``. The gradient of ``d`` at ``X = Y`` is 0 (a subgradient;
        ``d`` is not differentiable there), that of ``d²`` is exact.

    Example:
        >>> X = random_grassmann(4, 6, 2, dtype=torch.float64)
        >>> grassmann_distance(X, X).abs().max() < 1e-12
        tensor(True)
    """
    theta = principal_angles(X, Y, check=check)
    return (theta * theta).sum(-1) if squared else torch.linalg.vector_norm(theta, dim=-1)


def random_grassmann(
    *size, dtype=None, device=None, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Haar-distributed (rotation-invariant) random subspaces: orthonormal bases ``size = (..., d, k)``.

    QR of a standard Gaussian matrix with ``diag R > 0``: the law of the basis is invariant under
    ``X ↦ OX`` for every orthogonal ``O``, so ``span X`` is uniform on :math:`\mathrm{Gr}(d, k)`.

    Example:
        >>> random_grassmann(10, 5, 2, dtype=torch.float64).shape
        torch.Size([10, 5, 2])
    """
    if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
        size = tuple(size[0])
    if any(not isinstance(s, int) or isinstance(s, bool) for s in size):
        raise TypeError(f"size must be integers (..., d, k), got {size}")
    if len(size) < 2 or size[-1] < 1 or size[-1] > size[-2] or any(s < 0 for s in size):
        raise ValueError(f"size must be (..., d, k) with 1 <= k <= d, got {tuple(size)}")
    if dtype is not None and not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    A = torch.randn(*size, dtype=dtype, device=device, generator=generator)
    return _orthonormalize(A)
