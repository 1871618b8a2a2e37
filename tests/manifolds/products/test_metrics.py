"""Graph distances, average distortion and mAP against brute-force references written here."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from geomrep.manifolds.products import (
    adjacency_from_distances,
    average_distortion,
    graph_distances,
    mean_average_precision,
)


def _nx_distances(G):
    nodes = list(G.nodes())
    lengths = dict(nx.all_pairs_shortest_path_length(G))
    return torch.tensor([[lengths[u][v] for v in nodes] for u in nodes], dtype=torch.float64)


def test_graph_distances_all_inputs_agree_with_networkx():
    G = nx.les_miserables_graph()
    G = nx.convert_node_labels_to_integers(G)
    ref = _nx_distances(G)
    torch.testing.assert_close(graph_distances(G), ref)
    torch.testing.assert_close(graph_distances(nx.to_scipy_sparse_array(G)), ref)
    ei = torch.tensor(list(G.edges()), dtype=torch.long).T
    torch.testing.assert_close(graph_distances(ei), ref)
    torch.testing.assert_close(graph_distances(ref.numpy()), ref)
    assert graph_distances(G, dtype=torch.float32).dtype == torch.float32


def test_graph_distances_errors():
    G = nx.Graph([(0, 1), (2, 3)])
    with pytest.raises(ValueError, match="disconnected"):
        graph_distances(G)
    with pytest.raises(ValueError, match="symmetric"):
        graph_distances(torch.tensor([[0.0, 1.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match="zero diagonal"):
        graph_distances(torch.tensor([[1.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"\(n, n\)"):
        graph_distances(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="graph_or_distances"):
        graph_distances("karate")
    with pytest.raises(ValueError, match="at least 2 nodes"):
        graph_distances(sp.csr_matrix((1, 1)))


def _brute_map(d_emb, adj):
    n = len(d_emb)
    aps = []
    for u in range(n):
        nb = [v for v in range(n) if v != u and adj[u, v]]
        if not nb:
            continue
        precs = []
        for v in nb:
            ball = [w for w in range(n) if w != u and d_emb[u, w] <= d_emb[u, v]]
            precs.append(len(set(ball) & set(nb)) / len(ball))
        aps.append(np.mean(precs))
    return float(np.mean(aps))


def test_map_and_distortion_match_brute_force():
    G = nx.karate_club_graph()
    D = graph_distances(G)
    adj = adjacency_from_distances(D)
    torch.testing.assert_close(adj, torch.tensor(nx.to_numpy_array(G) > 0))
    # perfect reconstruction: the graph metric itself
    assert mean_average_precision(D, adj) == pytest.approx(_brute_map(D.numpy(), adj.numpy()))
    g = torch.Generator().manual_seed(0)
    noisy = D + torch.rand(D.shape, generator=g, dtype=torch.float64) * 2.0
    noisy = (noisy + noisy.T) / 2
    noisy.fill_diagonal_(0)
    m = mean_average_precision(noisy, adj, block_rows=5)
    assert m == pytest.approx(_brute_map(noisy.numpy(), adj.numpy()), abs=1e-12)
    assert m < 0.95
    iu = np.triu_indices(len(D), 1)
    ref = np.mean(np.abs(noisy.numpy()[iu] - D.numpy()[iu]) / D.numpy()[iu])
    assert average_distortion(noisy, D) == pytest.approx(ref, rel=1e-12)
    assert average_distortion(D, D) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        average_distortion(D[:3, :3], D)
