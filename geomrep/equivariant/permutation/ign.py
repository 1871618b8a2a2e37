"""Invariant graph networks (k-IGN) from :class:`PermutationEquivariantLinear`, and PyG batches as
padded dense tensors.

A 2-IGN (Maron et al., ICLR 2019) works on ``(batch, C, N, N)`` tensors: node features on the
diagonal, adjacency (and edge features) off it. Equivariant ``2 → 2`` layers with pointwise
nonlinearities, one invariant ``2 → 0`` layer and an MLP give a permutation-invariant graph model.
Graphs of different sizes are padded to ``N`` with a node mask; padded entries are never read.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import to_dense_adj, to_dense_batch

from .linear import PermutationEquivariantLinear

__all__ = ["dense_graph_tensor", "InvariantGraphNetwork"]


def dense_graph_tensor(
    x: torch.Tensor,
    edge_index: torch.Tensor,
    batch: torch.Tensor | None = None,
    edge_attr: torch.Tensor | None = None,
    max_num_nodes: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PyG graph(s) → a padded order-2 tensor ``(B, F + 1 + E, N, N)`` and a node mask ``(B, N)``.

    Channels: the ``F`` node features on the diagonal (``T[b, f, i, i] = x_i[f]``), then the adjacency
    (``T[b, F, i, j]`` = number of edges ``(i, j)`` among the columns of ``edge_index``, PyG's
    ``to_dense_adj`` convention), then the ``E`` edge features at the edges. Padded rows/columns are zero.

    Args:
        x: node features ``(num_nodes, F)`` (floating).
        edge_index: ``(2, num_edges)`` long.
        batch: ``(num_nodes,)`` graph index of each node (PyG ``Batch.batch``), or ``None`` for one graph.
        edge_attr: optional ``(num_edges, E)`` floating edge features.
        max_num_nodes: pad to this ``N`` (default: the largest graph).

    Returns:
        ``(tensor, mask)``.

    Example:
        >>> x = torch.eye(3)
        >>> ei = torch.tensor([[0, 1], [1, 2]])
        >>> t, m = dense_graph_tensor(x, ei)
        >>> t.shape, m.shape
        (torch.Size([1, 4, 3, 3]), torch.Size([1, 3]))
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating tensor of node features, got {getattr(x, 'dtype', type(x))}")
    if x.dim() != 2:
        raise ValueError(f"x must have shape (num_nodes, F), got {tuple(x.shape)}")
    if not isinstance(edge_index, torch.Tensor) or edge_index.dtype != torch.long:
        raise TypeError("edge_index must be a long tensor of shape (2, num_edges)")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, num_edges), got {tuple(edge_index.shape)}")
    if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= x.shape[0]):
        raise ValueError(f"edge_index refers to nodes outside 0..{x.shape[0] - 1}")
    if edge_attr is not None:
        if not isinstance(edge_attr, torch.Tensor) or not edge_attr.is_floating_point():
            raise TypeError("edge_attr must be a floating tensor (num_edges, E)")
        if edge_attr.dim() == 1:
            edge_attr = edge_attr[:, None]
        if edge_attr.shape[0] != edge_index.shape[1]:
            raise ValueError(
                f"edge_attr has {edge_attr.shape[0]} rows, edge_index has {edge_index.shape[1]} edges"
            )
    if batch is None:
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    nodes, mask = to_dense_batch(x, batch, max_num_nodes=max_num_nodes)  # (B, N, F)
    n = nodes.shape[1]
    adj = to_dense_adj(edge_index, batch, max_num_nodes=n).to(x.dtype)  # (B, N, N)
    parts = [torch.diag_embed(nodes.transpose(1, 2)), adj[:, None]]
    if edge_attr is not None:
        e = to_dense_adj(edge_index, batch, edge_attr.to(x.dtype), max_num_nodes=n)  # (B, N, N, E)
        parts.append(e.permute(0, 3, 1, 2))
    return torch.cat(parts, dim=1), mask


class InvariantGraphNetwork(nn.Module):
    """k-IGN: equivariant ``k → k`` layers with ReLU, an invariant ``k → 0`` layer, then an MLP.

    ``f(x) = MLP(L_out(σ(L_T(… σ(L_1(x))))))`` with every ``L`` a
    :class:`PermutationEquivariantLinear` of the chosen group, so ``f(g·x) = f(x)`` for every ``g``
    in S_n (or A_n). With ``order=2`` and :func:`dense_graph_tensor` this is the 2-IGN of Maron et
    al. (2019); ``order=1`` gives a DeepSets-style set model.

    Args:
        n: largest set/graph size (inputs are padded to it, with a mask).
        in_channels: input channels; hidden_channels: width; out_channels: outputs per input.
        num_layers: number of equivariant ``order → order`` layers (``>= 1``).
        order: tensor order of the hidden layers (1 for sets, 2 for graphs).
        in_order: tensor order of the input (default ``order``); the first layer maps
            ``in_order → order`` (e.g. a set of scalars lifted to order ``n − 1``, where A_n has its
            ε maps).
        group: ``"symmetric"`` or ``"alternating"``.
        normalize: means instead of sums inside the layers (stable across graph sizes).

    Shapes:
        ``x``: ``(batch, in_channels, n', …, n')`` (``in_order`` set axes), ``mask``: optional ``(batch, n')``
        bool; output ``(batch, out_channels)``.

    Example:
        >>> model = InvariantGraphNetwork(6, 3, 8, 2)
        >>> model(torch.randn(4, 3, 6, 6)).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        n: int,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        *,
        order: int = 2,
        in_order: int | None = None,
        group: str = "symmetric",
        normalize: bool = True,
    ) -> None:
        super().__init__()
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be an int >= 1, got {num_layers!r}")
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be an int >= 1, got {order!r}")
        in_order = order if in_order is None else in_order
        if isinstance(in_order, bool) or not isinstance(in_order, int) or in_order < 0:
            raise ValueError(f"in_order must be an int >= 0, got {in_order!r}")
        widths = [in_channels] + [hidden_channels] * num_layers
        orders = [in_order] + [order] * num_layers
        self.layers = nn.ModuleList(
            PermutationEquivariantLinear(
                n, orders[i], order, widths[i], widths[i + 1], group=group, normalize=normalize
            )
            for i in range(num_layers)
        )
        self.readout = PermutationEquivariantLinear(
            n, order, 0, hidden_channels, hidden_channels, group=group, normalize=normalize
        )
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Linear(hidden_channels, hidden_channels),
            nn.ReLU(),
            nn.Linear(hidden_channels, out_channels),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Invariant outputs ``(batch, out_channels)``; see the class docstring."""
        for layer in self.layers:
            x = torch.relu(layer(x, mask))
        return self.head(self.readout(x, mask))
