"""DictionaryLookup generator: structure and labels recomputed from the node attributes."""

import pytest
import torch

from geomrep.datasets import dictionary_lookup_graphs


def test_structure_and_labels():
    k = 6
    graphs = dictionary_lookup_graphs(k, 5, generator=torch.Generator().manual_seed(0))
    assert len(graphs) == 5
    for g in graphs:
        assert g.num_nodes == 2 * k and g.edge_index.shape == (2, k * k)
        src, dst = g.edge_index
        assert torch.all(src < k) and torch.all(dst >= k)  # keys -> queries, complete bipartite
        assert len({tuple(e) for e in g.edge_index.T.tolist()}) == k * k
        assert torch.all(g.x[k:, 1] == k) and sorted(g.x[:k, 1].tolist()) == list(range(k))
        lookup = {int(key): int(val) for key, val in g.x[:k].tolist()}
        for node in range(k, 2 * k):
            assert int(g.y[node]) == lookup[int(g.x[node, 0])]
        assert torch.all(g.y[:k] == -100) and g.query_mask.sum() == k
    # reproducible, and graphs differ from each other
    again = dictionary_lookup_graphs(k, 5, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a.x, b.x) for a, b in zip(graphs, again))
    assert not torch.equal(graphs[0].x, graphs[1].x)


def test_bad_arguments():
    with pytest.raises(ValueError):
        dictionary_lookup_graphs(0, 3)
