r"""Eigen-functions of symmetric matrices with a tie-safe (Daleckii–Krein) backward.

For symmetric ``A = U diag(λ) Uᵀ`` and a scalar function ``f``, ``f(A) = U diag(f(λ)) Uᵀ``. Its
derivative (Daleckii–Krein) is, for an upstream gradient ``G``,

.. math::

    \frac{\partial L}{\partial A} = U \bigl(K \circ U^\top \operatorname{sym}(G)\, U\bigr) U^\top,
    \qquad K_{ij} = \frac{f(\lambda_i) - f(\lambda_j)}{\lambda_i - \lambda_j},\ K_{ii} = f'(\lambda_i).

``torch.linalg.eigh``'s own autograd divides by ``λ_i − λ_j`` and returns NaN/inf at repeated
eigenvalues (``A = 2I``, ``A = diag(1, 1, 2, 3)``). Here ``K`` never divides by a vanishing gap: the
built-in functions use closed forms of the divided difference (``1/(√λ_i + √λ_j)`` for ``√``,
``log1p``/``expm1`` forms near ties and quotient forms for well separated pairs for ``log``, ``exp``
and powers) whose relative error is a few ``eps`` for *every* pair — exact ties, 1-ulp gaps and
ratios up to the dtype's range (tested against mpmath in ``tests/linalg/test_divided_differences.py``).
The generic :func:`spectral_map` takes, entry by entry, the plain divided difference or a 3-point
Gauss–Legendre mean of ``f'`` over ``[λ_j, λ_i]``, whichever has the smaller error bound.

Gradients are with respect to a *symmetric* argument: the returned gradient is symmetric, which is
the gradient of ``A ↦ f(sym(A))`` for an unconstrained ``A``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.autograd.function import once_differentiable

from ._checks import check_positive_eigenvalues, check_real_scalar, check_square_float, check_symmetric

__all__ = [
    "sym",
    "spectral_map",
    "sqrtm_eig",
    "invsqrtm_eig",
    "sqrtm_invsqrtm_eig",
    "logm",
    "expm",
    "powm",
]

_HALF = (torch.float16, torch.bfloat16)


def sym(A: torch.Tensor) -> torch.Tensor:
    """Symmetric part ``(A + Aᵀ)/2`` of a batch of square matrices ``(..., n, n)``.

    Computed as ``A/2 + Aᵀ/2`` (no overflow for entries near the dtype's maximum).

    Example:
        >>> sym(torch.tensor([[1.0, 2.0], [0.0, 1.0]]))
        tensor([[1., 1.],
                [1., 1.]])
    """
    H = 0.5 * A
    return H + H.mT


# ---------------------------------------------------------------------------------------------
# scalar functions: value f(λ) and divided-difference matrix K(λ) (..., n, n)
# ---------------------------------------------------------------------------------------------


def _pairs(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :, None], x[..., None, :]


def _ordered(L: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(max(λ_i, λ_j), min(λ_i, λ_j))`` as ``(..., n, n)`` (every divided difference is symmetric)."""
    a, b = _pairs(L)
    return torch.maximum(a, b), torch.minimum(a, b)


def _expm1c(z: torch.Tensor) -> torch.Tensor:
    """``expm1(z)/z`` (1 at 0), accurate for every ``z`` (no cancellation)."""
    zero = z == 0
    safe = torch.where(zero, torch.ones_like(z), z)
    return torch.where(zero, torch.ones_like(z), torch.expm1(safe) / safe)


def _log1pc(x: torch.Tensor) -> torch.Tensor:
    """``log1p(x)/x`` (1 at 0), accurate for every ``x > −1``."""
    zero = x == 0
    safe = torch.where(zero, torch.ones_like(x), x)
    return torch.where(zero, torch.ones_like(x), torch.log1p(safe) / safe)


# Divided differences K(a, b) = (f(a) − f(b))/(a − b), evaluated with hi = max(a, b), lo = min(a, b),
# d = hi − lo. Near ties (lo ≥ hi/2) d is exact (Sterbenz) and K is a product of well-conditioned
# factors (log1p/expm1 forms); well separated pairs use quotients hi/lo, which carry no cancellation.
# Each form has a relative error of a few eps for every ratio hi/lo (tested against mpmath).


def _sqrt_value(L):
    return L.clamp_min(0).sqrt()


def _sqrt_dd(L, F):
    si, sj = _pairs(F)
    return 1.0 / (si + sj)


def _invsqrt_value(L):
    return L.rsqrt()


def _invsqrt_dd(L, F):
    ri, rj = _pairs(F)
    return -(ri * rj) / (1.0 / ri + 1.0 / rj)


def _log_value(L):
    return L.log()


def _log_dd(L, F):
    hi, lo = _ordered(L)
    d = hi - lo
    near = 2.0 * lo >= hi
    # near: log(hi/lo)/d = log1p(d/lo)/d = log1pc(d/lo)/lo
    k_near = _log1pc(torch.where(near, d / lo, torch.zeros_like(d))) / lo
    # far: log(hi/lo)/d; hi/lo may overflow (float32 1e30 vs 1e-30): then log hi − log lo (no cancellation)
    r = hi / lo
    log_r = torch.where(torch.isfinite(r), r.log(), hi.log() - lo.log())
    k_far = log_r / torch.where(near, torch.ones_like(d), d)
    return torch.where(near, k_near, k_far)


def _exp_value(L):
    return L.exp()


def _exp_dd(L, F):
    # (e^hi − e^lo)/d = e^hi · expm1(−d)/(−d); for d > 1 use e^hi/d · (1 − e^{−d}) (e^hi may overflow alone)
    hi, lo = _ordered(L)
    d = hi - lo
    e_hi = hi.exp()
    k_near = e_hi * _expm1c(-d)
    big = d > 1.0
    d_safe = torch.where(big, d, torch.ones_like(d))
    quot = torch.where(torch.isfinite(e_hi), e_hi / d_safe, torch.exp(hi - d_safe.log()))
    k_far = quot * (-torch.expm1(-d_safe))
    return torch.where(big, k_far, k_near)


def _pow_value(L, p):
    return L.clamp_min(0).pow(p)


def _pow_dd(L, F, p):
    r"""``(hi^p − lo^p)/(hi − lo) = p·hi^{p−1}·expm1c(pℓ)·(−ℓ/y)``, ``y = d/hi``, ``ℓ = log(lo/hi)``.

    ``ℓ = log1p(−y)`` near ties, ``log(lo/hi)`` (or ``log lo − log hi`` if the quotient underflows)
    otherwise. For ``pℓ > 1`` (negative ``p``, well separated) ``hi^{p−1}·expm1(pℓ)`` is evaluated as
    ``lo^p/hi − hi^{p−1}`` (no cancellation there). ``lo = 0`` (singular PSD, ``p > 0``): ``hi^{p−1}``.
    """
    if p == 0.0:
        return torch.zeros_like(L[..., :, None] * L[..., None, :])
    hi, lo = _ordered(L.clamp_min(0))
    d = hi - lo
    y = d / hi
    near = 2.0 * lo >= hi
    q = lo / hi
    ell_far = torch.where(q > torch.finfo(L.dtype).tiny, q.log(), lo.log() - hi.log())
    ell = torch.where(near, torch.log1p(-torch.where(near, y, torch.zeros_like(y))), ell_far)
    g_near = _log1pc(-torch.where(near, y, torch.zeros_like(y)))  # −log(1−y)/y
    g = torch.where(near, g_near, -ell / torch.where(near, torch.ones_like(y), y))
    z = p * ell
    h = hi.pow(p - 1.0)
    big = z > 1.0
    z_safe = torch.where(big, z, torch.ones_like(z))
    lo_p = lo.pow(p)
    lo_p_over_hi = torch.where(torch.isfinite(lo_p), lo_p / hi, torch.exp(p * lo.log() - hi.log()))
    e_big = (lo_p_over_hi - h) / z_safe
    e = torch.where(big, e_big, h * _expm1c(torch.where(big, torch.zeros_like(z), z)))
    K = p * g * e
    return torch.where(lo == 0, h, K)


# Generic f: the divided difference (f(a) − f(b))/(a − b) loses about eps·(|f(a)| + |f(b)|)/|a − b|
# (plus the rounding of a − b); its exact value is the mean of f' over [b, a], which 3-point
# Gauss–Legendre quadrature evaluates accurately on short intervals. Each entry takes the estimate
# with the smaller error bound (quadrature error estimated by |GL3 − GL2|, an overestimate).
_GL3 = ((0.5 - 0.5 * math.sqrt(0.6), 5.0 / 18.0), (0.5, 8.0 / 18.0), (0.5 + 0.5 * math.sqrt(0.6), 5.0 / 18.0))
_GL2 = ((0.5 - 0.5 / math.sqrt(3.0), 0.5), (0.5 + 0.5 / math.sqrt(3.0), 0.5))


def _generic_dd(L, F, df):
    a, b = _pairs(L)
    fa, fb = _pairs(F)
    diff = a - b
    eps = float(torch.finfo(L.dtype).eps)

    def quad(rule):
        return sum(w * df(b + t * diff).to(L.dtype) for t, w in rule)

    gl3 = quad(_GL3)
    gl2 = quad(_GL2)
    err_quad = (gl3 - gl2).abs()
    gap = diff.abs()
    safe = torch.where(gap > 0, diff, torch.ones_like(diff))
    dd = (fa - fb) / safe
    spread = fa.abs() + fb.abs() + dd.abs() * (a.abs() + b.abs())
    err_dd = eps * spread / gap.clamp_min(torch.finfo(L.dtype).tiny)
    # quadrature at ties, where the divided difference is not finite, or where its bound is smaller
    # (a NaN quadrature, e.g. f' undefined between the eigenvalues, never wins over a finite dd)
    use_quad = (gap == 0) | ~torch.isfinite(dd) | (err_quad <= err_dd)
    return torch.where(use_quad, gl3, dd)


# A "spec" is (value, divided_difference): value(L) -> F, dd(L, F) -> K. Specs are plain functions
# (or functools-free closures) so that torch.compile treats them as constants.


class _EighMap(torch.autograd.Function):
    """``(f_1(A), …, f_k(A), U, λ)`` from one ``eigh``; backward sums the Daleckii–Krein terms."""

    generate_vmap_rule = True

    @staticmethod
    def forward(A, specs):
        L, U = torch.linalg.eigh(A)
        outs = []
        for value, _ in specs:
            F = value(L)
            outs.append((U * F[..., None, :]) @ U.mT)
        return (*outs, U, L)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, specs = inputs
        U, L = output[-2], output[-1]
        ctx.specs = specs
        ctx.mark_non_differentiable(U, L)
        ctx.save_for_backward(U, L)

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        U, L = ctx.saved_tensors
        M = None
        for (value, dd), G in zip(ctx.specs, grads[: len(ctx.specs)]):
            if G is None:
                continue
            K = dd(L, value(L))
            term = K * (U.mT @ (0.5 * (G + G.mT)) @ U)
            M = term if M is None else M + term
        if M is None:
            return None, None
        return U @ M @ U.mT, None


def _prepare(A: torch.Tensor, name: str, check: bool = True) -> tuple[torch.Tensor, torch.dtype]:
    check_square_float(A, name)
    dtype = A.dtype
    if dtype in _HALF:
        A = A.float()
    if not check:  # eigh reads the lower triangle only
        return A, dtype
    check_symmetric(A, name)
    return sym(A), dtype


def _needs_autograd(A: torch.Tensor) -> bool:
    return (
        (torch.is_grad_enabled() and A.requires_grad)
        or torch._C._are_functorch_transforms_active()
        or torch.compiler.is_compiling()
    )


def _eigh_map(
    A: torch.Tensor, specs: tuple, name: str, *, pd: bool | None, check: bool = True
) -> tuple[torch.Tensor, ...]:
    """Apply ``specs`` through one eigendecomposition; ``pd`` True/False/None = PD/PSD/any.

    ``check=False`` skips the data-dependent symmetry and eigenvalue checks (each costs a host sync).
    """
    A, dtype = _prepare(A, name, check)
    if _needs_autograd(A):
        *outs, U, L = _EighMap.apply(A, specs)
    else:  # no graph to record: skip the autograd.Function (its apply costs ~40 µs per call)
        *outs, U, L = _EighMap.forward(A, specs)
    if check and pd is not None:
        check_positive_eigenvalues(L, name, allow_singular=not pd)
    return tuple(o.to(dtype) for o in outs)


def spectral_map(
    A: torch.Tensor,
    f: Callable[[torch.Tensor], torch.Tensor],
    df: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    r"""``f(A) = U f(Λ) Uᵀ`` for symmetric ``A`` with the Daleckii–Krein backward.

    Args:
        A: symmetric matrices ``(..., n, n)``, float32/float64 (float16/bfloat16 are computed in
            float32 and cast back). Only the symmetric part is used (``eigh`` of ``sym(A)``).
        f: elementwise scalar function applied to the eigenvalues (a torch function of a tensor).
        df: its derivative, elementwise. ``K_ij`` is, entry by entry, either the divided difference
            ``(f(λ_i) − f(λ_j))/(λ_i − λ_j)`` or the 3-point Gauss–Legendre mean of ``f'`` over
            ``[λ_j, λ_i]`` (exactly ``f'(λ_i)`` at ties), whichever has the smaller error bound
            (divided difference: ``eps·(|f(λ_i)| + |f(λ_j)| + |K|(|λ_i| + |λ_j|))/|λ_i − λ_j|``;
            quadrature: ``|GL3 − GL2|``).

    Returns:
        ``f(A)`` of shape ``(..., n, n)``, dtype of ``A``. Its gradient is symmetric and finite at
        repeated eigenvalues (unlike ``torch.linalg.eigh``'s autograd). Accuracy of ``K`` (measured
        against mpmath for sin, exp, log over ratios 1–1e12, 1-ulp gaps and ties): ≤ 7 eps relative
        to ``max(|K|, |f'(λ_i)|, |f'(λ_j)|)``; the built-in :func:`logm`, :func:`expm`,
        :func:`powm`, :func:`sqrtm_eig` use closed forms (≤ 2 eps relative).

    Raises:
        TypeError: ``A`` is not a tensor with a real floating dtype, or ``f``/``df`` not callable.
        ValueError: ``A`` is not a batch of square matrices, has non-finite entries or is clearly
            non-symmetric. Under ``torch.compile`` the data checks are async asserts on CPU
            (``RuntimeError``) and skipped on other devices.

    Example:
        >>> A = torch.diag(torch.tensor([1.0, 1.0, 2.0, 3.0], dtype=torch.float64)).requires_grad_()
        >>> spectral_map(A, torch.sin, torch.cos).trace().backward()
        >>> torch.allclose(A.grad, torch.diag(torch.cos(torch.diagonal(A.detach()))))
        True
    """
    if not callable(f) or not callable(df):
        raise TypeError("f and df must be callables mapping a tensor of eigenvalues elementwise")

    def dd(L, F):
        return _generic_dd(L, F, df)

    return _eigh_map(A, ((f, dd),), "A", pd=None)[0]


def sqrtm_eig(A: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    """Principal square root ``A^½`` of symmetric PSD ``A (..., n, n)`` through ``eigh``.

    Eigenvalues in ``[−n·eps·max|λ|, 0)`` (rounding of a singular PSD matrix) are clamped to 0; more
    negative ones raise ``ValueError``. ``check=False`` skips the symmetry and eigenvalue checks (no
    host synchronisation; for inputs that are symmetric PSD by construction, e.g. ``Pᵀ X P``): only the
    lower triangle is read and negative eigenvalues are silently clamped to 0. Backward
    ``K_ij = 1/(√λ_i + √λ_j)`` is exact at ties; it is infinite where two eigenvalues are 0 (the
    square root is not differentiable at singular ``A``).
    Accuracy: see :func:`geomrep.linalg.sqrtm`.

    Example:
        >>> sqrtm_eig(torch.eye(2, dtype=torch.float64) * 4)
        tensor([[2., 0.],
                [0., 2.]], dtype=torch.float64)
    """
    return _eigh_map(A, ((_sqrt_value, _sqrt_dd),), "A", pd=False, check=check)[0]


def invsqrtm_eig(A: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    """Inverse square root ``A^{-½}`` of symmetric positive definite ``A (..., n, n)`` through ``eigh``.

    Raises ``ValueError`` if an eigenvalue is ≤ 0; with ``check=False`` (no symmetry or eigenvalue
    checks, no host synchronisation) such input gives NaN/inf instead.
    Near-singular input gives a large but finite result
    with relative error about ``eps·κ(A)``. Backward ``K_ij = −λ_i^{-½}λ_j^{-½}/(√λ_i + √λ_j)``.

    Example:
        >>> invsqrtm_eig(torch.eye(2, dtype=torch.float64) * 4)
        tensor([[0.5000, 0.0000],
                [0.0000, 0.5000]], dtype=torch.float64)
    """
    return _eigh_map(A, ((_invsqrt_value, _invsqrt_dd),), "A", pd=True, check=check)[0]


def sqrtm_invsqrtm_eig(A: torch.Tensor, *, check: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A^½, A^{-½})`` from one ``eigh`` of symmetric positive definite ``A (..., n, n)``.

    ``check=False`` skips the symmetry and positivity checks (no host synchronisation); input that is
    not positive definite then gives NaN/inf instead of ``ValueError``.

    Example:
        >>> S, R = sqrtm_invsqrtm_eig(torch.eye(2, dtype=torch.float64) * 4)
        >>> torch.allclose(S @ R, torch.eye(2, dtype=torch.float64))
        True
    """
    return _eigh_map(A, ((_sqrt_value, _sqrt_dd), (_invsqrt_value, _invsqrt_dd)), "A", pd=True, check=check)


def logm(A: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    """Principal logarithm ``log A = U log(Λ) Uᵀ`` of symmetric positive definite ``A (..., n, n)``.

    Raises ``ValueError`` if an eigenvalue is ≤ 0 (with ``check=False``, which skips the symmetry and
    eigenvalue checks, such input gives NaN/inf instead; so does compiled code on CUDA, while compiled
    code on CPU raises ``RuntimeError``). Backward ``K_ij = (log λ_i − log λ_j)/(λ_i − λ_j)``
    evaluated as ``log1p(d/λ_j)/d`` near ties and ``log(λ_i/λ_j)/d`` otherwise (``d = λ_i − λ_j``,
    ``λ_i ≥ λ_j``): ≤ 2 eps relative error for every ratio (float32 ``diag(1, 1e-8)`` included) and
    ``1/λ_i`` at ties.

    Example:
        >>> logm(torch.eye(2, dtype=torch.float64) * math.e)
        tensor([[1., 0.],
                [0., 1.]], dtype=torch.float64)
    """
    return _eigh_map(A, ((_log_value, _log_dd),), "A", pd=True, check=check)[0]


def expm(A: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    """Matrix exponential ``exp A = U exp(Λ) Uᵀ`` of symmetric ``A (..., n, n)`` (the result is SPD).

    Backward ``K_ij = e^{λ_i}·expm1(−d)/(−d)``, ``d = λ_i − λ_j ≥ 0`` (≤ 2 eps relative error, ``e^{λ_i}``
    at ties). ``check=False`` skips the symmetry check (only the lower triangle is read).

    Example:
        >>> expm(torch.zeros(2, 2, dtype=torch.float64))
        tensor([[1., 0.],
                [0., 1.]], dtype=torch.float64)
    """
    return _eigh_map(A, ((_exp_value, _exp_dd),), "A", pd=None, check=check)[0]


def powm(A: torch.Tensor, p: float, *, check: bool = True) -> torch.Tensor:
    """Matrix power ``A^p = U Λ^p Uᵀ`` of symmetric positive definite ``A (..., n, n)``, real ``p``.

    For ``p > 0`` singular PSD input is accepted (eigenvalues clamped at 0, as for :func:`sqrtm_eig`;
    the gradient is then undefined); for ``p ≤ 0`` every eigenvalue must be > 0 (``check=False`` skips
    these checks and the symmetry check: negative eigenvalues are clamped for ``p > 0``, give NaN/inf
    for ``p ≤ 0``). ``p`` must be a finite real Python number (``TypeError`` for tensors/bools,
    ``ValueError`` for nan/inf). Backward ``K_ij = (λ_i^p − λ_j^p)/(λ_i − λ_j)`` evaluated as
    ``p·λ_i^{p−1}·expm1(pℓ)/(pℓ)·(−ℓ/y)`` with ``y = 1 − λ_j/λ_i``, ``ℓ = log(λ_j/λ_i)`` (``log1p(−y)``
    near ties): ≤ 2 eps relative error for every ratio, ``p λ_i^{p−1}`` at ties; ``λ_i^{p−1}`` when
    ``λ_j`` is (clamped to) 0.

    Example:
        >>> powm(torch.eye(2, dtype=torch.float64) * 8, 1 / 3)
        tensor([[2., 0.],
                [0., 2.]], dtype=torch.float64)
    """
    p = check_real_scalar(p, "p")
    spec = (_PowValue(p), _PowDD(p))
    return _eigh_map(A, (spec,), "A", pd=not p > 0, check=check)[0]


class _PowValue:
    """``λ ↦ λ^p`` (a small callable object so that specs stay hashable constants)."""

    def __init__(self, p: float) -> None:
        self.p = p

    def __call__(self, L):
        return _pow_value(L, self.p)


class _PowDD:
    def __init__(self, p: float) -> None:
        self.p = p

    def __call__(self, L, F):
        return _pow_dd(L, F, self.p)
