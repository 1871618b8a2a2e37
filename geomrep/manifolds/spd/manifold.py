r"""The SPD manifold with the Bures–Wasserstein metric as a :class:`geoopt.Manifold`.

Lets SPD parameters (``geoopt.ManifoldParameter(M, manifold=BuresWasserstein())``) be optimised by
``geoopt.optim.RiemannianSGD`` / ``RiemannianAdam`` in this geometry.
"""

from __future__ import annotations

import geoopt
import torch

from ...linalg import spectral_map, sym
from .bw import bw_distance, bw_exp, bw_inner, bw_log

__all__ = ["BuresWasserstein"]


def _floor(eps: float):
    def f(lam: torch.Tensor) -> torch.Tensor:
        return lam.clamp_min(eps)

    def df(lam: torch.Tensor) -> torch.Tensor:
        return (lam > eps).to(lam.dtype)

    return f, df


class BuresWasserstein(geoopt.Manifold):
    r"""SPD matrices ``(..., n, n)`` with the Bures–Wasserstein metric.

    :math:`g_P(U, V) = \tfrac12 \operatorname{tr}(L_P[U] V)`, :math:`P L_P[U] + L_P[U] P = U`.

    Contract (tested like geoopt's own manifolds):

    - ``projx(x)``: symmetric part with eigenvalues floored at ``10·eps·‖x‖_F`` (``eps`` of the
      dtype); idempotent up to rounding.
    - ``proju(x, u)``: symmetric part (the tangent space is all symmetric matrices).
    - ``egrad2rgrad(x, g)``: Riemannian gradient :math:`2(x\,\mathrm{sym}(g) + \mathrm{sym}(g)\,x)`, the
      vector :math:`r` with :math:`g_x(r, v) = \operatorname{tr}(g v)` for every symmetric ``v``.
    - ``expmap``/``retr``: :math:`\operatorname{Exp}_x u = (I + L_x[u])\,x\,(I + L_x[u])` (always PSD,
      so it is also used as the retraction); ``logmap``: :math:`(xy)^{1/2} + (yx)^{1/2} - 2x`.
    - ``inner``, ``dist``: the BW inner product and distance.
    - Incompleteness: ``Exp_x u`` is singular where ``I + L_x[u]`` is, i.e. the geometry reaches the
      boundary of the SPD cone at finite distance (``d(diag(λ), diag(0)) = √λ``). A Riemannian
      optimiser whose loss pulls an eigenvalue towards 0 can land on (or, past it, bounce off) the
      boundary; in the SPD tutorial's setting this broke training in 5 of 22 runs, which is why
      :class:`SPDBatchNorm` keeps its metric parameter spectrally. Use this manifold for SPD parameters
      whose eigenvalues stay away from 0, or add a floor.
    - ``transp(x, y, v)``: the projection vector transport (symmetric ``v`` unchanged). It is a valid
      vector transport for Riemannian optimisers, **not** parallel transport; closed-form parallel
      transport to and from the identity is :func:`bw_transport_to_identity` /
      :func:`bw_transport_from_identity`.

    Example:
        >>> man = BuresWasserstein()
        >>> x = man.random(3, 3, dtype=torch.float64)
        >>> u = man.proju(x, torch.randn(3, 3, dtype=torch.float64))
        >>> torch.allclose(man.logmap(x, man.expmap(x, 0.1 * u)), 0.1 * u)
        True
    """

    name = "BuresWasserstein"
    ndim = 2
    reversible = False

    def _check_point_on_manifold(self, x, *, atol=1e-5, rtol=1e-5):
        if x.shape[-1] != x.shape[-2]:
            return False, f"`x` must be square (..., n, n), got {tuple(x.shape)}"
        if not torch.allclose(x, x.mT, atol=atol, rtol=rtol):
            return False, "`x` is not symmetric"
        lam = torch.linalg.eigvalsh(sym(x))
        if not bool((lam > 0).all()):
            return False, f"`x` is not positive definite (smallest eigenvalue {float(lam.min()):.3g})"
        return True, None

    def _check_vector_on_tangent(self, x, u, *, atol=1e-5, rtol=1e-5):
        if not torch.allclose(u, u.mT, atol=atol, rtol=rtol):
            return False, "`u` is not symmetric"
        return True, None

    def projx(self, x: torch.Tensor) -> torch.Tensor:
        x = sym(x)
        eps = 10 * torch.finfo(x.dtype).eps
        f, df = _floor(eps)
        # floor relative to the scale ‖x‖_F ≥ λ_max; a scalar floor keeps f elementwise
        scale = torch.linalg.matrix_norm(x).clamp_min(torch.finfo(x.dtype).tiny)[..., None, None]
        return spectral_map(x / scale, f, df) * scale

    def proju(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return sym(u)

    def egrad2rgrad(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        g = sym(u)
        return 2.0 * (x @ g + g @ x)

    def inner(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor | None = None, *, keepdim=False):
        if v is None:
            v = u
        out = bw_inner(x, sym(u), sym(v))
        return out[..., None, None] if keepdim else out

    def norm(self, x: torch.Tensor, u: torch.Tensor, *, keepdim=False):
        return self.inner(x, u, keepdim=keepdim).clamp_min(0).sqrt()

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return bw_exp(x, sym(u))

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.expmap(x, u)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return bw_log(x, y)

    def dist(self, x: torch.Tensor, y: torch.Tensor, *, keepdim=False) -> torch.Tensor:
        d = bw_distance(x, y)
        return d[..., None, None] if keepdim else d

    def dist2(self, x: torch.Tensor, y: torch.Tensor, *, keepdim=False) -> torch.Tensor:
        d = bw_distance(x, y, squared=True)
        return d[..., None, None] if keepdim else d

    def transp(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return sym(v)

    def random(self, *size, dtype=None, device=None, **kwargs) -> torch.Tensor:
        """Random SPD matrices ``A Aᵀ / n + I/2`` with ``A`` standard normal (``size = (..., n, n)``)."""
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        self._assert_check_shape(size, "x")
        gen = kwargs.get("generator")
        A = torch.randn(*size, dtype=dtype, device=device, generator=gen)
        n = size[-1]
        return sym(A @ A.mT / n + 0.5 * torch.eye(n, dtype=A.dtype, device=A.device))

    random_normal = random

    def origin(self, *size, dtype=None, device=None, seed=42) -> torch.Tensor:
        """Identity matrices of shape ``size = (..., n, n)``."""
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        self._assert_check_shape(size, "x")
        eye = torch.eye(size[-1], dtype=dtype, device=device)
        return eye.expand(*size).clone()

    def _check_shape(self, shape, name):
        ok = len(shape) >= 2 and shape[-1] == shape[-2]
        return (True, None) if ok else (False, f"`{name}` must have shape (..., n, n), got {tuple(shape)}")
