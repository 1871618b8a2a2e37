"""Benchmarks for geomrep.graphs (CPU).

1. Random feature propagation encoding (``AddRandomFeaturePropagationPE``, k = 16 columns, T = 16
   steps, QR and ℓ2 normalisation) vs PyG's ``AddLaplacianEigenvectorPE(k=16)`` (scipy ``eigsh``) on
   graphs of 10³ … 10⁶ nodes, two families: a random sparse expander (ring + random chords, where
   Lanczos converges fast) and a 2-D grid (mesh-like, small spectral gap). The eigen baseline runs in
   a child process with a time budget; past it the row gives a lower bound and larger sizes are
   skipped. Growth in edges: least-squares slope of log(time) vs log(edges).
2. ``SIRConv`` forward+backward vs ``GATv2Conv`` and ``GINConv`` at width 64.

Usage: ``python benchmarks/bench_graphs.py [--quick]``. Writes ``benchmarks/results/graphs.md`` and
``benchmarks/results/graphs_*.png``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from geomrep.cli.graphs import edge_slope, time_conv_forward_backward, time_rfp_vs_laplacian_pe  # noqa: E402
from geomrep.cli.table import format_table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown_table(rows: list[dict]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (< 30 s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    t_start = time.perf_counter()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    budget = 10.0 if args.quick else 45.0

    rfp_rows = []
    for family in ("random", "grid"):
        rows = time_rfp_vs_laplacian_pe(
            sizes, eig_budget_s=budget, repeats=2 if args.quick else 3, family=family, isolate=not args.quick
        )
        rfp_rows += rows
        print(format_table(rows), flush=True)
    slopes = []
    for family in ("random", "grid"):
        rows = [r for r in rfp_rows if r["graph"] == family]
        big = [r for r in rows if r["nodes"] >= 9_000]
        for key in ("rfp_qr s", "rfp_l2 s"):
            slopes.append(
                {
                    "graph": family,
                    "encoding": key.replace(" s", ""),
                    "slope (all sizes)": edge_slope(rows, key),
                    "slope (>= 10^4 nodes)": edge_slope(big, key) if len(big) >= 2 else "n/a",
                }
            )
    print(format_table(slopes), flush=True)

    conv_sizes = [5_000] if args.quick else [10_000, 100_000]
    conv_rows = []
    for n in conv_sizes:
        conv_rows += time_conv_forward_backward(n, width=64, repeats=3 if args.quick or n > 50_000 else 10)
    print(format_table(conv_rows), flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    _plot_rfp(rfp_rows, RESULTS / f"graphs_rfp_scaling{suffix}.png")
    _plot_conv(conv_rows, RESULTS / f"graphs_conv{suffix}.png")
    elapsed = time.perf_counter() - t_start
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    )
    text = [
        f"# geomrep.graphs benchmarks{' (quick)' if args.quick else ''}",
        "",
        f"Machine: {machine}, {torch.get_num_threads()} threads; date {datetime.date.today()}; "
        f"total run {elapsed:.0f} s. Medians of repeats, warm-up excluded (the eigen baseline is one call).",
        "",
        "## RFP encoding (k = 16, T = 16) vs AddLaplacianEigenvectorPE (k = 16)",
        "",
        "Eigen baseline: "
        + (
            "one in-process call (quick mode)."
            if args.quick
            else f"one call in a child process, stopped past a {budget:.0f} s budget."
        ),
        "",
        markdown_table(rfp_rows),
        "",
        "Growth of the RFP time with the number of edges (log-log slope; 1 = linear):",
        "",
        markdown_table(slopes),
        "",
        "## SIRConv forward+backward vs GATv2Conv / GINConv (width 64)",
        "",
        markdown_table(conv_rows),
        "",
    ]
    out = RESULTS / f"graphs{suffix}.md"
    out.write_text("\n".join(text))
    print(f"wrote {out} ({elapsed:.0f} s)")
    return 0


def _plot_rfp(rows, path):
    fig, ax = plt.subplots(figsize=(6, 4))
    for family, style in (("random", "-"), ("grid", "--")):
        rs = [r for r in rows if r["graph"] == family]
        for key, color in (("rfp_qr s", "C0"), ("rfp_l2 s", "C1"), ("lap_pe s", "C3")):
            pts = [(r["edges"], r[key]) for r in rs if isinstance(r[key], float)]
            if pts:
                ax.loglog(*zip(*pts), style, marker="o", color=color, label=f"{key[:-2]} ({family})")
    ax.set_xlabel("directed edges")
    ax.set_ylabel("seconds per graph")
    ax.set_title("RFP vs Laplacian eigenvector PE (k = 16)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _plot_conv(rows, path):
    fig, ax = plt.subplots(figsize=(6, 3))
    labels = [f"{r['layer']}\n{r['nodes']}" for r in rows]
    ax.bar(range(len(rows)), [r["fwd+bwd ms"] for r in rows], color=[f"C{i % 4}" for i in range(len(rows))])
    ax.set_xticks(range(len(rows)), labels, fontsize=6)
    ax.set_ylabel("forward+backward ms")
    ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
