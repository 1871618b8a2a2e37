"""hyperbolic_graphs loaders: distances vs networkx, the cities matrix, polblogs graph and labels."""

import networkx as nx
import numpy as np
import pytest
import scipy.io
import torch

from geomrep.datasets import load_hyperbolic_graph, load_polblogs
from tests._data import data_path, needs_data

_ROOT = data_path("hyperbolic_graphs")
needs_graphs = needs_data("hyperbolic_graphs")


@needs_graphs
def test_distances_match_networkx_on_the_largest_component():
    D = load_hyperbolic_graph("diseasome")
    G = nx.read_edgelist(_ROOT / "hazyresearch_hyperbolics" / "bio-diseasome.edges", nodetype=int)
    lcc = sorted(max(nx.connected_components(G), key=len))
    ref = nx.floyd_warshall_numpy(G.subgraph(lcc), nodelist=lcc)
    assert D.dtype == torch.float64 and D.shape == ref.shape
    np.testing.assert_array_equal(D.numpy(), ref)


@needs_graphs
def test_cities_and_tree():
    C = load_hyperbolic_graph("cities")
    assert C.shape == (312, 312) and torch.equal(C, C.T) and float(C.diagonal().abs().max()) == 0
    assert float(C[C > 0].min()) > 0
    T = load_hyperbolic_graph("phylo_tree")
    assert T.shape == (344, 344) and float(T.max()) == 51.0
    with pytest.raises(ValueError, match="name must be one of"):
        load_hyperbolic_graph("nope")


@needs_graphs
def test_polblogs_is_the_usual_1222_node_component():
    edge_index, y = load_polblogs()
    assert edge_index.dtype == torch.int64 and y.dtype == torch.int64
    assert y.shape == (1222,) and edge_index.shape == (
        2,
        2 * 16714,
    )  # the usual LCC: 16,714 edges
    assert bool((edge_index[0] != edge_index[1]).all())  # no self-loops
    pairs = set(map(tuple, edge_index.T.tolist()))
    assert all((j, i) in pairs for i, j in pairs)  # undirected
    assert y.bincount().tolist() == [586, 636]
    # labels follow their nodes: the kept nodes' labels are a sub-multiset of the file's
    raw = np.loadtxt(_ROOT / "manify_history" / "graphs__polblogs__polblogs_labels.tsv", dtype=np.int64)
    n = scipy.io.mmread(_ROOT / "manify_history" / "graphs__polblogs__polblogs.mtx").shape[0]
    assert raw.shape == (n,) and (np.bincount(raw) >= y.bincount().numpy()).all()
