"""The grassmann CLI entries: checks pass, helpers agree with brute-force references, bench rows sane."""

import numpy as np
import torch

from geomrep.cli import REGISTRY, run_checks
from geomrep.cli.grassmann import feature_statistics, time_head, time_optimizer_steps


def test_registered_and_checks_pass():
    assert {"grassmann.logit_invariance", "grassmann.exp_log", "grassmann.dist_orthogonal"} <= set(
        REGISTRY.checks
    )
    assert "grassmann.digits" in REGISTRY.demos and "grassmann.head" in REGISTRY.benchmarks
    rows, ok = run_checks(["grassmann.*"])
    assert ok and len(rows) == 3


def test_feature_statistics_brute_force():
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(12, 5, generator=gen)
    y = torch.tensor([0, 1, 2] * 4)
    got = feature_statistics(f, y)
    fn = f.double().numpy() / np.linalg.norm(f.double().numpy(), axis=1, keepdims=True)
    within, total, angles = [], [], []
    for i in range(12):
        for j in range(12):
            if i == j:
                continue
            c = float(np.clip(fn[i] @ fn[j], -1, 1))
            total.append(1 - c)
            if y[i] == y[j]:
                within.append(1 - c)
                angles.append(np.degrees(np.arccos(c)))
    assert abs(got["variability"] - np.mean(angles)) < 1e-9
    assert abs(got["r2"] - (1 - np.mean(within) / np.mean(total))) < 1e-9
    # well-separated classes: R² near 1
    sep = torch.eye(5)[y] + 0.01 * torch.randn(12, 5, generator=gen)
    assert feature_statistics(sep, y)["r2"] > 0.95


def test_bench_helpers_smoke():
    row = time_head(16, 5, 2, 8, repeats=1)
    assert row["grassmann head ms"] > 0 and row["head / linear floor"] > 0
    row = time_optimizer_steps(16, 5, 2, repeats=1)
    assert row["GrassmannSGD ms"] > 0 and row["SGD ms"] > 0
