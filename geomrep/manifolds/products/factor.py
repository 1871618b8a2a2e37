r"""One factor of a product space: geoopt's ``Stereographic`` with geomrep's precise κ-stereographic math."""

from __future__ import annotations

import geoopt
import torch

from . import stereographic as st

__all__ = ["KappaStereographic"]


class KappaStereographic(geoopt.Stereographic):
    r"""κ-stereographic model of curvature ``k`` (a ``geoopt.Stereographic`` subclass).

    Same API and conventions as ``geoopt.Stereographic`` (``k`` is a parameter, learnable on request,
    smooth through κ = 0), but distances, exp/log maps and transports come from
    :mod:`geomrep.manifolds.products.stereographic`: no clamp at ``1 − 1e-7``, a dtype-dependent boundary
    margin, cancellation-free distances, and exact-in-the-limit Taylor branches near κ = 0.

    Args:
        k: curvature (negative: Poincaré ball of radius 1/√−k; positive: projected sphere; 0: flat).
        learnable: make ``k`` a trainable parameter.

    Points and tangent vectors are ``(..., d)``; inner products follow the conformal metric
    :math:`\lambda_x^2\langle u, v\rangle`. The curvature is stored in float64 and cast to the dtype of
    the points on use.

    Example:
        >>> man = KappaStereographic(-1.0)
        >>> x = torch.tensor([0.0, 0.999999999], dtype=torch.float64)
        >>> float(man.dist0(x))  # geoopt.Stereographic(-1.0) gives 16.81 (its 1 − 1e-7 clamp)
        21.416...
    """

    def __init__(self, k=0.0, learnable: bool = False) -> None:
        super().__init__(torch.as_tensor(k, dtype=torch.float64), learnable=learnable)

    def _k(self, x: torch.Tensor) -> torch.Tensor:
        return self.k.to(dtype=x.dtype, device=x.device)

    def _check_point_on_manifold(self, x, *, atol=1e-5, rtol=1e-5, dim=-1):
        k = self._k(x)
        ok = bool(((1 + k * x.pow(2).sum(dim)) > 0).all())
        return (
            (True, None)
            if ok
            else (False, f"points lie outside the ball of radius 1/√(−κ) (κ = {float(k):g})")
        )

    def _check_vector_on_tangent(self, x, u, *, atol=1e-5, rtol=1e-5, dim=-1):
        return True, None

    def lambda_x(self, x, *, dim=-1, keepdim=False):
        return st.lambda_x(x, self._k(x), keepdim=keepdim)

    def dist(self, x, y, *, keepdim=False, dim=-1):
        return st.dist(x, y, self._k(x), keepdim=keepdim)

    def dist2(self, x, y, *, keepdim=False, dim=-1):
        return st.dist(x, y, self._k(x), keepdim=keepdim) ** 2

    def dist0(self, x, *, dim=-1, keepdim=False):
        return st.dist0(x, self._k(x), keepdim=keepdim)

    def egrad2rgrad(self, x, u, *, dim=-1):
        return u / st.lambda_x(x, self._k(x), keepdim=True) ** 2

    def projx(self, x, *, dim=-1):
        return st.project(x, self._k(x))

    def proju(self, x, u, *, dim=-1):
        return u

    def inner(self, x, u, v=None, *, keepdim=False, dim=-1):
        if v is None:
            v = u
        lam = st.lambda_x(x, self._k(x), keepdim=True)
        return (lam**2 * u * v).sum(-1, keepdim=keepdim)

    def norm(self, x, u, *, keepdim=False, dim=-1):
        return st.lambda_x(x, self._k(x), keepdim=keepdim) * u.norm(dim=-1, keepdim=keepdim)

    def expmap(self, x, u, *, project=True, dim=-1):
        return st.expmap(x, u, self._k(x))

    def retr(self, x, u, *, dim=-1):
        return st.expmap(x, u, self._k(x))

    def logmap(self, x, y, *, dim=-1):
        return st.logmap(x, y, self._k(x))

    def transp(self, x, y, v, *, dim=-1):
        return st.transp(x, y, v, self._k(x))

    def expmap0(self, u, *, dim=-1, project=True):
        return st.expmap0(u, self._k(u))

    def logmap0(self, x, *, dim=-1):
        return st.logmap0(x, self._k(x))

    def transp0(self, y, u, *, dim=-1):
        return u * (2 / st.lambda_x(y, self._k(y), keepdim=True))

    def transp0back(self, y, u, *, dim=-1):
        return u * (st.lambda_x(y, self._k(y), keepdim=True) / 2)

    def mobius_add(self, x, y, *, dim=-1, project=True):
        return st.project(st.mobius_add(x, y, self._k(x)), self._k(x))

    def mobius_matvec(self, m, x, *, dim=-1, project=True):
        return st.mobius_matvec(m, x, self._k(x))

    def gyration(self, x, y, z, *, dim=-1):
        return st.gyration(x, y, z, self._k(x))

    def extra_repr(self) -> str:
        return f"k={float(self.k):g}, learnable={self.k.requires_grad}"
