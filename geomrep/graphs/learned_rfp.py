"""Random feature propagation inside a model: a learnable operator and a DeepSets over random starts.

:class:`RandomFeaturePropagation` computes the RFP trajectory of :mod:`geomrep.graphs.rfp` in the
forward pass (differentiably, with gather/``index_add`` propagation), optionally with a learned
operator :class:`AttentionPropagation` whose edge weights depend on the node features (the
"learned propagation operator" of Eliasof et al., ICML 2023), and combines ``m`` independent random
starts with a DeepSets ``ρ(mean_s φ(traj_s))``, invariant to the order of the starts.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import softmax

from .operators import OPERATORS, _propagate, as_edge_index, operator_edge_weights
from .rfp import _check_rfp_args, propagation_trajectory
from .validation import check_batch, check_edge_index, check_size

__all__ = ["AttentionPropagation", "RandomFeaturePropagation"]


class AttentionPropagation(nn.Module):
    """Learned row-stochastic propagation operator from node features.

    .. math::

        P_{ij} = \\operatorname{softmax}_{j \\in \\mathcal N(i)}
                 \\frac{(W_Q h_i)^\\top (W_K h_j)}{\\sqrt{d}}

    (softmax over the in-neighbours ``j`` of each target ``i``; rows of isolated nodes are zero).

    Args:
        in_channels: node-feature size ``F``.
        hidden_channels: attention width ``d``.

    Shapes:
        ``forward(x (N, F), edge_index (2, E)) -> weight (E,)`` in ``x``'s dtype; use with
        :func:`~geomrep.graphs.operators.propagate`.

    Example:
        >>> att = AttentionPropagation(4, 8)
        >>> w = att(torch.randn(3, 4), torch.tensor([[0, 1, 2], [1, 2, 1]]))
        >>> w.shape
        torch.Size([3])
    """

    def __init__(self, in_channels: int, hidden_channels: int = 16) -> None:
        super().__init__()
        check_size(in_channels, "in_channels", low=1)
        check_size(hidden_channels, "hidden_channels", low=1)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.lin_query = nn.Linear(in_channels, hidden_channels)
        self.lin_key = nn.Linear(in_channels, hidden_channels, bias=False)

    def reset_parameters(self) -> None:
        """Re-initialise the query/key maps."""
        self.lin_query.reset_parameters()
        self.lin_key.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Edge weights ``P[target, source]`` of the learned operator, shape ``(E,)``.

        Raises:
            TypeError / ValueError: non-floating ``x`` or ``x`` not ``(N, in_channels)``; ``edge_index``
                not an integer ``(2, E)`` tensor with indices in ``[0, N)`` (negative indices are
                rejected, never wrapped).
        """
        self._check_x(x)
        edge_index, _ = check_edge_index(edge_index, x.size(0))
        return self._weights(x, edge_index)

    def _check_x(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or not x.dtype.is_floating_point:
            raise TypeError(f"x must be a floating tensor, got {getattr(x, 'dtype', type(x))}")
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(f"x must have shape (N, {self.in_channels}), got {tuple(x.shape)}")

    def _weights(self, x: Tensor, edge_index: Tensor) -> Tensor:
        q = self.lin_query(x)
        k = self.lin_key(x)
        src, dst = edge_index[0], edge_index[1]
        score = (q[dst] * k[src]).sum(-1) / math.sqrt(self.hidden_channels)
        return softmax(score, dst, num_nodes=x.size(0))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels})"


class RandomFeaturePropagation(nn.Module):
    """RFP positional encoding computed in the forward pass, combined over random starts by DeepSets.

    For each start ``s = 1..m``: ``X_0^s = 𝒩(ε_s)``, ``ε_s ~ N(0, I)``, ``X_t^s = 𝒩(P X_{t-1}^s)``
    with ``𝒩`` per graph (``batch``) and ``P`` fixed (``"sym"``, ``"rw"``, ``"laplacian"``) or learned
    (``"attention"``, :class:`AttentionPropagation` on ``x``). The encoding is

    .. math::

        \\mathrm{PE} = \\rho\\Big(\\frac1m \\sum_{s=1}^m \\varphi\\big([X_0^s, …, X_T^s]\\big)\\Big),

    with ``φ`` a 2-layer MLP applied per node and start and ``ρ`` linear: invariant to the order
    of the starts, equivariant to node permutations (when the starts are permuted with the nodes).
    New random starts are drawn at every call unless ``x0`` is given.

    Args:
        num_features: ``k`` random columns per start.
        steps: ``T`` propagation steps.
        out_channels: size of the returned encoding.
        in_channels: node-feature size (required for ``operator="attention"``).
        operator: ``"sym"``, ``"rw"``, ``"laplacian"`` or ``"attention"``.
        normalization: ``"l2"`` (default; differentiable everywhere) or ``"qr"`` (gradients need full
            column rank per graph).
        num_inits: ``m`` random starts.
        hidden_channels: width of ``φ`` and of the attention (default ``out_channels``).

    Shapes:
        ``forward(x (N, F) or None, edge_index (2, E), batch (N,) or None, x0 (N, m, k) or None)
        -> (N, out_channels)``.

    Example:
        >>> rfp = RandomFeaturePropagation(4, 3, 8, in_channels=5, operator="attention", num_inits=2)
        >>> rfp(torch.randn(3, 5), torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])).shape
        torch.Size([3, 8])
    """

    def __init__(
        self,
        num_features: int,
        steps: int,
        out_channels: int,
        *,
        in_channels: int | None = None,
        operator: str = "sym",
        normalization: str = "l2",
        num_inits: int = 1,
        hidden_channels: int | None = None,
    ) -> None:
        super().__init__()
        _check_rfp_args(num_features, steps, num_inits, operator, normalization, OPERATORS + ("attention",))
        if operator == "attention" and in_channels is None:
            raise ValueError("operator='attention' needs in_channels (the node features parametrise P)")
        for name, value in (("out_channels", out_channels), ("in_channels", in_channels)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        hidden = out_channels if hidden_channels is None else hidden_channels
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden_channels must be a positive integer, got {hidden!r}")
        self.num_features = num_features
        self.steps = steps
        self.out_channels = out_channels
        self.operator = operator
        self.normalization = normalization
        self.num_inits = num_inits
        self.attention = AttentionPropagation(in_channels, hidden) if operator == "attention" else None
        width = (steps + 1) * num_features
        self.phi = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.rho = nn.Linear(hidden, out_channels)

    def reset_parameters(self) -> None:
        """Re-initialise all learnable parameters."""
        if self.attention is not None:
            self.attention.reset_parameters()
        for layer in (self.phi[0], self.phi[2], self.rho):
            layer.reset_parameters()

    def trajectory(
        self,
        x: Tensor | None,
        edge_index: Tensor,
        batch: Tensor | None = None,
        x0: Tensor | None = None,
        num_nodes: int | None = None,
        num_graphs: int | None = None,
    ) -> Tensor:
        """The raw trajectories ``(N, m, (T + 1) k)`` before the DeepSets combination.

        Raises:
            TypeError: non-integer ``edge_index``/``batch``, non-floating ``x``/``x0``.
            ValueError: indices outside ``[0, num_nodes)``, ``x``/``x0``/``batch`` with a node count
                other than ``num_nodes``, ``num_graphs`` too small for ``batch``.
        """
        if isinstance(edge_index, Tensor) and edge_index.layout != torch.strided:  # adj_t: its pattern
            edge_index, _, num_nodes = as_edge_index(edge_index, num_nodes=num_nodes)
        if num_nodes is None:
            for t in (x, x0, batch):
                if isinstance(t, Tensor) and t.dim() > 0:
                    num_nodes = t.size(0)
                    break
        if num_nodes is None:
            raise ValueError("num_nodes is needed when x, x0 and batch are all None")
        edge_index, num_nodes = check_edge_index(edge_index, num_nodes)
        if x is not None:
            if not isinstance(x, Tensor) or not x.dtype.is_floating_point:
                raise TypeError(f"x must be a floating tensor, got {getattr(x, 'dtype', type(x))}")
            if x.dim() != 2 or x.size(0) != num_nodes:
                raise ValueError(f"x must have shape ({num_nodes}, F), got {tuple(x.shape)}")
        if x0 is not None and (not isinstance(x0, Tensor) or not x0.dtype.is_floating_point):
            raise TypeError(f"x0 must be a floating tensor, got {getattr(x0, 'dtype', type(x0))}")
        batch, num_graphs = check_batch(batch, num_nodes, num_graphs)
        dtype = self.rho.weight.dtype if x0 is None else x0.dtype
        device = self.rho.weight.device
        if self.attention is not None:
            if x is None:
                raise ValueError("operator='attention' needs node features x")
            self.attention._check_x(x)
            ei, w = edge_index, self.attention._weights(x, edge_index)
        else:
            ei, w, _ = operator_edge_weights(edge_index, num_nodes, self.operator, dtype=dtype, device=device)
        if x0 is None:
            x0 = torch.randn(num_nodes, self.num_inits, self.num_features, dtype=dtype, device=device)
        elif x0.shape != (num_nodes, self.num_inits, self.num_features):
            expected = (num_nodes, self.num_inits, self.num_features)
            raise ValueError(f"x0 must have shape {expected}, got {tuple(x0.shape)}")
        return propagation_trajectory(
            x0, lambda h: _propagate(h, ei, w, num_nodes), self.steps, self.normalization, batch, num_graphs
        )

    def forward(
        self,
        x: Tensor | None,
        edge_index: Tensor,
        batch: Tensor | None = None,
        x0: Tensor | None = None,
        num_nodes: int | None = None,
        num_graphs: int | None = None,
    ) -> Tensor:
        """Encoding ``(N, out_channels)``; see the class docstring."""
        traj = self.trajectory(x, edge_index, batch, x0, num_nodes, num_graphs)
        return self.rho(self.phi(traj).mean(dim=1))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(num_features={self.num_features}, steps={self.steps}, "
            f"out_channels={self.out_channels}, operator={self.operator!r}, "
            f"normalization={self.normalization!r}, num_inits={self.num_inits})"
        )
