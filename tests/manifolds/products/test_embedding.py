"""embed_graph: a balanced tree embeds far better in H² than in E²; options, reproducibility, errors."""

import math

import matplotlib
import networkx as nx
import pytest
import torch

from geomrep.manifolds.products import ProductSpace, embed_graph, graph_distances

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


def test_long_hyperbolic_run_on_a_real_tree_stays_finite():
    """1,500 default steps of H² on the phylogenetic tree pushed points onto the boundary (NaN loss at step
    ~1,400, which made ``make demo`` fail); hyperbolic points now stay within distance 20 of the origin."""
    from geomrep.datasets import load_hyperbolic_graph

    try:
        D = load_hyperbolic_graph("phylo_tree")
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(f"hyperbolic_graphs data not available: {exc}")
    emb = embed_graph(D, "H2", steps=1500, seed=0)
    assert all(map(math.isfinite, emb.loss_history))
    radius = 2 * torch.atanh(emb.points.norm(dim=-1))  # κ = -1
    assert float(radius.max()) <= 20.0 + 1e-6
    assert emb.distortion() < 0.25
