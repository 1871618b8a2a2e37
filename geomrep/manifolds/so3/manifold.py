r"""The special orthogonal group SO(n) as a :class:`geoopt.Manifold` (full geometry for n = 3).

Lets rotations be learnable parameters: ``geoopt.ManifoldParameter(R, manifold=SpecialOrthogonal())``,
trained with ``geoopt.optim.RiemannianSGD`` / ``RiemannianAdam``. geoopt itself has no SO(n).
"""

from __future__ import annotations

import geoopt
import torch

from .axis_angle import axis_angle_to_matrix, hat, matrix_to_axis_angle, vee
from .distance import _angle
from .procrustes import special_procrustes
from .random import random_rotation

__all__ = ["SpecialOrthogonal"]


def _skew(A: torch.Tensor) -> torch.Tensor:
    return 0.5 * (A - A.mT)


class SpecialOrthogonal(geoopt.Manifold):
    r"""SO(n) ``(..., n, n)``, bi-invariant metric :math:`g_x(u, v) = \tfrac12\operatorname{tr}(u^\top v)`.

    Tangent vectors are stored in the ambient space (as in geoopt's Stiefel manifolds):
    ``T_x = {x Ω : Ωᵀ = −Ω}``.
    The factor ½ makes the geodesic distance the rotation angle for n = 3, so ``dist`` equals
    :func:`geodesic_distance` and ``norm(x, x·hat(ω)) = ‖ω‖``.

    Contract (tested like geoopt's own manifolds):

    - ``projx(x)``: :func:`special_procrustes` (nearest rotation; idempotent on SO(n)).
    - ``proju(x, u) = x·skew(xᵀu)``; ``egrad2rgrad(x, g) = 2·x·skew(xᵀg)``, the vector ``r`` with
      ``g_x(r, v) = ⟨g, v⟩_F`` for all tangent ``v`` (the 2 undoes the metric's ½).
    - ``expmap(x, u) = x·Exp(xᵀu)``: Rodrigues (:func:`axis_angle_to_matrix`, exact near 0 and π) for n = 3,
      ``torch.linalg.matrix_exp`` otherwise; ``retr`` is ``expmap``.
    - ``logmap(x, y) = x·hat(log(xᵀy))`` and ``dist`` (n = 3 only; :func:`matrix_to_axis_angle`, exact near 0
      and π; other n raise ``NotImplementedError``). At distance exactly π the logarithm is one of the two
      minimal geodesics.
    - ``transp(x, y, v) = y·skew(xᵀv)``: left translation, an isometric vector transport (not parallel
      transport); with ``retr = expmap`` the pair is reversible (``reversible = True``).

    Args:
        n: matrix size (default 3).

    Example:
        >>> man = SpecialOrthogonal()
        >>> x = man.random(4, 3, 3, dtype=torch.float64)
        >>> y = man.random(4, 3, 3, dtype=torch.float64)
        >>> torch.allclose(man.expmap(x, man.logmap(x, y)), y)
        True
    """

    name = "SpecialOrthogonal"
    ndim = 2
    reversible = True

    def __init__(self, n: int = 3) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        super().__init__()
        self.n = n

    def extra_repr(self) -> str:
        return f"n={self.n}"

    # -------------------------------------------------------------------------------- checks
    def _check_shape(self, shape, name):
        ok = len(shape) >= 2 and shape[-1] == shape[-2] == self.n
        if ok:
            return True, None
        return False, f"`{name}` must have shape (..., {self.n}, {self.n}), got {tuple(shape)}"

    def _check_point_on_manifold(self, x, *, atol=1e-5, rtol=1e-5):
        eye = torch.eye(self.n, dtype=x.dtype, device=x.device)
        if not torch.allclose(x.mT @ x, eye.expand_as(x), atol=atol, rtol=rtol):
            return False, "`x` is not orthogonal: xᵀx != I"
        if not bool((torch.linalg.det(x) > 0).all()):
            return False, "`x` has determinant -1 (a reflection, not a rotation)"
        return True, None

    def _check_vector_on_tangent(self, x, u, *, atol=1e-5, rtol=1e-5):
        A = x.mT @ u
        if not torch.allclose(A, -A.mT, atol=atol, rtol=rtol):
            return False, "`u` is not tangent: xᵀu is not skew-symmetric"
        return True, None

    def _need3(self, what: str) -> None:
        if self.n != 3:
            raise NotImplementedError(f"SpecialOrthogonal.{what} exists for n = 3 only, got n = {self.n}")

    # -------------------------------------------------------------------------------- geometry
    def projx(self, x: torch.Tensor) -> torch.Tensor:
        return special_procrustes(x)

    def proju(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return x @ _skew(x.mT @ u)

    def egrad2rgrad(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return 2.0 * self.proju(x, u)

    def inner(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor | None = None, *, keepdim=False):
        if v is None:
            v = u
        out = 0.5 * (u * v).sum(dim=(-2, -1), keepdim=keepdim)
        target = torch.broadcast_shapes(x.shape[:-2], out.shape[:-2] if keepdim else out.shape)
        return out.expand(*target, 1, 1) if keepdim else out.expand(target)

    def norm(self, x: torch.Tensor, u: torch.Tensor, *, keepdim=False):
        return self.inner(x, u, keepdim=keepdim).clamp_min(0).sqrt()

    def _exp_skew(self, omega: torch.Tensor) -> torch.Tensor:
        if self.n == 3:
            return axis_angle_to_matrix(vee(omega))
        return torch.linalg.matrix_exp(_skew(omega))

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return x @ self._exp_skew(x.mT @ u)

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.expmap(x, u)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self._need3("logmap")
        return x @ hat(matrix_to_axis_angle(x.mT @ y))

    def dist(self, x: torch.Tensor, y: torch.Tensor, *, keepdim=False) -> torch.Tensor:
        self._need3("dist")
        d = _angle(x, y)
        return d[..., None, None] if keepdim else d

    def dist2(self, x: torch.Tensor, y: torch.Tensor, *, keepdim=False) -> torch.Tensor:
        return self.dist(x, y, keepdim=keepdim) ** 2

    def transp(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return y @ _skew(x.mT @ v)

    # -------------------------------------------------------------------------------- sampling
    def random(self, *size, dtype=None, device=None, **kwargs) -> torch.Tensor:
        """Haar-random rotations, ``size = (..., n, n)``; ``generator=`` is accepted."""
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        self._assert_check_shape(size, "x")
        gen = kwargs.get("generator")
        if self.n == 3:
            return random_rotation(*size[:-2], dtype=dtype, device=device, generator=gen)
        A = torch.randn(*size, dtype=torch.float64, generator=gen)
        Q, Rr = torch.linalg.qr(A)
        Q = Q * torch.sign(torch.diagonal(Rr, dim1=-2, dim2=-1))[..., None, :]  # Haar on O(n)
        flip = torch.linalg.det(Q) < 0
        Q = torch.cat((Q[..., :-1], torch.where(flip[..., None], -Q[..., -1], Q[..., -1])[..., None]), -1)
        return Q.to(dtype=dtype or torch.get_default_dtype(), device=device)

    random_uniform = random

    def origin(self, *size, dtype=None, device=None, seed=42) -> torch.Tensor:
        """Identity matrices, ``size = (..., n, n)``."""
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        self._assert_check_shape(size, "x")
        return torch.eye(self.n, dtype=dtype, device=device).expand(*size).clone()
