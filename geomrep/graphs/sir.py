"""SIR-GCN: soft-isomorphic relational graph convolution.

Lim, Lim, Tan, Ikeda, "Contextualized Messages Boost Graph Representations" (TMLR 2025; the layer
was introduced as the Soft-Isomorphic Relational Graph Convolution Network, SIR-GCN). The message
from ``v`` to ``u`` depends non-linearly on *both* endpoints,

.. math::

    h'_u = \\bigoplus_{v \\in \\mathcal N(u)}
           W_R\\, \\sigma\\big(W_Q h_u + W_K h_v \\;[+\\, W_E e_{vu}]\\big),

with ``W_Q`` (with bias) applied to the receiving node, ``W_K`` (no bias) to the neighbour and
``W_E`` (no bias) to optional edge features. ``W_Q h`` and ``W_K h`` are computed once per node and
gathered (no per-edge matrix product of node features). For linear aggregations (sum, mean, sym)
``W_R`` is applied once after aggregation; for max it is applied inside each message.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import Linear, MessagePassing
from torch_geometric.nn.inits import zeros
from torch_geometric.nn.resolver import activation_resolver

from .validation import check_edge_index

__all__ = ["SIRConv", "SIR_AGGREGATIONS"]

#: Neighbourhood aggregations accepted by :class:`SIRConv` (``aggr``).
SIR_AGGREGATIONS = ("sum", "mean", "max", "sym")


class SIRConv(MessagePassing):
    """Soft-isomorphic relational convolution (SIR-GCN layer) as a PyG ``MessagePassing`` layer.

    .. math::

        h'_u = b + \\operatorname{AGG}_{v \\in \\mathcal N(u)} W_R\\,
               \\sigma\\big(W_Q h_u + b_Q + W_K h_v + W_E e_{vu}\\big)

    where ``AGG`` is ``sum``, ``mean``, ``max``, or ``sym`` (sum with each message scaled by
    ``deg_out(v)^{-1/2} deg_in(u)^{-1/2}``). There is no self term: add residual connections in
    the model. Isolated (target) nodes receive ``b``.

    Shapes:
        - **x**: ``(N, F_in)`` or a bipartite pair ``((N_src, F_src), (N_dst, F_dst))``;
        - **edge_index**: ``(2, E)`` (source, target), or a ``torch.sparse`` ``(N_dst, N_src)``
          ``adj_t`` (row = target; 2-D sparse values are used as edge features);
        - **edge_attr**: ``(E, edge_dim)`` when ``edge_dim`` is set;
        - **output**: ``(N_dst, out_channels)``, dtype of the parameters/input.

    Args:
        in_channels: input size, or ``(F_src, F_dst)`` for bipartite graphs (``-1``: lazy).
        out_channels: output size.
        hidden_channels: width of the inner message (default ``out_channels``).
        aggr: ``"sum"``, ``"mean"``, ``"max"`` or ``"sym"``.
        edge_dim: edge-feature size (None: no edge features).
        act: activation ``σ`` (name for :func:`torch_geometric.nn.resolver.activation_resolver`,
            or a callable module). Default ``"relu"``.
        act_kwargs: keyword arguments of the activation.
        bias: learnable output bias ``b``.
        **kwargs: forwarded to :class:`~torch_geometric.nn.conv.MessagePassing`.

    Example:
        >>> conv = SIRConv(16, 32, aggr="sum")
        >>> x, edge_index = torch.randn(5, 16), torch.tensor([[0, 1, 2], [1, 2, 3]])
        >>> conv(x, edge_index).shape
        torch.Size([5, 32])
    """

    def __init__(
        self,
        in_channels: int | tuple[int, int],
        out_channels: int,
        hidden_channels: int | None = None,
        aggr: str = "sum",
        edge_dim: int | None = None,
        act: str | Callable | None = "relu",
        act_kwargs: dict | None = None,
        bias: bool = True,
        **kwargs,
    ) -> None:
        if aggr not in SIR_AGGREGATIONS:
            raise ValueError(f"aggr must be one of {SIR_AGGREGATIONS}, got {aggr!r}")
        if not isinstance(out_channels, int) or out_channels < 1:
            raise ValueError(f"out_channels must be a positive integer, got {out_channels!r}")
        hidden_channels = out_channels if hidden_channels is None else hidden_channels
        if not isinstance(hidden_channels, int) or hidden_channels < 1:
            raise ValueError(f"hidden_channels must be a positive integer, got {hidden_channels!r}")
        pair = in_channels if isinstance(in_channels, tuple) else (in_channels,)
        if len(pair) not in (1, 2) or any(
            isinstance(c, bool) or not isinstance(c, int) or (c < 1 and c != -1) for c in pair
        ):
            raise ValueError(
                f"in_channels must be a positive integer, -1 (lazy) or a pair of them, got {in_channels!r}"
            )
        if edge_dim is not None and (
            isinstance(edge_dim, bool) or not isinstance(edge_dim, int) or edge_dim < 1
        ):
            raise ValueError(f"edge_dim must be None or a positive integer, got {edge_dim!r}")
        super().__init__(aggr="sum" if aggr == "sym" else aggr, **kwargs)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.sir_aggr = aggr
        self.edge_dim = edge_dim
        src, dst = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        self.lin_query = Linear(dst, hidden_channels, bias=True, weight_initializer="glorot")
        self.lin_key = Linear(src, hidden_channels, bias=False, weight_initializer="glorot")
        self.lin_edge = (
            Linear(edge_dim, hidden_channels, bias=False, weight_initializer="glorot")
            if edge_dim is not None
            else None
        )
        self.lin_relation = Linear(hidden_channels, out_channels, bias=False, weight_initializer="glorot")
        self.act = (
            activation_resolver(act, **(act_kwargs or {})) if isinstance(act, str) or act is None else act
        )
        if self.act is None:
            self.act = torch.nn.Identity()
        if bias:
            self.bias = Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise all weights (Glorot) and zero the biases."""
        super().reset_parameters()
        self.lin_query.reset_parameters()
        self.lin_key.reset_parameters()
        if self.lin_edge is not None:
            self.lin_edge.reset_parameters()
        self.lin_relation.reset_parameters()
        if self.bias is not None:
            zeros(self.bias)

    def forward(
        self,
        x: Tensor | tuple[Tensor, Tensor | None],
        edge_index: Tensor,
        edge_attr: Tensor | None = None,
        size: tuple[int, int] | None = None,
    ) -> Tensor:
        """Apply the layer; see the class docstring for shapes."""
        if isinstance(x, Tensor):
            x = (x, x)
        x_src, x_dst = x
        if x_dst is None:
            raise ValueError("SIRConv needs target features x[1] (the query W_Q h_u uses them)")
        for name, t in (("x (source)", x_src), ("x (target)", x_dst)):
            if not isinstance(t, Tensor) or not t.dtype.is_floating_point:
                raise TypeError(f"{name} must be a floating tensor, got {getattr(t, 'dtype', type(t))}")
            if t.dim() != 2:
                raise ValueError(f"{name} must have shape (N, F), got {tuple(t.shape)}")
        if not isinstance(edge_index, Tensor):
            raise TypeError(f"edge_index must be a tensor, got {type(edge_index).__name__}")
        if edge_index.layout == torch.strided:
            n_src = x_src.size(0) if size is None or size[0] is None else size[0]
            n_dst = x_dst.size(0) if size is None or size[1] is None else size[1]
            edge_index, _ = check_edge_index(edge_index, (n_src, n_dst))
            if edge_attr is not None and (edge_attr.dim() != 2 or edge_attr.size(0) != edge_index.size(1)):
                raise ValueError(
                    f"edge_attr must have shape ({edge_index.size(1)}, {self.edge_dim}), "
                    f"got {tuple(edge_attr.shape)}"
                )
        query = self.lin_query(x_dst)
        key = self.lin_key(x_src)
        sparse_input = edge_index.layout != torch.strided
        if edge_index.layout == torch.sparse_coo and not edge_index.is_coalesced():
            edge_index = edge_index.coalesce()
        if edge_attr is not None and self.lin_edge is None:
            raise ValueError("edge_attr was given but the layer was built with edge_dim=None")
        if self.lin_edge is not None and edge_attr is None:
            has_sparse_attr = sparse_input and edge_index.values().dim() == 2
            if not has_sparse_attr:
                raise ValueError(f"edge_attr of shape (E, {self.edge_dim}) is required (edge_dim was set)")
        out = self.propagate(edge_index, query=(None, query), key=(key, None), edge_attr=edge_attr, size=size)
        if self.sir_aggr != "max":
            out = self.lin_relation(out)
        if self.bias is not None:
            out = out + self.bias
        return out

    def message(
        self,
        query_i: Tensor,
        key_j: Tensor,
        edge_attr: Tensor | None,
        edge_index_i: Tensor,
        edge_index_j: Tensor,
        size_i: int | None,
        size_j: int | None,
    ) -> Tensor:
        """``σ(W_Q h_i + W_K h_j [+ W_E e_ji])`` (times ``W_R`` for max, times the sym scale for sym)."""
        z = query_i + key_j
        if self.lin_edge is not None and edge_attr is not None:
            z = z + self.lin_edge(edge_attr.to(z.dtype))
        msg = self.act(z)
        if self.sir_aggr == "max":
            return self.lin_relation(msg)
        if self.sir_aggr == "sym":
            ones = torch.ones_like(edge_index_i, dtype=msg.dtype)
            deg_in = msg.new_zeros(size_i).index_add_(0, edge_index_i, ones)
            deg_out = msg.new_zeros(size_j).index_add_(0, edge_index_j, ones)
            scale = deg_in[edge_index_i].rsqrt() * deg_out[edge_index_j].rsqrt()
            msg = msg * scale.unsqueeze(-1)
        return msg

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, aggr={self.sir_aggr!r})"
