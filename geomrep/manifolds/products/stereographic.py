r"""κ-stereographic model of the constant-curvature spaces, smooth through κ = 0 (functional core).

For curvature :math:`\kappa` the model is :math:`\{x \in \mathbb{R}^d : 1 + \kappa\|x\|^2 > 0\}` with the
conformal metric :math:`g_x = \lambda_x^2 I`, :math:`\lambda_x = 2 / (1 + \kappa\|x\|^2)`
(Bachmann, Bécigneul, Ganea 2020): the Poincaré ball of radius :math:`1/\sqrt{-\kappa}` for κ < 0, the
stereographic projection of the sphere of radius :math:`1/\sqrt{\kappa}` for κ > 0 and :math:`\mathbb{R}^d`
with the metric :math:`4 I` for κ = 0 (so Euclidean distances are :math:`2\|x - y\|`). With
:math:`\tan_\kappa(r) = \tan(\sqrt\kappa r)/\sqrt\kappa` (``tanh`` for κ < 0, ``r`` at κ = 0):

- Möbius addition :math:`x \oplus y = \frac{(1 - 2\kappa\langle x,y\rangle - \kappa\|y\|^2) x
  + (1 + \kappa\|x\|^2) y}{1 - 2\kappa\langle x,y\rangle + \kappa^2\|x\|^2\|y\|^2}`;
- distance :math:`d(x, y) = 2\,\mathrm{artan}_\kappa \|(-x) \oplus y\|`;
- :math:`\exp_x(u) = x \oplus \tan_\kappa(\lambda_x\|u\|/2)\, u/\|u\|`, :math:`\log_x(y) = d(x,y)\,
  w / (\lambda_x \|w\|)` with :math:`w = (-x) \oplus y`;
- parallel transport :math:`P_{x\to y}(v) = (\lambda_x/\lambda_y)\,\mathrm{gyr}[y, -x]\,v`.

Precision. The distance is evaluated without forming :math:`(-x)\oplus y`:
:math:`\|(-x)\oplus y\|^2 = \|x-y\|^2 / ((1+\kappa\|x\|^2)(1+\kappa\|y\|^2) - \kappa\|x-y\|^2)`, and for
κ < 0 as :math:`\sqrt{-\kappa}\,d = \operatorname{arcosh}(1 + \delta) = \operatorname{log1p}(\delta +
\sqrt{\delta(\delta+2)})`, :math:`\delta = -2\kappa\|x-y\|^2 / ((1+\kappa\|x\|^2)(1+\kappa\|y\|^2))`, which
keeps full relative accuracy for close points and for points near the boundary; nothing is clamped at
``1 − 1e-7`` (geoopt does, which caps float64 distances from the origin at ≈ 8.3/√−κ … 16/√−κ).
:func:`project` keeps hyperbolic points at :math:`\|x\| \le (1 - 4\epsilon)/\sqrt{-\kappa}` with
ε the dtype's machine epsilon, so the representable distance from the origin is ≈ 36/√−κ in float64 and
≈ 15/√−κ in float32 (the float32/float64 envelope); relative accuracy of a distance is then about
ε / (1 + κ‖x‖²) (the representation error of a point near the boundary).

Near κ = 0 (``|κ| r² < τ`` with τ = 1e-4 in float64, 1e-2 in float32) the functions switch to their Taylor
series to fourth order, so values *and* gradients (also with respect to κ) are continuous through κ = 0.

All functions take points/vectors ``(..., d)`` and a curvature ``k`` (a 0-d tensor or float) and
broadcast over leading dimensions. They work in float32 and float64 on any device.
"""

from __future__ import annotations

import torch

__all__ = [
    "tan_k",
    "artan_k",
    "sin_k",
    "lambda_x",
    "mobius_add",
    "gyration",
    "dist",
    "dist0",
    "expmap",
    "expmap0",
    "logmap",
    "logmap0",
    "transp",
    "mobius_matvec",
    "project",
    "max_norm",
]


def _tau(dtype: torch.dtype) -> float:
    return 1e-4 if dtype == torch.float64 else 1e-2


def _as_k(k, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(k, dtype=like.dtype, device=like.device)


def _branches(x: torch.Tensor, k: torch.Tensor):
    """Masks (series, positive, negative) and safe magnitudes √κ, √−κ for the three branches."""
    small = (k * x * x).abs() < _tau(x.dtype)
    pos = (k > 0) & ~small
    neg = (k < 0) & ~small
    one = torch.ones((), dtype=x.dtype, device=x.device)
    sk_pos = torch.where(pos, k, one).sqrt()
    sk_neg = torch.where(neg, -k, one).sqrt()
    return small, pos, neg, sk_pos, sk_neg


def tan_k(x: torch.Tensor, k) -> torch.Tensor:
    r""":math:`\tan_\kappa(x) = \tan(\sqrt\kappa x)/\sqrt\kappa` (κ > 0), ``tanh`` (κ < 0), ``x`` (κ = 0)."""
    k = _as_k(k, x)
    small, pos, neg, sp, sn = _branches(x, k)
    kx2 = k * x * x
    series = x * (1 + kx2 / 3 + 2 * kx2**2 / 15 + 17 * kx2**3 / 315)
    return torch.where(small, series, torch.where(pos, torch.tan(sp * x) / sp, torch.tanh(sn * x) / sn))


def sin_k(x: torch.Tensor, k) -> torch.Tensor:
    r""":math:`\sin_\kappa(x) = \sin(\sqrt\kappa x)/\sqrt\kappa` (κ > 0), ``sinh`` (κ < 0), ``x`` (κ = 0)."""
    k = _as_k(k, x)
    small, pos, neg, sp, sn = _branches(x, k)
    kx2 = k * x * x
    series = x * (1 - kx2 / 6 + kx2**2 / 120 - kx2**3 / 5040)
    return torch.where(small, series, torch.where(pos, torch.sin(sp * x) / sp, torch.sinh(sn * x) / sn))


def artan_k(y: torch.Tensor, k) -> torch.Tensor:
    r"""Inverse of :func:`tan_k`: ``arctan(√κ y)/√κ``, ``artanh(√−κ y)/√−κ`` (argument < 1), ``y``."""
    k = _as_k(k, y)
    small, pos, neg, sp, sn = _branches(y, k)
    ky2 = k * y * y
    series = y * (1 - ky2 / 3 + ky2**2 / 5 - ky2**3 / 7)
    z = (sn * y).clamp(max=1 - torch.finfo(y.dtype).eps)
    return torch.where(small, series, torch.where(pos, torch.atan(sp * y) / sp, torch.atanh(z) / sn))


def lambda_x(x: torch.Tensor, k, *, keepdim: bool = False) -> torch.Tensor:
    r"""Conformal factor :math:`\lambda_x = 2 / (1 + \kappa\|x\|^2)`, ``(...)`` or ``(..., 1)`` (keepdim)."""
    k = _as_k(k, x)
    return 2 / (1 + k * x.pow(2).sum(-1, keepdim=keepdim))


def max_norm(k, dtype: torch.dtype) -> torch.Tensor:
    r"""Largest norm :func:`project` allows: :math:`(1 - 4\epsilon)/\sqrt{-\kappa}` for κ < 0, ∞ else."""
    k = torch.as_tensor(k, dtype=dtype)
    eps = torch.finfo(dtype).eps
    return torch.where(k < 0, (1 - 4 * eps) / (-k).clamp_min(torch.finfo(dtype).tiny).sqrt(), torch.inf)


def project(x: torch.Tensor, k) -> torch.Tensor:
    """Pull hyperbolic points strictly inside the ball (norm ≤ :func:`max_norm`); identity for κ ≥ 0."""
    k = _as_k(k, x)
    bound = max_norm(k.detach(), x.dtype).to(x.device)
    norm = x.norm(dim=-1, keepdim=True)
    out = norm > bound
    safe_norm = torch.where(out, norm, torch.ones_like(norm))
    safe_bound = torch.where(out, bound, torch.ones_like(bound))
    return torch.where(out, x * (safe_bound / safe_norm), x)


def _mobius_den(x: torch.Tensor, y: torch.Tensor, x2: torch.Tensor, y2: torch.Tensor, k) -> torch.Tensor:
    """1 − 2κ⟨x,y⟩ + κ²‖x‖²‖y‖², evaluated without cancellation near the hyperbolic boundary.

    It equals (1 + κ‖x‖‖y‖)² − 2κ s with s = ‖x‖‖y‖ + ⟨x,y⟩ = ‖ ‖y‖x + ‖x‖y ‖² / (2‖x‖‖y‖) ≥ 0: for κ < 0
    both terms are non-negative (the naive sum of 1 and −2κ⟨x,y⟩ cancels to rounding noise when
    x ≈ −y/(κ‖y‖²), e.g. near-boundary points on opposite sides). Keepdim ``(..., 1)``.
    """
    tiny = torch.finfo(x.dtype).tiny
    nx, ny = x2.clamp_min(tiny).sqrt(), y2.clamp_min(tiny).sqrt()  # finite gradients at x = 0 or y = 0
    nxy = nx * ny
    s = (ny * x + nx * y).pow(2).sum(-1, keepdim=True) / (2 * nxy).clamp_min(tiny)
    return ((1 + k * nxy) ** 2 - 2 * k * s).clamp_min(torch.finfo(x.dtype).tiny)


def mobius_add(x: torch.Tensor, y: torch.Tensor, k) -> torch.Tensor:
    r"""Möbius (gyro-)addition :math:`x \oplus_\kappa y` (formula in the module docstring), ``(..., d)``."""
    k = _as_k(k, x)
    xy = (x * y).sum(-1, keepdim=True)
    x2 = x.pow(2).sum(-1, keepdim=True)
    y2 = y.pow(2).sum(-1, keepdim=True)
    num = (1 - 2 * k * xy - k * y2) * x + (1 + k * x2) * y
    return num / _mobius_den(x, y, x2, y2, k)


def gyration(u: torch.Tensor, v: torch.Tensor, w: torch.Tensor, k) -> torch.Tensor:
    r"""Gyration :math:`\mathrm{gyr}[u, v]w = \ominus(u \oplus v) \oplus (u \oplus (v \oplus w))`.

    Linear in ``w`` (a rotation), so it applies to tangent vectors:
    :math:`w + 2(a u + b v)/D` with :math:`a = -\kappa^2\langle u,w\rangle\|v\|^2 - \kappa\langle v,w\rangle
    + 2\kappa^2\langle u,v\rangle\langle v,w\rangle`, :math:`b = -\kappa^2\langle v,w\rangle\|u\|^2
    + \kappa\langle u,w\rangle`, :math:`D = 1 - 2\kappa\langle u,v\rangle + \kappa^2\|u\|^2\|v\|^2`.
    """
    k = _as_k(k, w)
    uw = (u * w).sum(-1, keepdim=True)
    vw = (v * w).sum(-1, keepdim=True)
    uv = (u * v).sum(-1, keepdim=True)
    u2 = u.pow(2).sum(-1, keepdim=True)
    v2 = v.pow(2).sum(-1, keepdim=True)
    a = -k * k * uw * v2 - k * vw + 2 * k * k * uv * vw
    b = -k * k * vw * u2 + k * uw
    return w + 2 * (a * u + b * v) / _mobius_den(u, v, u2, v2, k)


def _dist_from_parts(
    diff2: torch.Tensor, x2: torch.Tensor, y2: torch.Tensor, k: torch.Tensor
) -> torch.Tensor:
    """Distance from ‖x−y‖², ‖x‖², ‖y‖² (all ``(...)``); 0 (with zero gradient) where ‖x−y‖ = 0."""
    dtype = diff2.dtype
    zero = diff2 == 0  # (NaN inputs stay NaN)
    diff2 = torch.where(zero, torch.ones_like(diff2), diff2)
    ax = 1 + k * x2
    ay = 1 + k * y2
    den = (ax * ay - k * diff2).clamp_min(torch.finfo(dtype).tiny)
    t2 = diff2 / den  # tan_κ(d/2)²
    small = (k * t2).abs() < _tau(dtype)
    pos = (k > 0) & ~small
    neg = (k < 0) & ~small
    one = torch.ones((), dtype=dtype, device=diff2.device)
    kt2 = torch.where(small, k * t2, torch.zeros_like(t2))
    t = torch.where(small, t2, one).sqrt()
    series = 2 * t * (1 - kt2 / 3 + kt2**2 / 5 - kt2**3 / 7)
    kp = torch.where(pos, k, one)
    sphere = 2 * torch.atan2((kp * diff2).sqrt(), den.sqrt()) / kp.sqrt()
    c = torch.where(neg, -k, one)
    axy = torch.where(neg, ax * ay, one).clamp_min(torch.finfo(dtype).tiny)
    delta = 2 * c * diff2 / axy
    hyper = torch.log1p(delta + (delta * (delta + 2)).sqrt()) / c.sqrt()
    d = torch.where(small, series, torch.where(pos, sphere, hyper))
    return torch.where(zero, torch.zeros_like(d), d)


def dist(x: torch.Tensor, y: torch.Tensor, k, *, keepdim: bool = False) -> torch.Tensor:
    r"""Geodesic distance :math:`2\,\mathrm{artan}_\kappa\|(-x)\oplus y\|`, ``(...)`` (or ``(..., 1)``).

    Evaluated by the cancellation-free forms of the module docstring; the gradient at ``x = y`` is 0.
    """
    k = _as_k(k, x)
    diff2 = (x - y).pow(2).sum(-1, keepdim=keepdim)
    x2 = x.pow(2).sum(-1, keepdim=keepdim)
    y2 = y.pow(2).sum(-1, keepdim=keepdim)
    return _dist_from_parts(diff2, x2, y2, k)


def dist0(x: torch.Tensor, k, *, keepdim: bool = False) -> torch.Tensor:
    r"""Distance from the origin :math:`2\,\mathrm{artan}_\kappa\|x\|`, ``(...)``."""
    k = _as_k(k, x)
    x2 = x.pow(2).sum(-1, keepdim=keepdim)
    return _dist_from_parts(x2, x2, torch.zeros_like(x2), k)


def _safe_unit(v: torch.Tensor):
    """(v/‖v‖, ‖v‖) with ‖v‖ floored at √tiny so the gradient at v = 0 stays finite."""
    n = v.pow(2).sum(-1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny).sqrt()
    return v / n, n


def expmap0(u: torch.Tensor, k) -> torch.Tensor:
    r""":math:`\exp_0(u) = \tan_\kappa(\|u\|)\,u/\|u\|` (projected into the ball for κ < 0), ``(..., d)``."""
    k = _as_k(k, u)
    unit, n = _safe_unit(u)
    return project(tan_k(n, k) * unit, k)


def logmap0(y: torch.Tensor, k) -> torch.Tensor:
    r""":math:`\log_0(y) = \tfrac12 d(0, y)\, y/\|y\|`, ``(..., d)``."""
    k = _as_k(k, y)
    unit, _ = _safe_unit(y)
    return 0.5 * dist0(y, k, keepdim=True) * unit


def expmap(x: torch.Tensor, u: torch.Tensor, k) -> torch.Tensor:
    r""":math:`\exp_x(u) = x \oplus \tan_\kappa(\lambda_x\|u\|/2)\,u/\|u\|`, ``(..., d)``, projected."""
    k = _as_k(k, x)
    unit, n = _safe_unit(u)
    lam = lambda_x(x, k, keepdim=True)
    step = project(tan_k(lam * n / 2, k) * unit, k)  # tanh saturates to the boundary for long steps
    return project(mobius_add(x, step, k), k)


def logmap(x: torch.Tensor, y: torch.Tensor, k) -> torch.Tensor:
    r""":math:`\log_x(y) = d(x, y)\,w/(\lambda_x\|w\|)`, :math:`w = (-x) \oplus y`, ``(..., d)``."""
    k = _as_k(k, x)
    w = mobius_add(-x, y, k)
    unit, _ = _safe_unit(w)
    d = dist(x, y, k, keepdim=True)
    return d * unit / lambda_x(x, k, keepdim=True)


def transp(x: torch.Tensor, y: torch.Tensor, v: torch.Tensor, k) -> torch.Tensor:
    r"""Parallel transport along the geodesic: :math:`(\lambda_x/\lambda_y)\,\mathrm{gyr}[y, -x]\,v`."""
    k = _as_k(k, x)
    return gyration(y, -x, v, k) * (lambda_x(x, k, keepdim=True) / lambda_x(y, k, keepdim=True))


def mobius_matvec(m: torch.Tensor, x: torch.Tensor, k) -> torch.Tensor:
    r"""Möbius matrix–vector product :math:`M \otimes_\kappa x = \exp_0(M \log_0 x)` (Ganea et al. 2018).

    Args:
        m: ``(d_out, d)`` matrix. x: points ``(..., d)``.

    Returns:
        ``(..., d_out)``.
    """
    k = _as_k(k, x)
    return expmap0(logmap0(x, k) @ m.transpose(-1, -2), k)
