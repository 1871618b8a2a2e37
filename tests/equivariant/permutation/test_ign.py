"""InvariantGraphNetwork and dense_graph_tensor (PyG batches → padded order-2 tensors)."""

import functools

import pytest
import torch
from torch_geometric.data import Batch, Data

from geomrep.equivariant.permutation import InvariantGraphNetwork, dense_graph_tensor
from geomrep.testing import assert_compiles, assert_invariant, permutation_action, random_permutation


def _random_graph(num_nodes, gen, feats=3, edge_feats=2):
    src, dst = torch.meshgrid(torch.arange(num_nodes), torch.arange(num_nodes), indexing="ij")
    keep = (torch.rand(num_nodes, num_nodes, generator=gen) < 0.4) & (src != dst)
    edge_index = torch.stack([src[keep], dst[keep]])
    return Data(
        x=torch.randn(num_nodes, feats, generator=gen, dtype=torch.float64),
        edge_index=edge_index,
        edge_attr=torch.randn(edge_index.shape[1], edge_feats, generator=gen, dtype=torch.float64),
    )


def test_dense_graph_tensor_matches_loops():
    gen = torch.Generator().manual_seed(0)
    graphs = [_random_graph(s, gen) for s in (4, 2, 5)]
    batch = Batch.from_data_list(graphs)
    t, mask = dense_graph_tensor(batch.x, batch.edge_index, batch.batch, batch.edge_attr, max_num_nodes=6)
    assert t.shape == (3, 3 + 1 + 2, 6, 6) and mask.shape == (3, 6)
    expected = torch.zeros_like(t)
    for b, g in enumerate(graphs):
        for i in range(g.num_nodes):
            expected[b, :3, i, i] = g.x[i]
        for e in range(g.edge_index.shape[1]):
            i, j = g.edge_index[:, e].tolist()
            expected[b, 3, i, j] += 1
            expected[b, 4:, i, j] = g.edge_attr[e]
        assert mask[b].tolist() == [True] * g.num_nodes + [False] * (6 - g.num_nodes)
    torch.testing.assert_close(t, expected)


@pytest.mark.parametrize("group", ["symmetric", "alternating"])
def test_ign_is_invariant(group):
    torch.manual_seed(0)
    n = 5
    model = InvariantGraphNetwork(n, 3, 6, 2, num_layers=2, group=group).double()
    x = torch.randn(4, 3, n, n, dtype=torch.float64)
    mask = torch.ones(4, n, dtype=torch.bool)
    sampler = functools.partial(random_permutation, n, even=group == "alternating")
    assert_invariant(model, (x, mask), (permutation_action(2), permutation_action(1)), group_sampler=sampler)


def test_ign_padded_batch_equals_graph_by_graph():
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(0)
    graphs = [_random_graph(s, gen) for s in (7, 3, 5)]
    model = InvariantGraphNetwork(7, 6, 8, 3, num_layers=2).double()
    batch = Batch.from_data_list(graphs)
    t, mask = dense_graph_tensor(batch.x, batch.edge_index, batch.batch, batch.edge_attr, max_num_nodes=7)
    out = model(t, mask)
    for b, g in enumerate(graphs):
        tb, _ = dense_graph_tensor(g.x, g.edge_index, None, g.edge_attr)
        torch.testing.assert_close(out[b], model(tb)[0], rtol=1e-12, atol=1e-12)


def test_ign_set_model_compiles():
    torch.manual_seed(0)
    model = InvariantGraphNetwork(4, 1, 4, 1, num_layers=1, order=1, group="alternating")
    assert_compiles(model, torch.randn(3, 1, 4), backend="aot_eager", fullgraph=True)


def test_validation():
    with pytest.raises(TypeError, match="x must be a floating"):
        dense_graph_tensor(torch.ones(3, 2, dtype=torch.long), torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="edge_index must have shape"):
        dense_graph_tensor(torch.ones(3, 2), torch.zeros(3, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="outside"):
        dense_graph_tensor(torch.ones(3, 2), torch.tensor([[0], [3]]))
    with pytest.raises(ValueError, match="edge_attr has"):
        dense_graph_tensor(torch.ones(3, 2), torch.tensor([[0], [2]]), edge_attr=torch.ones(2, 1))
    with pytest.raises(ValueError, match="num_layers"):
        InvariantGraphNetwork(4, 1, 4, 1, num_layers=0)
    with pytest.raises(ValueError, match="order"):
        InvariantGraphNetwork(4, 1, 4, 1, order=0)
