"""BFS-sampled targets: exact against all-pairs distances, estimates exact with every source, 2·10⁵ nodes."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from geomrep.manifolds.products import (
    ShortestPathSampler,
    adjacency_from_distances,
    average_distortion,
    embed_graph,
    graph_distances,
    mean_average_precision,
)


def _random_tree(n: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    parents = (
        np.array([rng.integers(0, i) for i in range(1, n)]) if n < 5000 else rng.integers(0, np.arange(1, n))
    )
    return sp.csr_matrix((np.ones(n - 1), (np.arange(1, n), parents)), shape=(n, n))


def test_sampled_pairs_carry_the_true_graph_distances():
    G = nx.les_miserables_graph()
    D = graph_distances(G)
    sampler = ShortestPathSampler(nx.to_scipy_sparse_array(G, nodelist=list(G.nodes())))
    i, j, d = sampler.sample(5000, 16, torch.Generator().manual_seed(0))
    assert i.shape == j.shape == d.shape == (5000,) and bool((i != j).all())
    torch.testing.assert_close(d, D[i, j], rtol=0, atol=0)
    assert len(set(i.tolist())) <= 16 and len(set(j.tolist())) > 60  # 16 sources, targets spread over all 77


def test_estimates_are_exact_with_every_node_and_close_with_few():
    A = _random_tree(300, seed=1)
    emb = embed_graph(A, "H2", steps=60, distances="sampled", batch_pairs=2048, seed=0)
    assert emb.graph_distances is None
    D = graph_distances(A)
    dp = emb.space.pdist(emb.points)
    exact_d = average_distortion(dp / emb.scale, D)
    exact_map = mean_average_precision(dp, adjacency_from_distances(D))
    assert emb.distortion(num_sources=10**6) == pytest.approx(exact_d, rel=1e-12)
    assert emb.map_score(num_nodes=10**6) == pytest.approx(exact_map, rel=1e-12)
    assert emb.distortion(num_sources=100) == pytest.approx(exact_d, rel=0.15)


def test_sampled_training_matches_dense_sampled_training():
    """Same loss in expectation: after equal steps, BFS-sampled targets reach the dense-sampled quality."""
    G = nx.balanced_tree(2, 6)  # 127 nodes
    kw = dict(steps=200, batch_pairs=1024, seed=0)
    dense = embed_graph(G, "H2", full_pairs_max=0, **kw).distortion()
    bfs = embed_graph(G, "H2", distances="sampled", **kw).distortion(num_sources=10**6)
    start = embed_graph(G, "H2", distances="sampled", **{**kw, "steps": 1}).distortion(num_sources=10**6)
    assert bfs < 0.5 * start and bfs < 1.5 * dense, (bfs, dense, start)


def test_two_hundred_thousand_nodes_in_bounded_memory():
    """All-pairs targets would need 2·10⁵² × 8 B = 320 GB: this runs only if nothing n × n is built."""
    A = _random_tree(200_000, seed=2)
    emb = embed_graph(A, "H2xE2", steps=3, batch_pairs=4096, sources_per_step=8, seed=0)  # auto → sampled
    assert emb.graph_distances is None and emb.points.shape == (200_000, 4)
    assert np.isfinite(emb.loss_history).all()
    assert 0 < emb.distortion(num_sources=4) < 10 and 0 <= emb.map_score(num_nodes=64) <= 1
    with pytest.raises(ValueError, match="would be a 200000 × 200000 matrix"):
        emb.embedding_distances()


def test_bad_input():
    with pytest.raises(ValueError, match="distances must be one of"):
        embed_graph(nx.path_graph(5), "H2", distances="bfs")
    with pytest.raises(ValueError, match="needs a graph"):
        embed_graph(graph_distances(nx.path_graph(5)), "H2", distances="sampled")
    with pytest.raises(ValueError, match="disconnected"):
        embed_graph(nx.disjoint_union(nx.path_graph(3), nx.path_graph(3)), "H2", distances="sampled")
    with pytest.raises(ValueError, match="sources_per_step must be positive"):
        embed_graph(nx.path_graph(5), "H2", distances="sampled", sources_per_step=0)
