r"""Grassmann class representation (GCR, ICCV 2023): a classifier head whose classes are subspaces.

Each class ``i`` is a ``k``-dimensional subspace ``S_i`` of Rᵈ (an orthonormal basis, ``d × k``) and its
logit is :math:`\gamma\,\lVert S_i^\top \hat x\rVert` with :math:`\hat x = x/\lVert x\rVert`: γ times the
cosine of the angle between the feature and the subspace. It replaces a softmax head's class vectors.
"""

from __future__ import annotations

from collections.abc import Sequence

import geoopt
import torch
import torch.nn.functional as F
from torch import nn

from ...linalg._checks import check_int_option, check_real_scalar
from .manifold import Grassmann

__all__ = ["GrassmannClassifier", "subspace_logits"]


def subspace_logits(x: torch.Tensor, bases: torch.Tensor, scale: float = 25.0) -> torch.Tensor:
    r"""Logits :math:`\gamma\,\lVert S_i^\top x/\lVert x\rVert\rVert` of features against class subspaces.

    Invariant under :math:`S_i \mapsto S_i Q_i` (orthogonal :math:`Q_i`): a function of the subspaces.

    Args:
        x: features ``(..., d)``; a zero feature gets logits 0.
        bases: orthonormal bases ``(C, d, k)`` (zero padding columns allowed: they contribute nothing).
        scale: γ.

    Returns:
        ``(..., C)`` logits in ``[0, γ]``.

    Example:
        >>> S = torch.eye(3)[None, :, :2]   # one class: the (e1, e2) plane
        >>> subspace_logits(torch.tensor([[0.0, 3.0, 4.0]]), S, 1.0)
        tensor([[0.6000]])
    """
    if not isinstance(x, torch.Tensor) or not isinstance(bases, torch.Tensor):
        raise TypeError("x and bases must be torch.Tensors")
    if not x.is_floating_point() or not bases.is_floating_point():
        raise TypeError(f"x and bases must be floating tensors, got {x.dtype} and {bases.dtype}")
    if x.dtype != bases.dtype:
        raise TypeError(f"x and bases must have the same dtype, got {x.dtype} and {bases.dtype}")
    if bases.dim() != 3:
        raise ValueError(f"bases must have shape (C, d, k), got {tuple(bases.shape)}")
    C, d, k = bases.shape
    if x.dim() < 1 or x.shape[-1] != d:
        raise ValueError(f"x must have shape (..., {d}) to match bases (C, d={d}, k), got {tuple(x.shape)}")
    xh = F.normalize(x, dim=-1, eps=torch.finfo(x.dtype).tiny ** 0.5)
    # one GEMM with k·C outputs: (…, d) @ (d, C·k); bases.permute(1, 0, 2) is a view when the parameter
    # is stored d-major (GrassmannClassifier does), else reshape copies once
    W = bases.permute(1, 0, 2).reshape(d, C * k)
    proj = (xh @ W).unflatten(-1, (C, k))
    return scale * torch.linalg.vector_norm(proj, dim=-1)


class GrassmannClassifier(nn.Module):
    r"""Classifier head with one subspace per class: ``logits_i = γ ‖S_iᵀ x/‖x‖‖`` (GCR).

    The bases are a single :class:`geoopt.ManifoldParameter` ``bases`` of shape
    ``(num_classes, in_features, k)`` on :class:`Grassmann` (stored d-major so that the forward pass is one
    GEMM with ``k·num_classes`` outputs, like ``nn.Linear(in_features, k·num_classes)``, plus a norm over
    groups of ``k``). Initialisation: Gaussian, then a QR per class (Haar-uniform subspaces).

    Train with :class:`~.optim.GrassmannSGD` (the paper's update) or with geoopt's ``RiemannianSGD`` /
    ``RiemannianAdam`` (use :func:`~.optim.manifold_param_groups` to keep weight decay off the bases).
    The paper turns off dropout right before the head.

    Args:
        in_features: feature dimension ``d``.
        num_classes: number of classes ``C``.
        subspace_dim: ``k`` (default 8, the paper's ImageNet choice), or a list of ``C`` per-class
            dimensions; the bases then have ``max k_i`` columns, the unused ones held at exactly zero
            (:class:`Grassmann` with ``subspace_dims``).
        scale: γ (default 25, as in the paper); a fixed number, not a parameter.
        dtype, device: of the bases.

    Shapes:
        input ``(..., in_features)`` → logits ``(..., num_classes)``.

    Example:
        >>> head = GrassmannClassifier(16, 5, subspace_dim=4)
        >>> head(torch.randn(8, 16)).shape
        torch.Size([8, 5])
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        subspace_dim: int | Sequence[int] = 8,
        scale: float = 25.0,
        *,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.in_features = check_int_option(in_features, "in_features", 1)
        self.num_classes = check_int_option(num_classes, "num_classes", 1)
        self.scale = check_real_scalar(scale, "scale")
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        if isinstance(subspace_dim, Sequence) and not isinstance(subspace_dim, (str, bytes)):
            dims = tuple(check_int_option(k, f"subspace_dim[{i}]", 1) for i, k in enumerate(subspace_dim))
            if len(dims) != self.num_classes:
                raise ValueError(
                    f"subspace_dim must give one k per class: num_classes={num_classes}, "
                    f"got {len(dims)} values"
                )
            manifold = Grassmann(subspace_dims=dims) if len(set(dims)) > 1 else Grassmann()
        else:
            dims = (check_int_option(subspace_dim, "subspace_dim", 1),) * self.num_classes
            manifold = Grassmann()
        if max(dims) > self.in_features:
            raise ValueError(f"subspace_dim must be <= in_features={in_features}, got {max(dims)}")
        self.subspace_dims = dims
        kmax = max(dims)
        # d-major storage (d, C, k): the (C, d, k) parameter is a permuted view, so the forward reshape
        # to (d, C·k) is free (no copy of the bases per step)
        storage = torch.empty(self.in_features, self.num_classes, kmax, dtype=dtype, device=device)
        self.bases = geoopt.ManifoldParameter(storage.permute(1, 0, 2), manifold=manifold)
        self.reset_parameters()

    @property
    def subspace_dim(self) -> int | tuple[int, ...]:
        """``k`` (an int when all classes share it, else the per-class tuple)."""
        return self.subspace_dims[0] if len(set(self.subspace_dims)) == 1 else self.subspace_dims

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Gaussian bases orthonormalised per class (Haar-uniform subspaces)."""
        A = torch.randn(
            self.bases.shape, dtype=self.bases.dtype, device=self.bases.device, generator=generator
        )
        self.bases.copy_(self.bases.manifold.projx(self.bases.manifold._apply_mask(A, A)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"x must have a floating dtype, got {x.dtype}")
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"x must have shape (..., {self.in_features}), got {tuple(x.shape)}")
        return subspace_logits(x, self.bases, self.scale)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_classes={self.num_classes}, "
            f"subspace_dim={self.subspace_dim}, scale={self.scale}"
        )
