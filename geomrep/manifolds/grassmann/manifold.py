r"""The Grassmann manifold as a :class:`geoopt.Manifold` (geoopt itself has none).

Lets subspace-valued parameters (``geoopt.ManifoldParameter(X, manifold=Grassmann())``) be trained by
``geoopt.optim.RiemannianSGD`` / ``RiemannianAdam`` or by :class:`~geomrep.manifolds.grassmann.GrassmannSGD`.
The math lives in :mod:`.geometry`; this class only routes geoopt's contract to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import geoopt
import torch

from ._checks import orthonormality_tolerance
from .geometry import _angles, _exp, _horizontal, _log, _orthonormalize

__all__ = ["Grassmann"]


class Grassmann(geoopt.Manifold):
    r"""k-dimensional subspaces of Rᵈ stored as orthonormal bases ``(..., d, k)``, canonical metric.

    Any batch shape is allowed (e.g. ``(C, d, k)``: one subspace per class). ``X`` and ``XQ`` (``Q``
    orthogonal) are the same point; tangent vectors are horizontal (``XᵀU = 0``).

    Contract (tested like geoopt's own manifolds, float32 and float64, also wrapped in ``geoopt.Scaled``):

    - ``projx(x)``: QR with positive ``diag R`` (idempotent; a full-rank ``x`` goes to a basis of its span).
    - ``proju(x, u)`` = ``egrad2rgrad(x, u)``: :math:`(I - xx^\top)u` (horizontal projection; with the
      canonical metric the Riemannian gradient is the projected Euclidean one).
    - ``inner(x, u, v)`` = :math:`\operatorname{tr}(u^\top v)`, ``norm`` its root.
    - ``expmap(x, u)``: the exact geodesic (:func:`~.geometry.grassmann_exp`).
    - ``retr(x, u)``: QR retraction ``projx(x + u)`` (second-order accurate, exactly orthonormal; what
      geoopt's optimizers call, so thousands of steps keep ``XᵀX = I`` to rounding).
    - ``logmap(x, y)``: :func:`~.geometry.grassmann_log`; unique while every principal angle is below π/2,
      one of the minimising geodesics at π/2 exactly (the cut locus).
    - ``dist(x, y)``: ``‖θ‖₂`` of the principal angles (atan2 of sines and cosines: accurate at 0 and
      π/2, finite gradients there). ``dist(x, expmap(x, v)) = ‖v‖`` while ``‖v‖₂ ≤ π/2``.
    - ``transp(x, y, v)``: projection vector transport :math:`(I - yy^\top)v` (a valid vector transport
      for Riemannian optimisers; not parallel transport).
    - ``random``: Haar (uniform) subspaces; ``origin``: the first ``k`` coordinate axes.

    Args:
        subspace_dims: optional per-basis dimensions ``(k_1, …, k_C)`` for points of shape
            ``(..., C, d, max k_i)``: basis ``i`` uses its first ``k_i`` columns and keeps the others
            exactly zero (every operation masks them). This lets one tensor hold subspaces of different
            dimensions (:class:`~.classifier.GrassmannClassifier` with a list ``subspace_dim``). ``None``:
            all columns are used.

    Example:
        >>> man = Grassmann()
        >>> x = man.random(5, 2, dtype=torch.float64)
        >>> u = man.proju(x, torch.randn(5, 2, dtype=torch.float64))
        >>> torch.allclose(man.logmap(x, man.expmap(x, 0.1 * u)), 0.1 * u)
        True
    """

    name = "Grassmann"
    ndim = 2
    reversible = False

    def __init__(self, subspace_dims: Sequence[int] | None = None) -> None:
        super().__init__()
        if subspace_dims is not None:
            if isinstance(subspace_dims, (str, bytes)) or not isinstance(subspace_dims, Sequence):
                raise TypeError(
                    f"subspace_dims must be a sequence of ints, got {type(subspace_dims).__name__}"
                )
            dims = []
            for i, k in enumerate(subspace_dims):
                if isinstance(k, bool) or not isinstance(k, int):
                    raise TypeError(f"subspace_dims[{i}] must be an int, got {type(k).__name__}")
                if k < 1:
                    raise ValueError(f"subspace_dims[{i}] must be >= 1, got {k}")
                dims.append(int(k))
            if not dims:
                raise ValueError("subspace_dims must not be empty")
            subspace_dims = tuple(dims)
        self.subspace_dims: tuple[int, ...] | None = subspace_dims
        self._masks: dict = {}

    def extra_repr(self) -> str:
        return "" if self.subspace_dims is None else f"subspace_dims={list(self.subspace_dims)}"

    # ------------------------------------------------------------------ masks for mixed dimensions
    def _mask(self, x: torch.Tensor) -> torch.Tensor | None:
        """``(C, 1, kmax)`` 0/1 column mask in ``x``'s dtype/device (cached), or None."""
        if self.subspace_dims is None:
            return None
        key = (x.device, x.dtype)
        m = self._masks.get(key)
        if m is None:
            dims = torch.tensor(self.subspace_dims, device=x.device)
            kmax = max(self.subspace_dims)
            m = (torch.arange(kmax, device=x.device) < dims[:, None]).to(x.dtype)[:, None, :]
            self._masks[key] = m
        return m

    def _pad(self, x: torch.Tensor) -> torch.Tensor | None:
        if self.subspace_dims is None:
            return None
        dims = torch.tensor(self.subspace_dims, device=x.device)
        return max(self.subspace_dims) - dims

    def _apply_mask(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        m = self._mask(x)
        return t if m is None else t * m

    # ------------------------------------------------------------------ checks
    def _check_shape(self, shape, name):
        if len(shape) < 2:
            return False, f"`{name}` must have shape (..., d, k), got {tuple(shape)}"
        if shape[-1] < 1 or shape[-1] > shape[-2]:
            return False, f"`{name}` must have shape (..., d, k) with 1 <= k <= d, got {tuple(shape)}"
        if self.subspace_dims is not None:
            C = len(self.subspace_dims)
            if len(shape) < 3 or shape[-3] != C or shape[-1] != max(self.subspace_dims):
                return False, (
                    f"`{name}` must have shape (..., {C}, d, {max(self.subspace_dims)}) for subspace_dims "
                    f"{list(self.subspace_dims)}, got {tuple(shape)}"
                )
        return True, None

    def _check_point_on_manifold(self, x, *, atol=None, rtol=1e-5):
        atol = orthonormality_tolerance(x.dtype) if atol is None else atol
        m = self._mask(x)
        eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
        target = eye if m is None else eye * m
        if m is not None and not torch.allclose(x * (1 - m), torch.zeros_like(x), atol=atol):
            return False, "padding columns beyond subspace_dims must be zero"
        if not torch.allclose(x.mT @ x, target.expand_as(x.mT @ x), atol=atol, rtol=rtol):
            return False, f"`xᵀx != I` (atol={atol:.1e}): the columns are not orthonormal"
        return True, None

    def _check_vector_on_tangent(self, x, u, *, atol=None, rtol=1e-5):
        atol = orthonormality_tolerance(x.dtype) if atol is None else atol
        xtu = x.mT @ u
        if not torch.allclose(xtu, torch.zeros_like(xtu), atol=atol, rtol=rtol):
            return False, f"`xᵀu != 0` (atol={atol:.1e}): u is not horizontal"
        m = self._mask(x)
        if m is not None and not torch.allclose(u * (1 - m), torch.zeros_like(u), atol=atol):
            return False, "padding columns of u beyond subspace_dims must be zero"
        return True, None

    # ------------------------------------------------------------------ contract
    def projx(self, x: torch.Tensor) -> torch.Tensor:
        return self._apply_mask(x, _orthonormalize(x))

    def proju(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self._apply_mask(x, _horizontal(x, u))

    egrad2rgrad = proju

    def inner(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor | None = None, *, keepdim=False):
        if v is None:
            v = u
        out = (u * v).sum(dim=(-2, -1), keepdim=keepdim)
        target = torch.broadcast_shapes(x.shape[:-2], out.shape[:-2] if keepdim else out.shape)
        if keepdim:
            return out.expand(*target, 1, 1) if out.shape[:-2] != target else out
        return out.expand(target) if out.shape != target else out

    def component_inner(
        self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.inner(x, u, v, keepdim=True)

    def norm(self, x: torch.Tensor, u: torch.Tensor, *, keepdim=False):
        return self.inner(x, u, keepdim=keepdim).clamp_min(0).sqrt()

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self._apply_mask(x, _exp(x, u))

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.projx(x + u)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._apply_mask(x, _log(x, y))

    def dist(self, x: torch.Tensor, y: torch.Tensor, *, keepdim=False) -> torch.Tensor:
        theta = _angles(x, y, self._pad(x))
        d = torch.linalg.vector_norm(theta, dim=-1)
        return d[..., None, None] if keepdim else d

    def dist2(self, x: torch.Tensor, y: torch.Tensor, *, keepdim=False) -> torch.Tensor:
        theta = _angles(x, y, self._pad(x))
        d = (theta * theta).sum(-1)
        return d[..., None, None] if keepdim else d

    def transp(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.proju(y, v)

    def retr_transp(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor):
        y = self.retr(x, u)
        return y, self.transp(x, y, v)

    def expmap_transp(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor):
        y = self.expmap(x, u)
        return y, self.transp(x, y, v)

    def random(self, *size, dtype=None, device=None, generator=None, **kwargs) -> torch.Tensor:
        """Haar (uniform) random subspaces, bases of shape ``size = (..., d, k)`` (padding columns zero)."""
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        self._assert_check_shape(size, "x")
        A = torch.randn(*size, dtype=dtype, device=device, generator=generator)
        x = _orthonormalize(self._apply_mask(A, A) if self.subspace_dims is not None else A)
        return geoopt.ManifoldTensor(self._apply_mask(x, x), manifold=self)

    random_uniform = random

    def origin(self, *size, dtype=None, device=None, seed=42) -> torch.Tensor:
        """The span of the first ``k`` coordinate axes (``x = [I_k; 0]``), shape ``size = (..., d, k)``."""
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        self._assert_check_shape(size, "x")
        eye = torch.eye(size[-2], size[-1], dtype=dtype, device=device)
        x = eye.expand(*size).clone()
        return geoopt.ManifoldTensor(self._apply_mask(x, x), manifold=self)
