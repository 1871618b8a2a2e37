"""CLI registrations for :mod:`geomrep.graphs`: checks, a MUTAG demo and quick benchmarks.

The timing functions here are also used by ``benchmarks/bench_graphs.py`` (full sizes).
"""

from __future__ import annotations

import math
import multiprocessing
import queue as queue_module
import time
from pathlib import Path

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GATv2Conv, GINConv, global_add_pool
from torch_geometric.transforms import AddLaplacianEigenvectorPE

from ..datasets import load_tu_dataset
from ..graphs import AddRandomFeaturePropagationPE, SIRConv, propagation_operator, random_feature_propagation
from .registry import register_benchmark, register_check, register_demo
from .timing import time_fn

__all__ = [
    "random_sparse_graph",
    "grid_graph",
    "time_rfp_vs_laplacian_pe",
    "time_conv_forward_backward",
    "GraphClassifier",
]


# ----------------------------------------------------------------------------- helpers


def random_sparse_graph(num_nodes: int, extra_degree: int = 3, seed: int = 0) -> Tensor:
    """Undirected connected sparse test graph: a ring plus ``extra_degree · N`` random chords.

    About ``2 (1 + extra_degree) N`` directed edges (duplicates and self loops removed).
    """
    gen = torch.Generator().manual_seed(seed)
    n = num_nodes
    ring = torch.arange(n)
    src = torch.cat([ring, torch.randint(0, n, (extra_degree * n,), generator=gen)])
    dst = torch.cat([(ring + 1) % n, torch.randint(0, n, (extra_degree * n,), generator=gen)])
    keep = src != dst
    src, dst = src[keep], dst[keep]
    ids = torch.unique(torch.cat([src * n + dst, dst * n + src]))
    return torch.stack([ids // n, ids % n])


def grid_graph(num_nodes: int) -> Tensor:
    """2-D grid (mesh-like, small spectral gap) with about ``num_nodes`` nodes, both edge directions."""
    side = max(int(round(math.sqrt(num_nodes))), 2)
    idx = torch.arange(side * side).view(side, side)
    right = torch.stack([idx[:, :-1].reshape(-1), idx[:, 1:].reshape(-1)])
    down = torch.stack([idx[:-1, :].reshape(-1), idx[1:, :].reshape(-1)])
    ei = torch.cat([right, down], dim=1)
    return torch.cat([ei, ei.flip(0)], dim=1)


def _laplacian_pe_child(data: Data, k: int, queue) -> None:
    torch.set_num_threads(2)
    lap = AddLaplacianEigenvectorPE(k, attr_name="lap_pe", is_undirected=True)
    queue.put("ready")
    t0 = time.perf_counter()
    lap(data)
    queue.put(time.perf_counter() - t0)


def time_laplacian_pe(data: Data, k: int, budget_s: float) -> float | None:
    """Seconds of one ``AddLaplacianEigenvectorPE(k)`` call, run in a spawned child process that is
    stopped ``budget_s`` after it is ready (returns None then: the time exceeds the budget)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_laplacian_pe_child, args=(data, k, queue), daemon=True)
    proc.start()
    try:
        queue.get(timeout=120.0)  # child imported and ready
        return float(queue.get(timeout=budget_s))
    except queue_module.Empty:
        return None
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()


def time_rfp_vs_laplacian_pe(
    sizes: list[int],
    *,
    k: int = 16,
    steps: int = 16,
    eig_budget_s: float = 60.0,
    repeats: int = 3,
    family: str = "random",
    isolate: bool = True,
) -> list[dict]:
    """Time :class:`AddRandomFeaturePropagationPE` (k columns, QR and ℓ2) vs ``AddLaplacianEigenvectorPE(k)``.

    The eigen baseline runs in a child process stopped after ``eig_budget_s`` (the row then reports
    a lower bound) and is skipped for larger graphs once it ran out of budget. ``family``:
    ``"random"`` (:func:`random_sparse_graph`, an expander: Lanczos converges fast) or ``"grid"``
    (:func:`grid_graph`, small spectral gap). ``isolate=False`` runs the baseline in-process
    without a budget (small sizes only: saves the child's start-up).
    """
    if family not in ("random", "grid"):
        raise ValueError(f"family must be 'random' or 'grid', got {family!r}")
    rows = []
    eig_over = False
    for n in sizes:
        ei = random_sparse_graph(n) if family == "random" else grid_graph(n)
        n = int(ei.max()) + 1
        data = Data(edge_index=ei, num_nodes=n)
        reps = repeats if n <= 100_000 else 1
        row = {"graph": family, "nodes": n, "edges": ei.size(1)}
        for norm in ("qr", "l2"):
            t = AddRandomFeaturePropagationPE(k, steps, normalization=norm, seed=0)
            row[f"rfp_{norm} s"] = time_fn(
                lambda t=t, d=data: t(d.clone()), warmup=1 if n <= 100_000 else 0, repeats=reps
            )
        if eig_over:
            row["lap_pe s"] = f"skipped (> {eig_budget_s:.0f} s at a smaller size)"
            row["speedup (qr)"] = "-"
        else:
            if isolate:
                t_eig = time_laplacian_pe(data, k, eig_budget_s)
            else:
                lap = AddLaplacianEigenvectorPE(k, attr_name="lap_pe", is_undirected=True)
                t_eig = time_fn(lambda lap=lap, d=data: lap(d.clone()), warmup=0, repeats=1)
            if t_eig is None:
                eig_over = True
                row["lap_pe s"] = f"> {eig_budget_s:.0f} (stopped)"
                row["speedup (qr)"] = f">= {eig_budget_s / row['rfp_qr s']:.0f}"
            else:
                row["lap_pe s"] = t_eig
                row["speedup (qr)"] = t_eig / row["rfp_qr s"]
        rows.append(row)
    return rows


def edge_slope(rows: list[dict], key: str = "rfp_qr s") -> float:
    """Least-squares slope of log(time) against log(edges): 1 means linear growth."""
    xs = [math.log(r["edges"]) for r in rows]
    ys = [math.log(r[key]) for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / max(sum((x - mx) ** 2 for x in xs), 1e-12)


def time_conv_forward_backward(
    num_nodes: int, width: int = 64, repeats: int = 5, seed: int = 0
) -> list[dict]:
    """Forward+backward time of SIRConv (sum, max) vs GATv2Conv and GINConv at equal width."""
    torch.manual_seed(seed)
    ei = random_sparse_graph(num_nodes, seed=seed)
    x = torch.randn(num_nodes, width, requires_grad=True)
    convs = {
        "GATv2Conv": GATv2Conv(width, width, heads=1, add_self_loops=False),
        "GINConv": GINConv(nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))),
        "SIRConv(sum)": SIRConv(width, width, aggr="sum"),
        "SIRConv(max)": SIRConv(width, width, aggr="max"),
    }
    times = {}
    for name, conv in convs.items():

        def step(conv=conv):
            conv.zero_grad(set_to_none=True)
            conv(x, ei).square().mean().backward()

        times[name] = time_fn(step, warmup=2, repeats=repeats)
    base = times["GATv2Conv"]
    return [
        {"nodes": num_nodes, "edges": ei.size(1), "layer": name, "fwd+bwd ms": 1e3 * t, "vs GATv2": t / base}
        for name, t in times.items()
    ]


class GraphClassifier(nn.Module):
    """Small graph-level model: input projection, ``layers`` × (conv + residual + ReLU), sum pooling, MLP.

    ``conv`` is ``"gin"`` or ``"sir"``; ``pe_dim`` extra positional-encoding columns are projected
    and added to the node embedding.
    """

    def __init__(
        self, in_dim: int, hidden: int, out_dim: int, conv: str = "sir", layers: int = 3, pe_dim: int = 0
    ):
        super().__init__()
        self.inp = nn.Linear(in_dim, hidden)
        self.pe = nn.Linear(pe_dim, hidden) if pe_dim else None
        if conv == "gin":
            self.convs = nn.ModuleList(
                GINConv(nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden)))
                for _ in range(layers)
            )
        elif conv == "sir":
            self.convs = nn.ModuleList(SIRConv(hidden, hidden, aggr="sum") for _ in range(layers))
        else:
            raise ValueError(f"conv must be 'gin' or 'sir', got {conv!r}")
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, x, edge_index, batch, pe=None):
        h = self.inp(x)
        if self.pe is not None:
            h = h + self.pe(pe)
        for conv in self.convs:
            h = torch.relu(h + conv(h, edge_index))
        return self.head(global_add_pool(h, batch))


# ----------------------------------------------------------------------------- checks


def _ring_of_cliques(num_cliques: int, size: int) -> Tensor:
    edges = []
    for c in range(num_cliques):
        base = c * size
        edges += [(base + i, base + j) for i in range(size) for j in range(size) if i != j]
        nxt = ((c + 1) % num_cliques) * size
        edges += [(base + size - 1, nxt), (nxt, base + size - 1)]
    return torch.tensor(edges).T


@register_check(
    "graphs.sir_permutation",
    tol={torch.float32: 1e-5, torch.float64: 1e-12},
    description="SIRConv(P·x, P·edge_index) == P·SIRConv(x, edge_index), all aggregations",
)
def _check_sir_permutation(dtype: torch.dtype, generator: torch.Generator) -> float:
    n = 30
    ei = random_sparse_graph(n, seed=int(torch.randint(0, 10**6, (1,), generator=generator)))
    x = torch.randn(n, 8, generator=generator, dtype=dtype)
    g = torch.randperm(n, generator=generator)
    inv = torch.empty_like(g)
    inv[g] = torch.arange(n)
    err = 0.0
    for aggr in ("sum", "mean", "max", "sym"):
        torch.manual_seed(int(torch.randint(0, 10**6, (1,), generator=generator)))
        conv = SIRConv(8, 8, aggr=aggr).to(dtype)
        with torch.no_grad():
            out = conv(x, ei)
            out_p = conv(x[g], inv[ei])
        err = max(err, float((out_p - out[g]).abs().max() / out.abs().max().clamp_min(1e-30)))
    return err


@register_check(
    "graphs.rfp_permutation",
    tol={torch.float32: 1e-4, torch.float64: 1e-10},
    description="RFP (QR) with permuted graph and start == permuted RFP",
)
def _check_rfp_permutation(dtype: torch.dtype, generator: torch.Generator) -> float:
    ei = _ring_of_cliques(4, 6)
    n = 24
    x0 = torch.randn(n, 2, 4, generator=generator, dtype=dtype)
    g = torch.randperm(n, generator=generator)
    inv = torch.empty_like(g)
    inv[g] = torch.arange(n)
    kw = dict(num_features=4, steps=8, num_inits=2, normalization="qr")
    out = random_feature_propagation(ei, x0=x0, **kw)
    out_p = random_feature_propagation(inv[ei], x0=x0[g], **kw)
    return float((out_p - out[g]).abs().max())


@register_check(
    "graphs.rfp_top_eigenvectors",
    tol={torch.float32: 1e-3, torch.float64: 1e-7},
    description="long QR-normalised RFP trajectory spans the top-k eigenvectors (sin of largest angle)",
)
def _check_rfp_eigenvectors(dtype: torch.dtype, generator: torch.Generator) -> float:
    ei = _ring_of_cliques(4, 6)
    P = propagation_operator(ei, operator="laplacian", dtype=torch.float64).to_dense()
    vecs = torch.linalg.eigh(P).eigenvectors[:, -4:]  # top-4 (eigenvalues ascending)
    x0 = torch.randn(24, 4, generator=generator, dtype=dtype)
    out = random_feature_propagation(
        ei, x0=x0, num_features=4, steps=300, operator="laplacian", normalization="qr"
    )
    q = out[:, 0, -4:].double()
    # sin of the largest principal angle = ‖(I - V Vᵀ) Q‖₂ for orthonormal Q, V
    return float(torch.linalg.matrix_norm(q - vecs @ (vecs.T @ q), ord=2))


# ----------------------------------------------------------------------------- demo


@register_demo(
    "graphs.mutag",
    description="MUTAG graph classification: SIR-GCN + RFP encoding vs GIN (no PE), test accuracy",
)
def _demo_mutag(outdir: Path, quick: bool) -> list[dict]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # optional dependency ([tutorials] extra): imported on use

    torch.manual_seed(0)
    ds = load_tu_dataset("MUTAG")
    rfp = AddRandomFeaturePropagationPE(8, 4, normalization="qr", seed=0)
    graphs = [rfp(ds[i].clone()) for i in range(len(ds))]
    perm = torch.randperm(len(graphs), generator=torch.Generator().manual_seed(0)).tolist()
    train = [graphs[i] for i in perm[:150]]
    test = [graphs[i] for i in perm[150:]]
    epochs = 15 if quick else 40
    rows, curves = [], {}
    for name, conv, pe_dim in (("GIN (no PE)", "gin", 0), ("SIR-GCN + RFP", "sir", 40)):
        torch.manual_seed(0)
        model = GraphClassifier(7, 32, 2, conv=conv, layers=3, pe_dim=pe_dim)
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        curve = []
        for _ in range(epochs):
            model.train()
            for b in DataLoader(train, batch_size=32, shuffle=True):
                opt.zero_grad()
                out = model(b.x, b.edge_index, b.batch, b.rfp_pe if pe_dim else None)
                nn.functional.cross_entropy(out, b.y).backward()
                opt.step()
            curve.append(_accuracy(model, test, pe_dim))
        curves[name] = curve
        rows.append(
            {"model": name, "metric": "test accuracy", "value": round(curve[-1], 3), "epochs": epochs}
        )
    fig, ax = plt.subplots(figsize=(5, 3))
    for name, curve in curves.items():
        ax.plot(range(1, epochs + 1), curve, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (38 graphs)")
    ax.set_title("MUTAG")
    ax.legend()
    fig.tight_layout()
    fig.savefig(Path(outdir) / "graphs_mutag.png", dpi=80)
    plt.close(fig)
    return rows


def _accuracy(model, graphs, pe_dim) -> float:
    model.eval()
    with torch.no_grad():
        b = next(iter(DataLoader(graphs, batch_size=len(graphs))))
        out = model(b.x, b.edge_index, b.batch, b.rfp_pe if pe_dim else None)
        return float((out.argmax(1) == b.y).float().mean())


# ----------------------------------------------------------------------------- benchmarks


@register_benchmark(
    "graphs.rfp_vs_laplacian_pe",
    description="AddRandomFeaturePropagationPE (k=16, T=16) vs AddLaplacianEigenvectorPE (k=16) time",
)
def _bench_rfp(quick: bool) -> list[dict]:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    rows = []
    for family in ("random", "grid"):
        rows += time_rfp_vs_laplacian_pe(
            sizes, eig_budget_s=60.0, repeats=2 if quick else 3, family=family, isolate=not quick
        )
    return [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows]


@register_benchmark(
    "graphs.sir_vs_gatv2",
    description="SIRConv forward+backward vs GATv2Conv / GINConv at width 64",
)
def _bench_sir(quick: bool) -> list[dict]:
    rows = time_conv_forward_backward(5_000 if quick else 50_000, repeats=3 if quick else 10)
    return [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in rows]
