"""Tests for SIRConv against a dense reference formula, plus PyG-style layer checks."""

import copy

import pytest
import torch
from torch_geometric.nn import GINConv

from geomrep.graphs import SIRConv
from geomrep.testing import (
    TOLERANCE,
    adjacency_permutation_action,
    assert_compiles,
    assert_equivariant,
    assert_gradcheck,
    edge_index_permutation_action,
    node_permutation_action,
    random_permutation,
)

AGGRS = ("sum", "mean", "max", "sym")
DTYPES = (torch.float32, torch.float64)


def random_graph(n_src, n_dst, n_edges, gen, bipartite=False):
    """Random simple graph (no duplicate edges); the last target node is kept isolated."""
    pairs = torch.randperm(n_src * (n_dst - 1), generator=gen)[:n_edges]
    src, dst = pairs // (n_dst - 1), pairs % (n_dst - 1)
    if not bipartite:
        keep = src != dst
        src, dst = src[keep], dst[keep]
    return torch.stack([src, dst])


def dense_reference(conv, x_src, x_dst, edge_index, edge_attr=None):
    """Dense evaluation of  b + AGG_v W_R σ(W_Q h_u + b_Q + W_K h_v + W_E e_vu)  over all (u, v) pairs."""
    n_src, n_dst = x_src.size(0), x_dst.size(0)
    A = torch.zeros(n_dst, n_src, dtype=x_src.dtype)
    A[edge_index[1], edge_index[0]] = 1.0
    Q = x_dst @ conv.lin_query.weight.T + conv.lin_query.bias
    K = x_src @ conv.lin_key.weight.T
    Z = Q[:, None, :] + K[None, :, :]  # (N_dst, N_src, H)
    if edge_attr is not None:
        E = torch.zeros(n_dst, n_src, edge_attr.size(1), dtype=x_src.dtype)
        E[edge_index[1], edge_index[0]] = edge_attr
        Z = Z + E @ conv.lin_edge.weight.T
    M = torch.relu(Z) @ conv.lin_relation.weight.T  # (N_dst, N_src, out)
    deg_in = A.sum(1)
    deg_out = A.sum(0)
    if conv.sir_aggr == "sum":
        out = (A[..., None] * M).sum(1)
    elif conv.sir_aggr == "mean":
        out = (A[..., None] * M).sum(1) / deg_in.clamp_min(1)[:, None]
    elif conv.sir_aggr == "sym":
        scale = A / (deg_in.clamp_min(1)[:, None] * deg_out.clamp_min(1)[None, :]).sqrt()
        out = (scale[..., None] * M).sum(1)
    else:
        masked = torch.where(A[..., None] > 0, M, torch.full_like(M, -torch.inf))
        out = masked.max(1).values
        out = torch.where(deg_in[:, None] > 0, out, torch.zeros_like(out))
    return out + conv.bias


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("aggr", AGGRS)
@pytest.mark.parametrize("edge_dim", [None, 3])
def test_dense_reference(aggr, dtype, edge_dim):
    gen = torch.Generator().manual_seed(0)
    n = 9
    edge_index = random_graph(n, n, 25, gen)
    conv = SIRConv(5, 4, hidden_channels=6, aggr=aggr, edge_dim=edge_dim).to(dtype)
    torch.nn.init.normal_(conv.bias)  # a non-zero bias so isolated nodes are checked against it
    x = torch.randn(n, 5, generator=gen, dtype=dtype)
    edge_attr = (
        None if edge_dim is None else torch.randn(edge_index.size(1), edge_dim, generator=gen, dtype=dtype)
    )
    out = conv(x, edge_index, edge_attr)
    ref = dense_reference(conv, x, x, edge_index, edge_attr)
    atol, rtol = TOLERANCE[dtype]
    torch.testing.assert_close(out, ref, atol=10 * atol, rtol=rtol)
    assert out.dtype == dtype and out.shape == (n, 4)
    torch.testing.assert_close(out[-1], conv.bias.detach())  # the last node is isolated


@pytest.mark.parametrize("aggr", AGGRS)
def test_bipartite(aggr):
    gen = torch.Generator().manual_seed(1)
    x_src = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    x_dst = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    edge_index = random_graph(7, 4, 12, gen, bipartite=True)
    conv = SIRConv((5, 3), 6, aggr=aggr, edge_dim=2).double()
    edge_attr = torch.randn(edge_index.size(1), 2, generator=gen, dtype=torch.float64)
    out = conv((x_src, x_dst), edge_index, edge_attr)
    assert out.shape == (4, 6)
    torch.testing.assert_close(out, dense_reference(conv, x_src, x_dst, edge_index, edge_attr))
    # torch.sparse adj_t (N_dst, N_src) with the edge features as hybrid values
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), edge_attr, (4, 7, 2)).coalesce()
    torch.testing.assert_close(conv((x_src, x_dst), adj_t), out)


@pytest.mark.parametrize("aggr", AGGRS)
def test_sparse_adjacency_matches_edge_index(aggr):
    gen = torch.Generator().manual_seed(2)
    n = 10
    edge_index = random_graph(n, n, 30, gen)
    x = torch.randn(n, 8, generator=gen)
    conv = SIRConv(8, 8, aggr=aggr)
    out = conv(x, edge_index)
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), torch.ones(edge_index.size(1)), (n, n))
    torch.testing.assert_close(conv(x, adj_t), out)  # uncoalesced COO is coalesced by the layer
    torch.testing.assert_close(conv(x, adj_t.coalesce().to_sparse_csr()), out)


@pytest.mark.parametrize("aggr", AGGRS)
def test_permutation_equivariance(aggr):
    gen = torch.Generator().manual_seed(3)
    n = 12
    edge_index = random_graph(n, n, 40, gen)
    x = torch.randn(n, 5, generator=gen)
    edge_attr = torch.randn(edge_index.size(1), 2, generator=gen)
    conv = SIRConv(5, 7, aggr=aggr, edge_dim=2)
    sampler = lambda: random_permutation(n, generator=gen)  # noqa: E731
    assert_equivariant(
        conv,
        (x, edge_index, edge_attr),
        (node_permutation_action, edge_index_permutation_action, None),
        node_permutation_action,
        group_sampler=sampler,
    )
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), torch.ones(edge_index.size(1)), (n, n)).coalesce()
    conv_plain = SIRConv(5, 7, aggr=aggr)
    assert_equivariant(
        conv_plain,
        (x, adj_t),
        (node_permutation_action, adjacency_permutation_action),
        node_permutation_action,
        group_sampler=sampler,
    )


def test_equivariance_check_can_fail():
    """A layer that looks at node indices must be caught by the same check."""
    gen = torch.Generator().manual_seed(4)
    n = 8
    edge_index = random_graph(n, n, 20, gen)
    x = torch.randn(n, 3, generator=gen)
    conv = SIRConv(3, 3)

    def broken(x, ei):
        return conv(x, ei) + torch.arange(n, dtype=x.dtype)[:, None]

    with pytest.raises(AssertionError):
        assert_equivariant(
            broken,
            (x, edge_index),
            (node_permutation_action, edge_index_permutation_action),
            node_permutation_action,
            group_sampler=lambda: random_permutation(n, generator=gen),
        )


@pytest.mark.parametrize("aggr", AGGRS)
def test_empty_graphs(aggr):
    conv = SIRConv(4, 3, aggr=aggr)
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(5, 4)
    empty = torch.empty(2, 0, dtype=torch.long)
    out = conv(x, empty)
    torch.testing.assert_close(out, conv.bias.detach().expand(5, 3))
    out0 = conv(torch.randn(0, 4), empty)
    assert out0.shape == (0, 3)
    adj0 = torch.sparse_coo_tensor(torch.empty(2, 0, dtype=torch.long), torch.empty(0), (5, 5))
    torch.testing.assert_close(conv(x, adj0), out)


@pytest.mark.parametrize("aggr", ["sum", "max"])
def test_gradcheck(aggr):
    gen = torch.Generator().manual_seed(5)
    n = 6
    edge_index = random_graph(n, n, 14, gen)
    conv = SIRConv(3, 2, hidden_channels=4, aggr=aggr, edge_dim=2, act="tanh").double()
    x = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    ea = torch.randn(edge_index.size(1), 2, generator=gen, dtype=torch.float64)
    assert_gradcheck(lambda x, ea: conv(x, edge_index, ea), (x, ea))


def test_message_uses_both_endpoints():
    """Unlike GIN (sum of σ-free neighbour features), SIR separates neighbourhoods that sum to the same value.

    Target 0 sees {a, b}, target 1 sees {c, d} with a + b = c + d: GIN cannot tell them apart, SIR can.
    """
    x = torch.tensor([[0.0], [0.0], [1.0], [-1.0], [2.0], [-2.0]], dtype=torch.float64)
    edge_index = torch.tensor([[2, 3, 4, 5], [0, 0, 1, 1]])
    gin = GINConv(torch.nn.Linear(1, 4)).double()
    assert torch.allclose(gin(x, edge_index)[0], gin(x, edge_index)[1])
    torch.manual_seed(0)
    sir = SIRConv(1, 4, hidden_channels=8, aggr="sum").double()
    out = sir(x, edge_index)
    assert (out[0] - out[1]).abs().max() > 1e-3


def test_compile_aot_eager():
    gen = torch.Generator().manual_seed(6)
    n = 10
    edge_index = random_graph(n, n, 30, gen)
    x = torch.randn(n, 4, generator=gen)
    ea = torch.randn(edge_index.size(1), 2, generator=gen)
    for aggr in ("sum", "sym", "max"):
        conv = SIRConv(4, 5, aggr=aggr, edge_dim=2)
        assert_compiles(conv, x, edge_index, ea, backend="aot_eager", max_graph_breaks=0)


def test_state_dict_reset_and_repr():
    conv = SIRConv(4, 5, hidden_channels=7, aggr="mean", edge_dim=3)
    assert repr(conv) == "SIRConv(4, 5, aggr='mean')"
    names = set(conv.state_dict())
    assert names == {
        "lin_query.weight",
        "lin_query.bias",
        "lin_key.weight",
        "lin_edge.weight",
        "lin_relation.weight",
        "bias",
    }
    assert conv.lin_key.bias is None and conv.lin_edge.bias is None
    other = SIRConv(4, 5, hidden_channels=7, aggr="mean", edge_dim=3)
    other.load_state_dict(conv.state_dict())
    x, ei, ea = torch.randn(6, 4), torch.tensor([[0, 1, 2], [1, 2, 0]]), torch.randn(3, 3)
    torch.testing.assert_close(other(x, ei, ea), conv(x, ei, ea))
    before = copy.deepcopy(conv.lin_query.weight.detach())
    conv.reset_parameters()
    assert not torch.equal(before, conv.lin_query.weight)
    conv_lazy = SIRConv(-1, 5)
    assert conv_lazy(x, ei).shape == (6, 5)


def test_no_bias_and_activation_choice():
    conv = SIRConv(3, 2, aggr="sum", bias=False, act="leaky_relu", act_kwargs={"negative_slope": 0.3})
    assert conv.bias is None
    assert isinstance(conv.act, torch.nn.LeakyReLU) and conv.act.negative_slope == 0.3
    out = conv(torch.randn(4, 3), torch.empty(2, 0, dtype=torch.long))
    torch.testing.assert_close(out, torch.zeros(4, 2))


def test_bad_arguments():
    with pytest.raises(ValueError, match="aggr"):
        SIRConv(3, 2, aggr="min")
    with pytest.raises(ValueError, match="out_channels"):
        SIRConv(3, 0)
    conv = SIRConv(3, 2)
    ei = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match="edge_dim"):
        conv(torch.randn(2, 3), ei, torch.randn(1, 2))
    with pytest.raises(ValueError, match="edge_attr"):
        SIRConv(3, 2, edge_dim=2)(torch.randn(2, 3), ei)
