r"""``KappaGCNConv``: the κ-GCN layer of Bachmann, Bécigneul, Ganea (ICML 2020) on product-space features.

Per factor of curvature κ (node features :math:`x_j` in the κ-stereographic model):

1. Möbius linear map :math:`h_j = W \otimes_\kappa x_j = \exp_0(W \log_0 x_j)` (optional Möbius bias
   :math:`h_j \leftarrow h_j \oplus_\kappa b`);
2. aggregation by the weighted κ-gyromidpoint (the paper's "κ-left-matrix-multiplication")

   .. math:: m_i = \tfrac12 \otimes_\kappa \sum_j
             \frac{\alpha_{ij}\,\lambda_{h_j}}{\sum_k \alpha_{ik}(\lambda_{h_k} - 1)}\, h_j,

   with :math:`\alpha` the GCN weights :math:`\hat A = D^{-1/2}(A + I)D^{-1/2}` and
   :math:`r \otimes_\kappa x = \tan_\kappa(r\,\mathrm{artan}_\kappa\|x\|)\,x/\|x\|`;
3. optional activation :math:`\exp_0(\sigma(\log_0 m_i))`.

At κ = 0 this is exactly a GCN layer with row-normalised weights :math:`\alpha_{ij}/\sum_k\alpha_{ik}`
(tested); in hyperbolic factors the midpoint stays in the ball. For κ > 0 the denominator
:math:`\sum_k \alpha_{ik}(\lambda_{h_k} - 1)` can vanish (points beyond the equator); its magnitude is
floored at ``eps`` of the dtype, keeping its sign.

Built on ``torch_geometric.nn.MessagePassing`` (sum aggregation of the two weighted sums), with plain
``edge_index``; input and output are product-space points ``(N, D_in)`` → ``(N, D_out)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import add_remaining_self_loops, degree

from . import stereographic as st
from .product import ProductSpace

__all__ = ["KappaGCNConv", "mobius_scalar_mul"]


def mobius_scalar_mul(r, x: torch.Tensor, k) -> torch.Tensor:
    r""":math:`r \otimes_\kappa x = \tan_\kappa(r\,\mathrm{artan}_\kappa\|x\|)\,x/\|x\|`, ``(..., d)``."""
    k = torch.as_tensor(k, dtype=x.dtype, device=x.device)
    n = x.pow(2).sum(-1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny).sqrt()
    return st.project(st.tan_k(r * st.artan_k(n, k), k) * (x / n), k)


class KappaGCNConv(MessagePassing):
    """κ-GCN convolution between product spaces with the same number of factors (module docstring).

    Args:
        space_in, space_out: input/output :class:`ProductSpace` (same number of factors; factor ``i``
            maps ``d_in_i → d_out_i`` and uses the curvature of ``space_out``'s factor, which must equal
            the input's curvature).
        bias: add a Möbius bias per factor.
        activation: a pointwise function applied in the tangent space at the origin (e.g. ``torch.relu``),
            or ``None``.
        add_self_loops: add self loops before normalising (GCN's :math:`A + I`).

    Shapes: ``x (N, D_in)``, ``edge_index (2, E)`` → ``(N, D_out)``.
    """

    def __init__(
        self,
        space_in: ProductSpace,
        space_out: ProductSpace,
        *,
        bias: bool = True,
        activation=None,
        add_self_loops: bool = True,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__(aggr="add")
        for name, s in (("space_in", space_in), ("space_out", space_out)):
            if not isinstance(s, ProductSpace):
                raise TypeError(f"{name} must be a ProductSpace, got {type(s).__name__}")
        if space_in.n_manifolds != space_out.n_manifolds:
            raise ValueError(
                f"space_in ({space_in.signature}) and space_out ({space_out.signature}) need the same number "
                "of factors"
            )
        for fi, fo in zip(space_in.factors, space_out.factors):
            if fi.k != fo.k:
                raise ValueError(
                    f"factor curvatures must match between space_in and space_out, got {fi} and {fo}"
                )
        self.space_in, self.space_out = space_in, space_out
        self.activation = activation
        self.add_self_loops = add_self_loops
        self.weights = nn.ParameterList(
            [
                nn.Parameter(torch.randn(do, di, dtype=dtype, device=device) * di**-0.5)
                for di, do in zip(space_in.dims, space_out.dims)
            ]
        )
        self.bias = nn.Parameter(torch.zeros(space_out.dim, dtype=dtype, device=device)) if bias else None

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        self.space_in._check(x, "x")
        if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
            raise ValueError(
                f"edge_index must be a (2, E) tensor, got {getattr(edge_index, 'shape', edge_index)}"
            )
        n = x.shape[0]
        if self.add_self_loops:
            edge_index, _ = add_remaining_self_loops(edge_index, num_nodes=n)
        src, dst = edge_index  # PyG's source_to_target flow: messages x_j from src aggregate at dst
        deg = degree(dst, n, dtype=x.dtype)
        dinv = deg.clamp_min(1).rsqrt()
        alpha = dinv[src] * dinv[dst]
        ks = self.space_out._ks(x)
        outs = []
        for i in range(self.space_in.n_manifolds):
            k = ks[i]
            h = st.mobius_matvec(self.weights[i].to(x.dtype), self.space_in.take_submanifold_value(x, i), k)
            if self.bias is not None:
                b = st.expmap0(self.space_out.take_submanifold_value(self.bias.to(x.dtype), i), k)
                h = st.project(st.mobius_add(h, b.expand_as(h), k), k)
            lam = st.lambda_x(h, k, keepdim=True)
            num = self.propagate(edge_index, x=lam * h, alpha=alpha, size=(n, n))
            den = self.propagate(edge_index, x=lam - 1, alpha=alpha, size=(n, n))
            eps = torch.finfo(x.dtype).eps
            den = torch.where(den >= 0, den.clamp_min(eps), den.clamp_max(-eps))
            m = mobius_scalar_mul(0.5, num / den, k)
            if self.activation is not None:
                m = st.expmap0(self.activation(st.logmap0(m, k)), k)
            outs.append(m)
        return torch.cat(outs, dim=-1)

    def message(self, x_j: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return alpha[:, None] * x_j
