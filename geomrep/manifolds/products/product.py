r"""``ProductSpace``: products of hyperbolic, spherical and Euclidean factors as a geoopt manifold."""

from __future__ import annotations

from collections.abc import Sequence

import geoopt
import torch

from . import stereographic as st
from .ambient import from_ambient, to_ambient
from .factor import KappaStereographic
from .signature import Factor, format_signature, parse_signature
from .wrapped_normal import wrapped_normal_log_prob, wrapped_normal_sample

__all__ = ["ProductSpace"]


def _safe_sqrt(s: torch.Tensor) -> torch.Tensor:
    """√s with a zero gradient at s = 0 (NaN stays NaN)."""
    zero = s == 0
    return torch.where(zero, torch.zeros_like(s), torch.where(zero, torch.ones_like(s), s).sqrt())


class ProductSpace(geoopt.ProductManifold):
    r"""Product :math:`M_1 \times \dots \times M_m` of κ-stereographic factors (H, S, E).

    A point is one tensor ``(..., D)`` with ``D = Σ d_i``: the factors' coordinates concatenated in
    signature order (:meth:`split` / :meth:`join`). Each factor is a :class:`KappaStereographic` (a
    ``geoopt.Stereographic``), the whole a ``geoopt.ProductManifold``, so
    ``geoopt.ManifoldParameter(x, manifold=space)`` and ``geoopt.optim.RiemannianAdam/SGD`` work.

    Geometry: :math:`d(x, y)^2 = \sum_i d_i(x_i, y_i)^2`; exp/log/transport act factorwise. Note that
    the Euclidean factors use the stereographic scale (metric :math:`4I`), so their distances are
    :math:`2\|x - y\|`, which keeps everything continuous as κ → 0.

    Args:
        signature: ``"H2xS2xE2"``, ``"H4(-0.5)xE2"``, ``"(H2)^5"`` or ``[(κ, d), ...]``
            (see :func:`parse_signature`).
        learnable_curvature: make every non-Euclidean factor's curvature a trainable parameter
            (Euclidean factors stay flat).

    Raises:
        ValueError / TypeError: for an unreadable signature (message names ``signature``).

    Example:
        >>> space = ProductSpace("H2xS2xE1")
        >>> x = space.random(5, 5, dtype=torch.float64)
        >>> space.dist(x[0], x[1]).shape, space.pdist(x).shape
        (torch.Size([]), torch.Size([5, 5]))
    """

    def __init__(self, signature, learnable_curvature: bool = False) -> None:
        factors = parse_signature(signature)
        mans = [
            (KappaStereographic(f.k, learnable=learnable_curvature and f.kind != "E"), f.dim) for f in factors
        ]
        super().__init__(*mans)
        self.factors: list[Factor] = factors
        self.dims: list[int] = [f.dim for f in factors]
        self.kinds: list[str] = [f.kind for f in factors]
        self.name = "ProductSpace"

    # ----------------------------------------------------------------------------- description
    @property
    def signature(self) -> str:
        """The signature string with the *current* curvatures, e.g. ``"H2(-0.8)xE2"``."""
        fs = []
        for m, d in zip(self.manifolds, self.dims):
            k = float(m.k.detach())
            fs.append(Factor("H" if k < 0 else "S" if k > 0 else "E", k, d))
        return format_signature(fs)

    @property
    def dim(self) -> int:
        """Total number of coordinates ``D = Σ d_i``."""
        return self.n_elements

    @property
    def ambient_dim(self) -> int:
        """Coordinates of :meth:`to_ambient`: ``d_i + 1`` per H/S factor, ``d_i`` per E factor."""
        return sum(d + (kind != "E") for kind, d in zip(self.kinds, self.dims))

    def curvatures(self) -> torch.Tensor:
        """Current curvatures ``(m,)`` (float64; differentiable when learnable)."""
        return torch.stack([m.k for m in self.manifolds])

    def factor(self, i: int) -> KappaStereographic:
        """The ``i``-th factor manifold (a view: shares the curvature parameter)."""
        return self.manifolds[i]

    def __repr__(self) -> str:
        return f"ProductSpace({self.signature!r})"

    # ----------------------------------------------------------------------------- validation
    def _check(self, x, name: str, last: int | None = None) -> None:
        last = self.n_elements if last is None else last
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must have a real floating dtype (float32/float64), got {x.dtype}")
        if x.dim() < 1 or x.shape[-1] != last:
            raise ValueError(
                f"{name} must have shape (..., {last}) for {self.signature}, got {tuple(x.shape)}"
            )

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per-factor views ``(..., d_i)`` of points/vectors ``x`` ``(..., D)``."""
        self._check(x, "x")
        return tuple(self.take_submanifold_value(x, i) for i in range(self.n_manifolds))

    def join(self, *parts: torch.Tensor) -> torch.Tensor:
        """Concatenate per-factor tensors ``(..., d_i)`` into ``(..., D)`` (inverse of :meth:`split`)."""
        if len(parts) != self.n_manifolds:
            raise ValueError(f"join expects {self.n_manifolds} parts, got {len(parts)}")
        for i, (p, d) in enumerate(zip(parts, self.dims)):
            self._check(p, f"parts[{i}]", d)
        return torch.cat(parts, dim=-1)

    def _ks(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [m.k.to(dtype=x.dtype, device=x.device) for m in self.manifolds]

    def _map(self, fn, *tensors) -> torch.Tensor:
        """Apply ``fn(k, *parts)`` per factor and concatenate."""
        ks = self._ks(tensors[0])
        outs = [
            fn(ks[i], *(self.take_submanifold_value(t, i) for t in tensors)) for i in range(self.n_manifolds)
        ]
        shape = torch.broadcast_shapes(*[o.shape[:-1] for o in outs])
        return torch.cat([o.expand(*shape, o.shape[-1]) for o in outs], dim=-1)

    # ----------------------------------------------------------------------------- distances
    def dist2(self, x: torch.Tensor, y: torch.Tensor, *, keepdim: bool = False) -> torch.Tensor:
        r"""Squared distance :math:`\sum_i d_i(x_i, y_i)^2`, ``(...)``."""
        self._check(x, "x")
        self._check(y, "y")
        ks = self._ks(x)
        total = 0
        for i in range(self.n_manifolds):
            xi, yi = self.take_submanifold_value(x, i), self.take_submanifold_value(y, i)
            total = total + st.dist(xi, yi, ks[i], keepdim=keepdim) ** 2
        return total

    def dist(self, x: torch.Tensor, y: torch.Tensor, *, keepdim: bool = False) -> torch.Tensor:
        """Product distance ``(...)`` (gradient 0 at ``x = y``)."""
        return _safe_sqrt(self.dist2(x, y, keepdim=keepdim))

    def cdist(
        self, x: torch.Tensor, y: torch.Tensor, *, squared: bool = False, block_elements: int = 2**22
    ) -> torch.Tensor:
        """All pairwise distances ``(n, m)`` between ``x`` ``(n, D)`` and ``y`` ``(m, D)``, in row blocks.

        Each block holds at most ``block_elements`` (default 4 Mi) pair×coordinate intermediates, so
        10⁴ × 10⁴ pairs run in bounded extra memory besides the ``(n, m)`` output. Differences are
        taken explicitly (no ``‖x‖² + ‖y‖² − 2⟨x, y⟩`` cancellation).
        """
        self._check(x, "x")
        self._check(y, "y")
        if x.dim() != 2 or y.dim() != 2:
            raise ValueError(
                f"cdist expects x (n, D) and y (m, D), got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        n, m = x.shape[0], y.shape[0]
        ks = self._ks(x)
        # factors of equal dimension are evaluated together ((H2)^5: one batched call, not five)
        groups = []
        for d in sorted(set(self.dims)):
            members = [i for i, di in enumerate(self.dims) if di == d]
            idx = torch.cat([torch.arange(self.slices[i].start, self.slices[i].stop) for i in members])
            idx = idx.to(x.device)
            k = torch.stack([ks[i] for i in members])
            yg = y[:, idx].view(m, len(members), d)
            groups.append((x[:, idx].view(n, len(members), d), yg, yg.pow(2).sum(-1), k))
        rows = max(1, block_elements // max(1, m * max(g[0].shape[1] * g[0].shape[2] for g in groups)))
        blocks = []
        for s in range(0, n, rows):
            total = torch.zeros(min(rows, n - s), m, dtype=x.dtype, device=x.device)
            for xg, yg, y2, k in groups:
                xb = xg[s : s + rows]
                diff2 = (xb[:, None] - yg[None]).pow(2).sum(-1)  # (b, m, g)
                d = st._dist_from_parts(diff2, xb.pow(2).sum(-1)[:, None], y2[None], k)
                total = total + d.pow(2).sum(-1)
            blocks.append(total)
        out = torch.cat(blocks, 0) if blocks else x.new_zeros(0, m)
        return out if squared else _safe_sqrt(out)

    def pdist(self, x: torch.Tensor, *, squared: bool = False, block_elements: int = 2**22) -> torch.Tensor:
        """Matrix ``(n, n)`` of distances within ``x`` ``(n, D)`` (zero diagonal), as :meth:`cdist`."""
        return self.cdist(x, x, squared=squared, block_elements=block_elements)

    # ----------------------------------------------------------------------------- maps
    def expmap0(self, u: torch.Tensor) -> torch.Tensor:
        """Factorwise :math:`\\exp_0`, ``(..., D)``."""
        self._check(u, "u")
        return self._map(lambda k, a: st.expmap0(a, k), u)

    def logmap0(self, x: torch.Tensor) -> torch.Tensor:
        """Factorwise :math:`\\log_0`, ``(..., D)``."""
        self._check(x, "x")
        return self._map(lambda k, a: st.logmap0(a, k), x)

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Factorwise :math:`\\exp_x(u)`, ``(..., D)``."""
        self._check(x, "x")
        self._check(u, "u")
        return self._map(lambda k, a, b: st.expmap(a, b, k), x, u)

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """The exponential map (used as retraction by geoopt's optimizers)."""
        return self.expmap(x, u)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Factorwise :math:`\\log_x(y)`, ``(..., D)``."""
        self._check(x, "x")
        self._check(y, "y")
        return self._map(lambda k, a, b: st.logmap(a, b, k), x, y)

    def transp(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Factorwise parallel transport of ``v`` from ``x`` to ``y`` along the geodesic."""
        self._check(v, "v")
        return self._map(lambda k, a, b, c: st.transp(a, b, c, k), x, y, v)

    def mobius_add(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r"""Factorwise Möbius addition :math:`x \oplus y` (a per-factor isometry in ``y`` for fixed ``x``)."""
        self._check(x, "x")
        self._check(y, "y")
        return self._map(lambda k, a, b: st.project(st.mobius_add(a, b, k), k), x, y)

    def mobius_matvec(self, matrices: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        r"""Factorwise Möbius matrix–vector product :math:`M_i \otimes_{\kappa_i} x_i`.

        Args:
            matrices: one ``(d_i, d_i)`` matrix per factor. x: points ``(..., D)``.
        """
        self._check(x, "x")
        if len(matrices) != self.n_manifolds:
            raise ValueError(f"matrices must hold {self.n_manifolds} matrices, got {len(matrices)}")
        for i, (mat, d) in enumerate(zip(matrices, self.dims)):
            if not isinstance(mat, torch.Tensor) or mat.shape != (d, d):
                raise ValueError(f"matrices[{i}] must be a ({d}, {d}) tensor for factor {self.factors[i]}")
        ks = self._ks(x)
        parts = [
            st.mobius_matvec(matrices[i], self.take_submanifold_value(x, i), ks[i]) for i in range(len(ks))
        ]
        return torch.cat(parts, dim=-1)

    # ----------------------------------------------------------------------------- points
    def origin(self, *size, dtype=None, device=None, seed=42) -> torch.Tensor:
        """The origin (all zeros) of shape ``(*size)``, last dimension ``D``."""
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        self._assert_check_shape(size, "x")
        return torch.zeros(size, dtype=dtype, device=device)

    def random(self, *size, std: float = 1.0, dtype=None, device=None, generator=None) -> torch.Tensor:
        """Wrapped-normal points at the origin of shape ``(*size)`` (last dimension ``D``)."""
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        self._assert_check_shape(size, "x")
        mean = torch.zeros(size, dtype=dtype, device=device)
        return self.wrapped_normal(mean, std, generator=generator)

    random_normal = random

    def wrapped_normal(
        self, mean: torch.Tensor, std=1.0, *, sample_shape=(), generator: torch.Generator | None = None
    ) -> torch.Tensor:
        r"""Sample the product of per-factor wrapped normals at ``mean`` ``(..., D)``.

        ``std`` is σ (a number or a tensor broadcastable to ``mean``) in orthonormal tangent coordinates:
        :math:`d(\mu, z)^2 = \|v\|^2` with :math:`v \sim \mathcal N(0, \operatorname{diag}\sigma^2)`.
        Returns ``(*sample_shape, *mean.shape)``.
        """
        self._check(mean, "mean")
        std = self._check_std(std, mean)
        ks = self._ks(mean)
        parts = []
        for i in range(self.n_manifolds):
            mu = self.take_submanifold_value(mean, i)
            s = self.take_submanifold_value(std.expand_as(mean), i)
            parts.append(wrapped_normal_sample(mu, s, ks[i], sample_shape=sample_shape, generator=generator))
        return torch.cat(parts, dim=-1)

    def wrapped_normal_log_prob(self, z: torch.Tensor, mean: torch.Tensor, std=1.0) -> torch.Tensor:
        """Log-density ``(...)`` of :meth:`wrapped_normal` w.r.t. the product Riemannian volume."""
        self._check(z, "z")
        self._check(mean, "mean")
        std = self._check_std(std, mean)
        ks = self._ks(z)
        total = 0
        for i in range(self.n_manifolds):
            zi, mu = self.take_submanifold_value(z, i), self.take_submanifold_value(mean, i)
            s = self.take_submanifold_value(std.expand_as(mean), i)
            total = total + wrapped_normal_log_prob(zi, mu, s, ks[i])
        return total

    def _check_std(self, std, mean: torch.Tensor) -> torch.Tensor:
        std = torch.as_tensor(std, dtype=mean.dtype, device=mean.device)
        if std.dim() > 0 and std.shape[-1] not in (1, self.n_elements):
            raise ValueError(
                f"std must be a number or broadcastable to mean {tuple(mean.shape)}, got {tuple(std.shape)}"
            )
        if not bool((std > 0).all()):
            raise ValueError("std must be positive")
        if std.dim() > 0 and std.shape[-1] == 1:
            std = std.expand(*std.shape[:-1], self.n_elements)
        return std if std.dim() > 0 else std.expand(self.n_elements)

    # ----------------------------------------------------------------------------- ambient models
    def to_ambient(self, x: torch.Tensor) -> torch.Tensor:
        """Hyperboloid/sphere coordinates ``(..., ambient_dim)``, isometric for every κ (:mod:`.ambient`)."""
        self._check(x, "x")
        ks = self._ks(x)
        return torch.cat(
            [to_ambient(self.take_submanifold_value(x, i), ks[i]) for i in range(len(ks))], dim=-1
        )

    def from_ambient(self, a: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_ambient`: ``(..., ambient_dim)`` → ``(..., D)``."""
        self._check(a, "a", self.ambient_dim)
        ks = self._ks(a)
        parts, pos = [], 0
        for i, (kind, d) in enumerate(zip(self.kinds, self.dims)):
            width = d + (kind != "E")
            parts.append(from_ambient(a[..., pos : pos + width], ks[i]))
            pos += width
        return torch.cat(parts, dim=-1)
