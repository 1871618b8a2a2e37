"""embed_graph: a balanced tree embeds far better in H² than in E²; options, reproducibility, errors."""

import math

import matplotlib
import networkx as nx
import numpy as np
import pytest
import torch

from geomrep.datasets import load_hyperbolic_graph
from geomrep.manifolds.products import ProductSpace, embed_graph, graph_distances
from tests._data import needs_data

matplotlib.use("Agg")


def test_balanced_tree_h2_beats_e2():
    """Known result (Sarkar 2011; Sala et al. 2018): trees embed with low distortion in H², not in E²."""
    tree = nx.balanced_tree(2, 4)  # 31 nodes, diameter 8
    h2 = embed_graph(tree, "H2", steps=400, seed=0)
    e2 = embed_graph(tree, "E2", steps=400, seed=0)
    dh, de = h2.distortion(), e2.distortion()
    assert dh < 0.5 * de, (dh, de)  # measured: 0.050 vs 0.149
    assert h2.map_score() > e2.map_score()
    assert h2.map_score() > 0.9
    assert len(h2.loss_history) == 400 and h2.loss_history[-1] < h2.loss_history[0]


def test_reproducible_and_options():
    G = nx.karate_club_graph()
    a = embed_graph(G, "H2xS2", steps=30, seed=3)
    b = embed_graph(G, "H2xS2", steps=30, seed=3)
    torch.testing.assert_close(a.points, b.points, rtol=0, atol=0)
    c = embed_graph(G, "H2xS2", steps=30, seed=4)
    assert not torch.equal(a.points, c.points)
    # sampled pairs (the large-graph path), the paper's loss, SGD, learnable curvature, fixed scale
    s = embed_graph(G, "H2xE2", steps=30, full_pairs_max=0, batch_pairs=256, loss="paper")
    assert s.distortion() < 1.0 and torch.isfinite(s.points).all()
    k = embed_graph(G, "H2xS2", steps=30, learnable_curvature=True, optimizer="sgd", lr=0.01)
    assert k.space.curvatures().requires_grad
    # learnt curvatures keep their sign even with a large curvature learning rate
    k = embed_graph(G, "H2xS2", steps=60, learnable_curvature=True, curvature_lr=1.0)
    kh, ks = k.space.curvatures().tolist()
    assert kh < 0 < ks and torch.isfinite(k.points).all(), (kh, ks)
    f = embed_graph(G, "E2", steps=10, learnable_scale=False)
    assert f.scale == 1.0
    space = ProductSpace("H3")
    assert embed_graph(graph_distances(G), space, steps=5).space is space
    assert embed_graph(G, "H2", steps=5, dtype=torch.float32).points.dtype == torch.float32


def test_plot_and_errors():
    emb = embed_graph(nx.balanced_tree(2, 2), "H2xE1", steps=5)
    ax = emb.plot()
    assert ax.get_title().startswith("factor 0")
    with pytest.raises(ValueError, match="2-D factor"):
        embed_graph(nx.path_graph(4), "E3", steps=2).plot()
    with pytest.raises(ValueError, match="loss"):
        embed_graph(nx.path_graph(4), "E2", loss="mse")
    with pytest.raises(ValueError, match="optimizer"):
        embed_graph(nx.path_graph(4), "E2", optimizer="lbfgs")
    with pytest.raises(ValueError, match="steps"):
        embed_graph(nx.path_graph(4), "E2", steps=0)
    with pytest.raises(ValueError, match="signature"):
        embed_graph(nx.path_graph(4), "H2xQ3")


@needs_data("hyperbolic_graphs")
def test_long_hyperbolic_run_on_a_real_tree_stays_finite():
    """1,500 default steps of H² on the phylogenetic tree pushed points onto the boundary (NaN loss at step
    ~1,400, which made ``make demo`` fail); hyperbolic points now stay within distance 20 of the origin."""
    D = load_hyperbolic_graph("phylo_tree")
    emb = embed_graph(D, "H2", steps=1500, seed=0)
    assert all(map(math.isfinite, emb.loss_history))
    radius = 2 * torch.atanh(emb.points.norm(dim=-1))  # κ = -1
    assert float(radius.max()) <= 20.0 + 1e-6
    assert emb.distortion() < 0.25


def _weighted_repo_loss(points, D, omega, scale=1.0):
    """Independent reference: Σ w (d_E / (s d_G) − 1)² / Σ w over pairs i < j, w = ω on edges (E² only; the
    κ = 0 stereographic model's distance is d_E = 2‖x_i − x_j‖, conformal factor 2)."""
    i, j = torch.triu_indices(D.shape[0], D.shape[0], 1)
    dg = D[i, j]
    dp = 2 * (points[i] - points[j]).pow(2).sum(-1).sqrt()
    w = torch.where(dg == 1, torch.full_like(dg, omega), torch.ones_like(dg))
    return float((w * (dp / (scale * dg) - 1).pow(2)).sum() / w.sum())


def _start(n):
    """embed_graph's starting points (seed 5, init_std 3): the first test checks its loss against them."""
    gen = torch.Generator().manual_seed(5)
    return ProductSpace("E2").random(n, 2, std=3.0, dtype=torch.float64, generator=gen)


def test_neighbour_weight_full_pairs_matches_the_weighted_formula():
    G = nx.karate_club_graph()
    D = graph_distances(G)
    kw = dict(steps=1, loss="repo", learnable_scale=False, init_std=3.0, seed=5)
    x0 = _start(34)
    for omega in (1.0, 10.0):
        emb = embed_graph(G, "E2", neighbour_weight=omega, **kw)
        assert emb.loss_history[0] == pytest.approx(_weighted_repo_loss(x0, D, omega), rel=1e-10)
    # init_scale is the starting s (and stays there when the scale is not learnt)
    emb = embed_graph(G, "E2", init_scale=2.5, **kw)
    assert emb.scale == 2.5
    assert emb.loss_history[0] == pytest.approx(_weighted_repo_loss(x0, D, 1.0, scale=2.5), rel=1e-10)
    # the weighting matters at this initialisation (else the checks below could not fail)
    assert _weighted_repo_loss(x0, D, 10.0) > 1.5 * _weighted_repo_loss(x0, D, 1.0)


@pytest.mark.parametrize("distances", ["dense", "sampled"])
def test_neighbour_weight_sampled_pairs_are_unbiased(distances):
    """With sampled pairs, neighbours are drawn with probability q: the batch losses average to the weighted
    all-pairs loss (points kept still by a negligible learning rate), not to the unweighted one."""
    G = nx.karate_club_graph()
    D = graph_distances(G)
    x0 = _start(34)
    kw = dict(steps=400, loss="repo", learnable_scale=False, init_std=3.0, seed=5, lr=1e-12)
    emb = embed_graph(
        G, "E2", neighbour_weight=10.0, full_pairs_max=0, batch_pairs=512, distances=distances, **kw
    )
    est = sum(emb.loss_history) / len(emb.loss_history)
    weighted, plain = _weighted_repo_loss(x0, D, 10.0), _weighted_repo_loss(x0, D, 1.0)
    assert est == pytest.approx(weighted, rel=0.05), (est, weighted, plain)
    unweighted = embed_graph(G, "E2", full_pairs_max=0, batch_pairs=512, distances=distances, **kw)
    est1 = sum(unweighted.loss_history) / len(unweighted.loss_history)
    assert est1 == pytest.approx(plain, rel=0.05), (est1, plain)


def test_neighbour_weight_and_init_scale_accept_numpy_scalars():
    G = nx.path_graph(5)
    emb = embed_graph(G, "E2", steps=2, neighbour_weight=np.float32(3.0), init_scale=np.float64(0.5))
    assert math.isfinite(emb.loss_history[-1])


def test_neighbour_weight_and_init_scale_errors():
    for bad in (0.5, 0, float("nan"), float("inf"), "2"):
        with pytest.raises(ValueError, match="neighbour_weight"):
            embed_graph(nx.path_graph(4), "E2", steps=1, neighbour_weight=bad)
    for bad in (0, -1.0, float("nan"), float("inf"), True, "flat"):
        with pytest.raises(ValueError, match="init_scale"):
            embed_graph(nx.path_graph(4), "E2", steps=1, init_scale=bad)
