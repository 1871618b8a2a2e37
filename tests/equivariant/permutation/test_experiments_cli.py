"""The experiments behind the demo/tutorial (tiny settings) and the CLI registrations."""

import torch

from geomrep.cli import run_benchmarks, run_checks
from geomrep.cli.registry import REGISTRY
from geomrep.equivariant.permutation.experiments import (
    GINClassifier,
    count_parameters,
    train_graph_classifier,
    train_vandermonde,
    vandermonde_sign_dataset,
)


def test_vandermonde_labels_and_twins():
    x, y = vandermonde_sign_dataset(4, 100, torch.Generator().manual_seed(0), dtype=torch.float64)
    pts = x[:, 0]
    ref = torch.tensor(
        [
            float(torch.prod(torch.stack([p[j] - p[i] for i in range(4) for j in range(i + 1, 4)])) > 0)
            for p in pts
        ],
        dtype=torch.float64,
    )
    assert torch.equal(y, ref)
    assert torch.equal(y[:50], 1 - y[50:])  # swapped twins have the opposite sign


def test_symmetric_network_is_at_chance_alternating_learns():
    sym = train_vandermonde(3, "symmetric", steps=30, num_train=200, num_test=200)
    # identical outputs on every twin pair: chance, exactly up to float rounding of logits at 0
    assert abs(sym["accuracy"] - 0.5) < 0.02
    alt = train_vandermonde(3, "alternating", steps=120, num_train=400, num_test=400)
    assert alt["accuracy"] > 0.75


def test_graph_classifier_runs_with_matched_parameters():
    from torch_geometric.data import Data

    gen = torch.Generator().manual_seed(0)
    graphs = []
    for i in range(12):
        n = 3 + i % 4
        ei = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
        x = torch.nn.functional.one_hot(torch.randint(0, 3, (n,), generator=gen), 3).float()
        graphs.append(Data(x=x, edge_index=torch.cat([ei, ei.flip(0)], 1), y=torch.tensor([i % 2])))
    ign = train_graph_classifier("ign", graphs[:8], graphs[8:], num_classes=2, epochs=1, hidden=4)
    gin = train_graph_classifier("gin", graphs[:8], graphs[8:], num_classes=2, epochs=1, hidden=4)
    assert 0.0 <= ign["accuracy"] <= 1.0 and 0.0 <= gin["accuracy"] <= 1.0
    width = gin["model"].gin.hidden_channels  # the GIN width closest to the 2-IGN's parameter count
    for other in (width - 1, width + 1):
        count = count_parameters(GINClassifier(3, other, 2, 3)) if other > 0 else 0
        assert abs(gin["params"] - ign["params"]) <= abs(count - ign["params"])


def test_cli_checks_pass_and_benchmark_runs():
    assert {"permutation.equivariance_symmetric", "permutation.fast_vs_dense"} <= set(REGISTRY.checks)
    assert {"permutation.vandermonde", "permutation.mutag"} <= set(REGISTRY.demos)
    rows, ok = run_checks(["permutation.*"])
    assert ok and len(rows) == 3
    rows, ok = run_benchmarks(["permutation.speed"], quick=True)
    assert ok and all(r["ours ms"] > 0 for r in rows)
