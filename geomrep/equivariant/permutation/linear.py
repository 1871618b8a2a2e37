"""``PermutationEquivariantLinear``: S_n / A_n equivariant linear layer between tensor-power spaces."""

from __future__ import annotations

import math

import torch
from torch import nn

from .basis import basis_diagrams
from .functional import MAX_ORDER, _plan, extra_basis, forward_with_plan
from .partitions import check_group, check_sizes

__all__ = ["PermutationEquivariantLinear"]


class PermutationEquivariantLinear(nn.Module):
    r"""Linear layer ``(Rⁿ)^{⊗k} ⊗ R^{C_in} → (Rⁿ)^{⊗l} ⊗ R^{C_out}`` commuting with S_n or A_n.

    ``y = Σ_b W_b B_b x + Σ_c β_c C_c`` where ``B_b`` runs over a basis of the equivariant maps
    (:func:`equivariant_basis`, partition diagrams and, for A_n, the ε "jellyfish" diagrams of
    Pearce-Crump, ICML 2023), ``W_b`` is a ``C_out × C_in`` channel mixing per basis map and the bias
    ``Σ_c β_c C_c`` is the general equivariant bias (the maps from the trivial representation, e.g. for
    ``l = 2`` a constant on the diagonal and another off it). The basis is a true basis for every ``n``
    (also ``n < k + l``): no redundant parameters. For ``g`` in the group acting on every set index,
    ``layer(g·x) = g·layer(x)``. Applied with sums, diagonals and broadcasts in ``O(nᵏ + nˡ)`` per basis
    map (see :mod:`geomrep.equivariant.permutation.functional`).

    Args:
        n: set size the basis is built for; inputs may be smaller sets (``n' <= n``) or padded to ``n``
            with a ``mask`` (batches of sets/graphs of different sizes, e.g. a k-IGN on graphs).
        k: input order (``x`` has ``k`` set axes), ``k >= 0``.
        l: output order, ``l >= 0``.
        in_channels, out_channels: channel counts (``>= 1``).
        group: ``"symmetric"`` (S_n) or ``"alternating"`` (A_n; extra ε maps when ``k + l >= n − 1``,
            applied to sets of exactly ``n`` elements).
        bias: learn the equivariant bias.
        normalize: means instead of sums over summed-out blocks (scale-stable across set sizes).
        dtype, device: of the parameters.

    Shapes:
        ``x``: ``(batch, in_channels, n', …, n')`` (k set axes); ``mask``: optional bool ``(batch, n')``;
        output ``(batch, out_channels, n', …, n')`` (l set axes).

    Attributes:
        weight: ``(out_channels, in_channels, num_basis)``, basis order of :attr:`diagrams`.
        bias: ``(out_channels, num_bias)`` or ``None``.

    Example:
        >>> layer = PermutationEquivariantLinear(6, 2, 2, 3, 4)  # a 2-IGN layer: 15 maps
        >>> layer.num_basis
        15
        >>> layer(torch.randn(10, 3, 6, 6)).shape
        torch.Size([10, 4, 6, 6])
    """

    def __init__(
        self,
        n: int,
        k: int,
        l: int,  # noqa: E741
        in_channels: int,
        out_channels: int,
        group: str = "symmetric",
        bias: bool = True,
        *,
        normalize: bool = False,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        n, k, l = check_sizes(n, k, l)  # noqa: E741
        check_group(group)
        if k + l > MAX_ORDER:
            raise ValueError(f"k + l must be <= {MAX_ORDER}, got k={k}, l={l}")
        for name, c in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(c, bool) or not isinstance(c, int):
                raise TypeError(f"{name} must be an int, got {type(c).__name__}")
            if c < 1:
                raise ValueError(f"{name} must be >= 1, got {c}")
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating dtype, got {dtype}")
        self.n, self.k, self.l = n, k, l
        self.in_channels, self.out_channels = in_channels, out_channels
        self.group = group
        self.normalize = bool(normalize)
        self.diagrams = basis_diagrams(n, k, l, group)
        self.bias_diagrams = basis_diagrams(n, 0, l, group)
        self._plan, self._bias_plan = _plan(n, k, l, group), _plan(n, 0, l, group)
        factory = {"dtype": dtype, "device": device}
        table_dtype = dtype if dtype is not None else torch.get_default_dtype()
        # the small dense ε / jellyfish maps (empty for S_n): non-persistent, moved by .to()
        self.register_buffer(
            "extra_basis", extra_basis(n, k, l, group).to(dtype=table_dtype, device=device), persistent=False
        )
        self.register_buffer(
            "bias_extra_basis",
            extra_basis(n, 0, l, group).to(dtype=table_dtype, device=device),
            persistent=False,
        )
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, len(self.diagrams), **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, len(self.bias_diagrams), **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    @property
    def num_basis(self) -> int:
        """Number of equivariant basis maps (``equivariant_basis_size(n, k, l, group)``)."""
        return len(self.diagrams)

    def reset_parameters(self) -> None:
        """Normal weights with variance ``1 / (in_channels · num_basis)``; zero bias."""
        std = 1.0 / math.sqrt(self.in_channels * max(self.num_basis, 1))
        nn.init.normal_(self.weight, std=std)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Apply the layer; see the class docstring for shapes."""
        return forward_with_plan(
            x,
            self.weight,
            self.bias,
            self._plan,
            self._bias_plan,
            self.extra_basis,
            self.bias_extra_basis,
            mask,
            self.normalize,
        )

    def extra_repr(self) -> str:
        return (
            f"n={self.n}, k={self.k}, l={self.l}, in_channels={self.in_channels}, "
            f"out_channels={self.out_channels}, group={self.group!r}, num_basis={self.num_basis}, "
            f"bias={self.bias is not None}, normalize={self.normalize}"
        )
