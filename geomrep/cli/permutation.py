"""CLI registrations for :mod:`geomrep.equivariant.permutation`: checks, demos and a benchmark.

The demos are the two experiments of ``tutorials/alternating_layers.ipynb``: the sign of the
Vandermonde product of a set (A_n learns it, S_n provably cannot) and a 2-IGN against GIN on MUTAG.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ..datasets import load_tu_dataset
from ..equivariant.permutation import (
    PermutationEquivariantLinear,
    equivariant_basis,
    permutation_equivariant_linear,
)
from ..equivariant.permutation.experiments import train_graph_classifier, train_vandermonde
from ..equivariant.permutation.reference import DenseBasisLinear, MaronLinear2to2
from ..testing import permutation_action, random_permutation
from .registry import register_benchmark, register_check, register_demo
from .timing import time_fn

__all__: list[str] = []


# ----------------------------------------------------------------------------- checks
def _equivariance_error(n, k, l, group, dtype, generator) -> float:  # noqa: E741
    layer = PermutationEquivariantLinear(n, k, l, 3, 4, group=group, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator, dtype=torch.float64))
        layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator, dtype=torch.float64))
    layer = layer.to(dtype)
    x = torch.randn(5, 3, *[n] * k, generator=generator, dtype=dtype)
    worst = 0.0
    with torch.no_grad():
        y = layer(x)
        for _ in range(4):
            g = random_permutation(n, even=group == "alternating", generator=generator)
            y_g = layer(permutation_action(k)(g, x))
            err = (y_g - permutation_action(l)(g, y)).abs().max() / y.abs().max()
            worst = max(worst, float(err))
    return worst


@register_check(
    "permutation.equivariance_symmetric",
    tol={torch.float32: 1e-5, torch.float64: 1e-12},
    description="2→2 S_n layer (n = 7) commutes with random permutations (relative error)",
)
def _check_symmetric(dtype: torch.dtype, generator: torch.Generator) -> float:
    return _equivariance_error(7, 2, 2, "symmetric", dtype, generator)


@register_check(
    "permutation.equivariance_alternating",
    tol={torch.float32: 1e-5, torch.float64: 1e-12},
    description="2→2 A_n layer (n = 4, with ε maps) commutes with random even permutations (relative)",
)
def _check_alternating(dtype: torch.dtype, generator: torch.Generator) -> float:
    return _equivariance_error(4, 2, 2, "alternating", dtype, generator)


@register_check(
    "permutation.fast_vs_dense",
    tol={torch.float32: 1e-5, torch.float64: 1e-12},
    description="fast apply = dense basis matrices, n ≤ 5, k + l ≤ 4, both groups (relative error)",
)
def _check_fast_vs_dense(dtype: torch.dtype, generator: torch.Generator) -> float:
    worst = 0.0
    for n in range(1, 6):
        for m in range(5):
            for k in range(m + 1):
                for group in ("symmetric", "alternating"):
                    l = m - k  # noqa: E741
                    basis = equivariant_basis(n, k, l, group, dtype=torch.float64)
                    x = torch.randn(2, 2, *[n] * k, generator=generator, dtype=torch.float64)
                    w = torch.randn(3, 2, basis.shape[0], generator=generator, dtype=torch.float64)
                    ref = torch.einsum("bIJ,zcJ,ocb->zoI", basis, x.reshape(2, 2, -1), w).reshape(
                        2, 3, *[n] * l
                    )
                    y = permutation_equivariant_linear(x.to(dtype), w.to(dtype), n=n, k=k, l=l, group=group)
                    worst = max(worst, float((y.double() - ref).abs().max() / ref.abs().max()))
    return worst


# ----------------------------------------------------------------------------- demos
@register_demo(
    "permutation.vandermonde",
    description="sign of ∏(x_j − x_i) of a set: A_n network vs S_n network (S_n provably at chance)",
)
def _demo_vandermonde(outdir: Path, quick: bool) -> list[dict]:
    rows = []
    steps, seeds = (120, (0,)) if quick else (300, (0, 1, 2))
    for n in (3,) if quick else (3, 4):
        for group in ("alternating", "symmetric"):
            accs, t0 = [], time.perf_counter()
            for seed in seeds:
                res = train_vandermonde(n, group, seed=seed, steps=steps)
                accs.append(res["accuracy"])
            rows.append(
                {
                    "n": n,
                    "group": group,
                    "test accuracy (mean)": sum(accs) / len(accs),
                    "min": min(accs),
                    "max": max(accs),
                    "seeds": len(seeds),
                    "params": res["params"],
                    "seconds": time.perf_counter() - t0,
                }
            )
    return rows


@register_demo(
    "permutation.mutag", description="MUTAG: 2-IGN of S_n layers vs PyG GIN at equal parameter count"
)
def _demo_mutag(outdir: Path, quick: bool) -> list[dict]:
    ds = load_tu_dataset("MUTAG")
    epochs, seeds = (5, (0,)) if quick else (40, (0, 1, 2))
    rows = []
    for kind in ("ign", "gin"):
        accs, t0 = [], time.perf_counter()
        for seed in seeds:
            perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed)).tolist()
            graphs = [ds[i] for i in perm]
            split = int(0.8 * len(graphs))
            res = train_graph_classifier(
                kind, graphs[:split], graphs[split:], num_classes=2, epochs=epochs, seed=seed
            )
            accs.append(res["accuracy"])
        rows.append(
            {
                "model": "2-IGN (ours)" if kind == "ign" else "GIN (PyG)",
                "test accuracy (mean)": sum(accs) / len(accs),
                "min": min(accs),
                "max": max(accs),
                "seeds": len(seeds),
                "params": res["params"],
                "seconds": time.perf_counter() - t0,
            }
        )
    return rows


# ----------------------------------------------------------------------------- benchmark
@register_benchmark(
    "permutation.speed",
    description="2→2 S_n layer fwd+bwd: ours vs dense basis vs Maron et al.'s 15-op layer",
)
def _bench(quick: bool) -> list[dict]:
    rows = []
    batch, channels = (8, 8) if quick else (32, 32)
    for n in (8, 16) if quick else (8, 16, 32):
        x = torch.randn(batch, channels, n, n, requires_grad=True)
        grad = torch.randn_like(x)
        models = {
            "ours": PermutationEquivariantLinear(n, 2, 2, channels, channels),
            "maron": MaronLinear2to2(channels, channels),
            "dense": DenseBasisLinear(n, 2, 2, channels, channels),
        }
        row = {"n": n, "batch": batch, "channels": channels}
        for name, model in models.items():

            def step(model=model, x=x, grad=grad):
                model(x).backward(grad)

            row[f"{name} ms"] = 1e3 * time_fn(step, warmup=1, repeats=3 if quick else 7)
        row["maron / ours"] = row["maron ms"] / row["ours ms"]
        row["dense / ours"] = row["dense ms"] / row["ours ms"]
        rows.append(row)
    return rows
