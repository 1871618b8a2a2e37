"""RandomFeaturePropagation module and the learned AttentionPropagation operator."""

import pytest
import torch
from torch_geometric.data import Batch, Data

from geomrep.graphs import AttentionPropagation, RandomFeaturePropagation, random_feature_propagation
from geomrep.testing import (
    assert_compiles,
    assert_equivariant,
    assert_gradcheck,
    edge_index_permutation_action,
    node_permutation_action,
    random_permutation,
)


def cycle_with_chords(n=8):
    src = torch.arange(n)
    dst = (src + 1) % n
    chords = torch.tensor([[0, 3], [2, 6]])
    ei = torch.cat([torch.stack([src, dst]), chords], dim=1)
    return torch.cat([ei, ei.flip(0)], dim=1)


def test_attention_weights_are_row_stochastic_softmax():
    gen = torch.Generator().manual_seed(0)
    ei = cycle_with_chords()
    x = torch.randn(8, 3, generator=gen, dtype=torch.float64)
    att = AttentionPropagation(3, 4).double()
    w = att(x, ei)
    # dense reference: scores (W_Q x_i)·(W_K x_j)/sqrt(d), softmax over in-neighbours j of i
    q, k = att.lin_query(x), att.lin_key(x)
    S = (q @ k.T) / 2.0
    A = torch.zeros(8, 8, dtype=torch.bool)
    A[ei[1], ei[0]] = True
    P = torch.softmax(torch.where(A, S, torch.full_like(S, -torch.inf)), dim=1)
    torch.testing.assert_close(w, P[ei[1], ei[0]])


def test_fixed_operator_trajectory_matches_functional():
    ei = cycle_with_chords()
    x0 = torch.randn(8, 2, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for op in ("sym", "rw", "laplacian"):
        for norm in ("l2", "qr"):
            m = RandomFeaturePropagation(3, 4, 5, operator=op, normalization=norm, num_inits=2).double()
            ref = random_feature_propagation(
                ei, x0=x0, num_features=3, steps=4, num_inits=2, operator=op, normalization=norm
            )
            torch.testing.assert_close(m.trajectory(None, ei, x0=x0), ref)


@pytest.mark.parametrize("operator", ["sym", "attention"])
def test_invariant_to_order_of_starts_and_node_equivariant(operator):
    gen = torch.Generator().manual_seed(2)
    ei = cycle_with_chords()
    x = torch.randn(8, 3, generator=gen)
    x0 = torch.randn(8, 4, 3, generator=gen)
    m = RandomFeaturePropagation(3, 3, 6, in_channels=3, operator=operator, num_inits=4, normalization="qr")
    out = m(x, ei, x0=x0)
    torch.testing.assert_close(m(x, ei, x0=x0[:, torch.tensor([2, 0, 3, 1])]), out)
    assert not torch.allclose(m(x, ei, x0=x0.flip(0)), out)  # the starts matter (the check can fail)
    assert_equivariant(
        lambda x, ei, x0: m(x, ei, x0=x0),
        (x, ei, x0),
        (node_permutation_action, edge_index_permutation_action, node_permutation_action),
        node_permutation_action,
        group_sampler=lambda: random_permutation(8, generator=gen),
    )


def test_batch_is_per_graph():
    gen = torch.Generator().manual_seed(3)
    graphs = [
        Data(x=torch.randn(8, 3, generator=gen), edge_index=cycle_with_chords(8)),
        Data(
            x=torch.randn(5, 3, generator=gen),
            edge_index=torch.tensor([[0, 1, 2, 3, 4, 1, 2, 3, 4, 0], [1, 2, 3, 4, 0, 0, 1, 2, 3, 4]]),
        ),
    ]
    b = Batch.from_data_list(graphs)
    x0 = torch.randn(13, 2, 4, generator=gen)
    m = RandomFeaturePropagation(
        4, 3, 6, in_channels=3, operator="attention", num_inits=2, normalization="qr"
    )
    out = m(b.x, b.edge_index, b.batch, x0=x0)
    torch.testing.assert_close(out[:8], m(graphs[0].x, graphs[0].edge_index, x0=x0[:8]))
    torch.testing.assert_close(out[8:], m(graphs[1].x, graphs[1].edge_index, x0=x0[8:]))


@pytest.mark.parametrize("normalization", ["l2", "qr"])
def test_gradcheck_through_learned_operator(normalization):
    gen = torch.Generator().manual_seed(4)
    ei = cycle_with_chords()
    m = RandomFeaturePropagation(
        3,
        2,
        2,
        in_channels=2,
        operator="attention",
        num_inits=2,
        normalization=normalization,
        hidden_channels=4,
    ).double()
    x = torch.randn(8, 2, generator=gen, dtype=torch.float64)
    x0 = torch.randn(8, 2, 3, generator=gen, dtype=torch.float64)
    assert_gradcheck(lambda x, x0: m(x, ei, x0=x0), (x, x0))


def test_gradients_reach_attention_parameters():
    m = RandomFeaturePropagation(4, 3, 5, in_channels=3, operator="attention", num_inits=2)
    ei = cycle_with_chords()
    m(torch.randn(8, 3), ei).pow(2).sum().backward()
    assert m.attention.lin_key.weight.grad.abs().sum() > 0


def test_random_by_default_state_dict_compile_and_sparse():
    torch.manual_seed(0)
    ei = cycle_with_chords()
    m = RandomFeaturePropagation(4, 3, 5, in_channels=3, operator="attention", num_inits=3)
    x = torch.randn(8, 3)
    assert not torch.allclose(m(x, ei), m(x, ei))  # fresh random starts every call
    x0 = torch.randn(8, 3, 4)
    other = RandomFeaturePropagation(4, 3, 5, in_channels=3, operator="attention", num_inits=3)
    other.load_state_dict(m.state_dict())
    torch.testing.assert_close(other(x, ei, x0=x0), m(x, ei, x0=x0))
    assert_compiles(lambda x, x0: m(x, ei, x0=x0), x, x0, backend="aot_eager")
    adj_t = torch.sparse_coo_tensor(ei.flip(0), torch.ones(ei.size(1)), (8, 8)).coalesce()
    torch.testing.assert_close(m(x, adj_t, x0=x0), m(x, ei, x0=x0))
    fixed = RandomFeaturePropagation(4, 3, 5, operator="rw")
    assert fixed(None, ei, num_nodes=8).shape == (8, 5)
    assert "operator='attention'" in repr(m)


def test_degenerate_and_bad_input():
    m = RandomFeaturePropagation(3, 2, 4, in_channels=2, operator="attention")
    empty = torch.empty(2, 0, dtype=torch.long)
    out = m(torch.randn(5, 2), empty)
    assert out.shape == (5, 4) and torch.isfinite(out).all()
    assert m(torch.randn(0, 2), empty).shape == (0, 4)
    with pytest.raises(ValueError, match="in_channels"):
        RandomFeaturePropagation(3, 2, 4, operator="attention")
    with pytest.raises(ValueError, match="operator"):
        RandomFeaturePropagation(3, 2, 4, operator="heat")
    with pytest.raises(ValueError, match="x0"):
        m(torch.randn(5, 2), empty, x0=torch.randn(5, 2, 3))
    with pytest.raises(ValueError, match="num_nodes"):
        RandomFeaturePropagation(3, 2, 4)(None, empty)
