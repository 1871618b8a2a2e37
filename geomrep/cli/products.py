"""CLI registrations for :mod:`geomrep.manifolds.products`: property checks, an embedding demo, benchmarks.

- checks ``products.mobius_isometry`` (distances invariant under per-factor Möbius translations and
  rotations), ``products.kappa_continuity`` (values and gradients at κ = ±1e-9 vs κ = 0),
  ``products.ambient_isometry`` (hyperboloid/sphere distances for |κ| ∉ {0, 1}), ``products.exp_log``;
- demo ``products.graph_embedding``: the phylogenetic tree of Sala et al. (344 nodes) embedded in E², H² (and
  S², H¹×S¹ in full mode): D_avg, mAP, a Poincaré-disk plot;
- benchmarks ``products.embedding_step`` (seconds per optimiser step vs graph size, full and sampled
  pairs) and ``products.pdist`` (chunked pairwise distances: pairs/s vs a geoopt ProductManifold of
  ``geoopt.Stereographic`` factors evaluated by broadcasting, the named baseline).

The graphs come from :func:`geomrep.datasets.load_hyperbolic_graph`.
"""

from __future__ import annotations

import time
from pathlib import Path

import geoopt
import numpy as np
import scipy.sparse as sp
import torch

from ..datasets.hyperbolic_graphs import load_hyperbolic_graph
from ..manifolds.products import ProductSpace, embed_graph, graph_distances
from ..manifolds.products import stereographic as st
from .registry import register_benchmark, register_check, register_demo
from .table import round_sig
from .timing import time_fn

__all__ = ["time_embedding_step", "time_pdist"]

# ---------------------------------------------------------------------------------------------- checks
_TOL = {torch.float32: 5e-5, torch.float64: 1e-10}
_SIG = "H2(-0.7)xS3(1.3)xE2xH3(-2.2)"


def _points(space: ProductSpace, n: int, dtype, gen) -> torch.Tensor:
    return space.random(n, space.dim, std=0.8, dtype=torch.float64, generator=gen).to(dtype)


@register_check(
    "products.mobius_isometry",
    tol=_TOL,
    description="d(g·x, g·y) == d(x, y), g = per-factor Möbius translation + rotation (relative)",
)
def _check_isometry(dtype, gen):
    space = ProductSpace(_SIG)
    x, y = _points(space, 32, dtype, gen), _points(space, 32, dtype, gen)
    parts = []
    for f, xi, yi in zip(space.factors, space.split(x), space.split(y)):
        Q = torch.linalg.qr(torch.randn(f.dim, f.dim, dtype=torch.float64, generator=gen))[0].to(dtype)
        a = (0.4 * torch.randn(f.dim, dtype=torch.float64, generator=gen)).to(dtype)
        if f.k == 0:
            parts.append(((xi + a) @ Q.T, (yi + a) @ Q.T))
        else:
            parts.append(
                (st.mobius_add(a.expand_as(xi), xi, f.k) @ Q.T, st.mobius_add(a.expand_as(yi), yi, f.k) @ Q.T)
            )
    gx = torch.cat([p[0] for p in parts], -1)
    gy = torch.cat([p[1] for p in parts], -1)
    d = space.dist(x, y)
    return float(((space.dist(gx, gy) - d).abs() / d).max())


@register_check(
    "products.kappa_continuity",
    tol={torch.float32: 1e-5, torch.float64: 1e-7},
    description="dist/exp/log and their gradients at κ = ±1e-9 vs κ = 0 (max relative difference)",
)
def _check_kappa(dtype, gen):
    x = (0.5 * torch.randn(16, 3, dtype=torch.float64, generator=gen)).to(dtype)
    y = (0.5 * torch.randn(16, 3, dtype=torch.float64, generator=gen)).to(dtype)

    def run(k):
        kk = torch.tensor(k, dtype=dtype, requires_grad=True)
        xx = x.clone().requires_grad_(True)
        out = st.dist(xx, y, kk).sum() + st.logmap(xx, y, kk).sum() + st.expmap(xx, 0.3 * y, kk).sum()
        out.backward()
        return torch.cat([out.detach().reshape(1), xx.grad.flatten(), kk.grad.reshape(1)])

    ref = run(0.0)
    return max(float(((run(k) - ref).abs() / ref.abs().clamp_min(1)).max()) for k in (1e-9, -1e-9))


@register_check(
    "products.ambient_isometry",
    tol={torch.float32: 1e-4, torch.float64: 1e-9},
    description="arccosh/arccos distances of to_ambient points == stereographic distances, |κ| ∉ {0, 1}",
)
def _check_ambient(dtype, gen):
    errs = []
    for k in (-3.3, -0.27, 0.41, 2.6):
        space = ProductSpace([(k, 3)])
        x, y = _points(space, 32, torch.float64, gen), _points(space, 32, torch.float64, gen)
        a, b = space.to_ambient(x.to(dtype)).double(), space.to_ambient(y.to(dtype)).double()
        R2 = 1 / abs(k)
        if k < 0:
            ip = -a[:, 0] * b[:, 0] + (a[:, 1:] * b[:, 1:]).sum(-1)
            ref = R2**0.5 * torch.acosh((-ip / R2).clamp_min(1))
        else:
            ref = R2**0.5 * torch.acos(((a * b).sum(-1) / R2).clamp(-1, 1))
        d = space.dist(x, y)
        errs.append(float(((ref - d).abs() / d).max()))
    return max(errs)


@register_check(
    "products.exp_log",
    tol={torch.float32: 2e-4, torch.float64: 1e-10},
    description="exp_x(log_x y) == y on H×S×E×H (max abs / max |y|)",
)
def _check_exp_log(dtype, gen):
    space = ProductSpace(_SIG)
    x, y = _points(space, 32, dtype, gen), _points(space, 32, dtype, gen)
    return float((space.expmap(x, space.logmap(x, y)) - y).abs().max() / y.abs().max())


# ---------------------------------------------------------------------------------------------- demo
@register_demo(
    "products.graph_embedding",
    description="phylo tree: D_avg and mAP in E², H² (S², H¹×S¹ in full mode), Poincaré-disk plot",
)
def _demo(outdir: Path, quick: bool) -> list[dict]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # optional dependency ([tutorials] extra): imported on use

    name = "phylo_tree"
    D = load_hyperbolic_graph(name)
    sigs = ["E2", "H2"] if quick else ["E2", "H2", "S2", "H1xS1"]
    steps = 500 if quick else 1500  # short runs favour E²: the tree needs the points to spread out in H²
    rows, embs = [], {}
    for sig in sigs:
        t0 = time.perf_counter()
        emb = embed_graph(D, sig, steps=steps, seed=0)
        embs[sig] = emb
        rows.append(
            {
                "graph": name,
                "n": D.shape[0],
                "signature": sig,
                "steps": steps,
                "D_avg": round(emb.distortion(), 4),
                "mAP": round(emb.map_score(), 4),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
    if "H2" in embs:
        ax = embs["H2"].plot(edges=True)
        ax.figure.savefig(Path(outdir) / f"products_{name}_poincare.png", dpi=80)
        plt.close(ax.figure)
    return rows


# ---------------------------------------------------------------------------------------------- benchmarks
def time_embedding_step(
    n: int, signature: str = "(H2)^5", *, sampled: bool = False, bfs: bool = False, repeats: int = 3
) -> dict:
    """Seconds per :func:`embed_graph` optimiser step on a random tree of ``n`` nodes (median of repeats).

    ``sampled``: 65,536 uniformly sampled pairs per step from the all-pairs matrix; ``bfs``: 65,536 pairs per
    step whose targets come from BFS of 32 random sources (``distances="sampled"``; no ``n × n`` matrix).
    """
    rng = np.random.default_rng(0)
    parents = rng.integers(0, np.arange(1, n))
    A = sp.csr_matrix((np.ones(n - 1), (np.arange(1, n), parents)), shape=(n, n))
    if bfs:
        target, kw, pairs = A, {"distances": "sampled", "batch_pairs": 65536}, "BFS-sampled 65536"
    else:
        target = graph_distances(A)
        kw = {"full_pairs_max": 0, "batch_pairs": 65536} if sampled else {}
        pairs = "sampled 65536" if sampled else "all"
    # time k steps and 1 step; the difference removes the set-up cost
    t_one = time_fn(lambda: embed_graph(target, signature, steps=1, **kw), warmup=1, repeats=repeats)
    t_many = time_fn(lambda: embed_graph(target, signature, steps=6, **kw), warmup=0, repeats=repeats)
    return {"n": n, "signature": signature, "pairs": pairs, "s / step": (t_many - t_one) / 5}


def time_pdist(n: int, signature: str = "(H2)^5", *, repeats: int = 3) -> dict:
    """Pairwise distances of ``n`` points: chunked :meth:`ProductSpace.pdist` vs geoopt broadcasting."""
    space = ProductSpace(signature)
    x = space.random(n, space.dim, std=0.5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    base = geoopt.ProductManifold(*[(geoopt.Stereographic(f.k), f.dim) for f in space.factors])
    ours = time_fn(lambda: space.pdist(x), warmup=1, repeats=repeats)
    theirs = time_fn(lambda: base.dist(x[:, None, :], x[None, :, :]), warmup=1, repeats=repeats)
    diff = float((space.pdist(x) - base.dist(x[:, None, :], x[None, :, :])).abs().max())
    pairs = n * n
    return {
        "n": n,
        "signature": signature,
        "pdist Mpairs/s": pairs / ours / 1e6,
        "geoopt Mpairs/s": pairs / theirs / 1e6,
        "geoopt / ours time": theirs / ours,
        "max abs diff": diff,
    }


@register_benchmark("products.embedding_step", description="embed_graph seconds per step vs graph size")
def _bench_step(quick: bool) -> list[dict]:
    sizes = (64, 256) if quick else (256, 1024, 4096)
    rows = [time_embedding_step(n, repeats=1 if quick else 3) for n in sizes]
    rows.append(time_embedding_step(sizes[-1], sampled=True, repeats=1 if quick else 3))
    rows.append(time_embedding_step(2_000 if quick else 100_000, bfs=True, repeats=1 if quick else 3))
    return [{k: round_sig(v) for k, v in r.items()} for r in rows]


@register_benchmark("products.pdist", description="chunked product pdist throughput vs geoopt broadcasting")
def _bench_pdist(quick: bool) -> list[dict]:
    sizes = (128,) if quick else (512, 2048)
    return [{k: round_sig(v) for k, v in time_pdist(n, repeats=1 if quick else 5).items()} for n in sizes]
