"""Triangle curvature, Gromov δ (vs a brute-force four-point loop) and signature suggestion."""

import itertools

import networkx as nx
import pytest
import torch

from geomrep.manifolds.products import (
    candidate_signatures,
    delta_hyperbolicity,
    graph_distances,
    sectional_curvature,
    suggest_signature,
)


def _brute_delta(D):
    n = len(D)
    best = 0.0
    for x, y, z, w in itertools.combinations(range(n), 4):
        s = sorted([D[x][y] + D[z][w], D[x][z] + D[y][w], D[x][w] + D[y][z]], reverse=True)
        best = max(best, (s[0] - s[1]) / 2)
    return best


@pytest.mark.parametrize(
    "G",
    [nx.balanced_tree(2, 3), nx.cycle_graph(10), nx.grid_2d_graph(3, 4), nx.les_miserables_graph()],
    ids=["tree", "cycle", "grid", "lesmis"],
)
def test_delta_exact_matches_four_point_brute_force(G):
    D = graph_distances(G)
    if len(D) > 20:
        D = D[:20, :20]  # a sub-metric keeps the brute force small
    ref = _brute_delta(D.tolist())
    assert delta_hyperbolicity(D, method="exact") == pytest.approx(ref)
    d_base = delta_hyperbolicity(D, method="base", base=3)
    assert d_base <= ref + 1e-12 and ref <= 2 * d_base + 1e-12
    assert delta_hyperbolicity(D, method="sample", num_samples=20000) <= ref + 1e-12


def test_tree_has_delta_zero_and_cycle_does_not():
    assert delta_hyperbolicity(nx.balanced_tree(3, 3)) == 0.0
    assert delta_hyperbolicity(nx.cycle_graph(16)) == 4.0  # ⌊n/4⌋ for an even cycle
    with pytest.raises(ValueError, match="method"):
        delta_hyperbolicity(nx.cycle_graph(5), method="fast")


def test_sectional_curvature_signs():
    nodes, xi = sectional_curvature(nx.balanced_tree(2, 5))
    assert bool((xi <= 1e-12).all()) and float(xi.mean()) < -0.1
    nodes, xi = sectional_curvature(nx.cycle_graph(20), samples_per_node=64)
    assert len(nodes) == 20 and bool((xi >= -1e-12).all()) and float(xi.mean()) > 0
    _, xi = sectional_curvature(nx.grid_2d_graph(6, 6))  # flat-ish lattice: near 0 on average
    assert abs(float(xi.mean())) < 0.2
    # Euclidean point metric with midpoints: exactly 0 (parallelogram law)
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    pts = torch.stack([t, 0.3 * t], -1)
    D = torch.cdist(pts, pts)
    _, xi = sectional_curvature(D)
    torch.testing.assert_close(xi, torch.zeros_like(xi), atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="two neighbours"):
        sectional_curvature(nx.star_graph(1))


def test_candidates():
    assert candidate_signatures(10)[:3] == ["E10", "H10", "S10"]
    assert "(H2)^2xE2x(S2)^2" in candidate_signatures(10)
    with pytest.raises(ValueError, match="dim"):
        candidate_signatures(0)


def test_suggest_signature_tree_hyperbolic_cycle_spherical():
    tree = suggest_signature(nx.balanced_tree(2, 3), 2, candidates=["E2", "H2", "S2"], steps=200)
    assert tree[0][0] == "H2", tree
    cyc = suggest_signature(nx.cycle_graph(16), 2, candidates=["E2", "H2", "S2"], steps=200)
    assert cyc[0][0] == "S2", cyc
