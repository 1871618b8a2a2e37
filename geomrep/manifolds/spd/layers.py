r"""SPDNet layers (Huang & Van Gool 2017): BiMap, ReEig, LogEig, and covariance pooling.

- :class:`CovPool`: multichannel signals ``(..., c, T)`` → sample covariances ``(..., c, c)``.
- :class:`BiMap`: :math:`X \mapsto W^\top X W` with :math:`W \in \mathrm{St}(n_{in}, n_{out})`
  (orthonormal columns, a ``geoopt.ManifoldParameter`` on ``geoopt.Stiefel``; train with
  ``geoopt.optim.RiemannianAdam``/``RiemannianSGD``).
- :class:`ReEig`: eigenvalue floor :math:`X \mapsto U \max(\Lambda, \epsilon) U^\top`.
- :class:`LogEig`: matrix logarithm, optionally flattened to the isometric upper-triangle vector.
"""

from __future__ import annotations

import math

import geoopt
import torch
from torch import nn

from ...linalg import logm, spectral_map, sym
from ._checks import check_spd, check_square, check_symmetric

__all__ = ["BiMap", "ReEig", "LogEig", "CovPool", "sym_to_vec"]


class BiMap(nn.Module):
    r"""Bilinear map :math:`X \mapsto W^\top X W` with Stiefel weights :math:`W^\top W = I`.

    Args:
        in_size: input matrix size :math:`n_{in}`.
        out_size: output matrix size :math:`n_{out} \le n_{in}` (so the output stays SPD).
        channels: number of independent maps. With ``channels = 1`` the input is ``(..., n_in, n_in)``
            and the output ``(..., n_out, n_out)``; otherwise the input is ``(..., channels, n_in, n_in)``
            (or ``(..., 1, n_in, n_in)``, broadcast) and the output ``(..., channels, n_out, n_out)``.
        dtype, device: of the weight.

    Attributes:
        weight: ``geoopt.ManifoldParameter`` of shape ``(channels, n_in, n_out)`` on ``geoopt.Stiefel()``,
            initialised Haar-random (QR of a Gaussian with sign correction).

    Example:
        >>> layer = BiMap(8, 4)
        >>> X = torch.eye(8).expand(5, 8, 8)
        >>> layer(X).shape
        torch.Size([5, 4, 4])
    """

    def __init__(self, in_size: int, out_size: int, channels: int = 1, *, dtype=None, device=None) -> None:
        super().__init__()
        for name, v in (("in_size", in_size), ("out_size", out_size), ("channels", channels)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if out_size > in_size:
            raise ValueError(
                f"out_size must be <= in_size (got {out_size} > {in_size}); the output would be singular"
            )
        self.in_size, self.out_size, self.channels = in_size, out_size, channels
        w = torch.empty(channels, in_size, out_size, dtype=dtype, device=device)
        self.weight = geoopt.ManifoldParameter(w, manifold=geoopt.Stiefel())
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Haar-random semi-orthogonal weights (QR of a standard Gaussian, signs fixed by ``diag(R)``)."""
        A = torch.randn(self.weight.shape, dtype=self.weight.dtype, device=self.weight.device)
        Q, R = torch.linalg.qr(A)
        self.weight.copy_(Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))[..., None, :])

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_square(X, "X", allow_half=True)
        if X.dtype != self.weight.dtype and not _autocast(X):
            raise TypeError(f"X has dtype {X.dtype} but the weight has {self.weight.dtype}; cast one of them")
        if X.shape[-1] != self.in_size:
            raise ValueError(f"X must be (..., {self.in_size}, {self.in_size}), got {tuple(X.shape)}")
        if self.channels == 1:
            W = self.weight[0]
        else:
            if X.dim() < 3 or X.shape[-3] not in (1, self.channels):
                raise ValueError(
                    f"X must be (..., {self.channels} or 1, {self.in_size}, {self.in_size}), "
                    f"got {tuple(X.shape)}"
                )
            W = self.weight
        return sym(W.mT @ X @ W)

    def extra_repr(self) -> str:
        return f"in_size={self.in_size}, out_size={self.out_size}, channels={self.channels}"


def _autocast(X: torch.Tensor) -> bool:
    """True under ``torch.autocast`` for ``X``'s device (mixed dtypes are then expected)."""
    try:
        return torch.is_autocast_enabled(X.device.type)
    except TypeError:  # older signature without a device argument
        return torch.is_autocast_enabled()


class _Floor:
    """Picklable eigenvalue floor ``λ ↦ max(λ, eps)`` (``derivative=True``: ``λ ↦ 1[λ > eps]``)."""

    def __init__(self, eps: float, derivative: bool = False) -> None:
        self.eps, self.derivative = eps, derivative

    def __call__(self, lam: torch.Tensor) -> torch.Tensor:
        if self.derivative:
            return (lam > self.eps).to(lam.dtype)
        return lam.clamp_min(self.eps)


class ReEig(nn.Module):
    r"""Eigenvalue rectification :math:`X \mapsto U \max(\Lambda, \epsilon I) U^\top` (SPDNet's ReLU).

    The backward is the Daleckii–Krein formula of :func:`geomrep.linalg.spectral_map` (finite and
    correct at repeated eigenvalues, unlike ``torch.linalg.eigh`` autograd).

    Args:
        eps: eigenvalue floor (default ``1e-4``, SPDNet's value).

    Shapes: ``(..., n, n)`` → ``(..., n, n)``.

    Example:
        >>> ReEig(0.5)(torch.diag(torch.tensor([0.1, 2.0])))
        tensor([[0.5000, 0.0000],
                [0.0000, 2.0000]])
    """

    def __init__(self, eps: float = 1e-4) -> None:
        super().__init__()
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < math.inf:
            raise ValueError(f"eps must be a finite float > 0, got {eps!r}")
        self.eps = float(eps)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_square(X, "X", allow_half=True)
        check_symmetric(X, "X")  # the error names X (spectral_map's own check would say A)
        return spectral_map(X, _Floor(self.eps), _Floor(self.eps, derivative=True))

    def extra_repr(self) -> str:
        return f"eps={self.eps}"


def sym_to_vec(S: torch.Tensor) -> torch.Tensor:
    r"""Isometric vectorisation of symmetric matrices: diagonal entries, then :math:`\sqrt2\,S_{ij}` (i < j).

    ``‖sym_to_vec(S)‖₂ = ‖S‖_F``. Shapes ``(..., n, n)`` → ``(..., n(n+1)/2)``.
    """
    n = S.shape[-1]
    iu = torch.triu_indices(n, n, offset=1, device=S.device)
    diag = torch.diagonal(S, dim1=-2, dim2=-1)
    off = S[..., iu[0], iu[1]] * math.sqrt(2.0)
    return torch.cat([diag, off], dim=-1)


class LogEig(nn.Module):
    r"""Matrix logarithm :math:`X \mapsto \log X`, optionally flattened (SPDNet's output layer).

    Args:
        flatten: return the isometric vector of :func:`sym_to_vec` ``(..., n(n+1)/2)`` instead of the
            matrix ``(..., n, n)``. With channels ``(..., c, n, n)`` the channel vectors are concatenated
            into ``(..., c·n(n+1)/2)`` when ``flatten_channels`` is true.
        flatten_channels: also merge dim ``-3`` into the feature vector (default ``False``).

    Example:
        >>> LogEig()(torch.eye(3) * math.e)
        tensor([1., 1., 1., 0., 0., 0.])
    """

    def __init__(self, flatten: bool = True, flatten_channels: bool = False) -> None:
        super().__init__()
        self.flatten = bool(flatten)
        self.flatten_channels = bool(flatten_channels)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_square(X, "X", allow_half=True)
        check_spd(X, "X")  # errors name X and report its own smallest eigenvalue
        L = logm(X, check=False)
        if not self.flatten:
            return L
        v = sym_to_vec(L)
        return v.flatten(-2) if self.flatten_channels and v.dim() >= 2 else v

    def extra_repr(self) -> str:
        return f"flatten={self.flatten}, flatten_channels={self.flatten_channels}"


class CovPool(nn.Module):
    r"""Covariance pooling of multichannel signals ``(..., c, T)`` into SPD matrices ``(..., c, c)``.

    :math:`C = \frac{1}{T-1}(X - \bar X)(X - \bar X)^\top + \epsilon\,\bar\tau I`.

    Args:
        eps: ridge added to the diagonal (relative to the mean variance
            :math:`\bar\tau = \operatorname{tr} C / c` when ``relative=True``, absolute otherwise), so the
            output is SPD even when ``T ≤ c``.
        center: subtract the temporal mean of each channel.
        relative: scale ``eps`` by :math:`\bar\tau`.

    Shapes: ``(..., c, T)`` → ``(..., c, c)``, dtype of the input.

    Example:
        >>> C = CovPool()(torch.randn(10, 8, 125))
        >>> C.shape
        torch.Size([10, 8, 8])
    """

    def __init__(self, eps: float = 1e-5, center: bool = True, relative: bool = False) -> None:
        super().__init__()
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 <= eps < math.inf:
            raise ValueError(f"eps must be a finite float >= 0, got {eps!r}")
        self.eps, self.center, self.relative = float(eps), bool(center), bool(relative)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not isinstance(X, torch.Tensor) or not X.is_floating_point():
            raise TypeError("X must be a floating torch.Tensor of shape (..., channels, time)")
        if X.dim() < 2 or X.shape[-1] < 2:
            raise ValueError(f"X must be (..., channels, time) with time >= 2, got {tuple(X.shape)}")
        if self.center:
            X = X - X.mean(dim=-1, keepdim=True)
        C = X @ X.mT / (X.shape[-1] - 1)
        eye = torch.eye(C.shape[-1], dtype=C.dtype, device=C.device)
        ridge = self.eps
        if self.relative:
            ridge = self.eps * torch.diagonal(C, dim1=-2, dim2=-1).mean(-1)[..., None, None]
        return sym(C) + ridge * eye

    def extra_repr(self) -> str:
        return f"eps={self.eps}, center={self.center}, relative={self.relative}"
