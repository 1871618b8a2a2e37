"""Benchmark of geomrep.manifolds.products on CPU: embedding step time vs graph size, pdist throughput.

- ``embed_graph`` seconds per Riemannian-Adam step on random trees of n nodes in (H²)⁵ (all pairs every
  step, and 65,536 sampled pairs per step for the largest n; and a 10⁵-node tree with BFS-sampled targets,
  ``distances="sampled"``, no n × n matrix): the cost of Gu et al.'s reproduction and of large graphs;
- chunked ``ProductSpace.pdist`` (row blocks of ≤ 4 Mi pair×coordinate intermediates) in million pairs
  per second vs the named baseline, a ``geoopt.ProductManifold`` of ``geoopt.Stereographic`` factors
  evaluated by broadcasting all pairs at once (same run, median of repeats, warm-up excluded), with the
  maximal difference of the two results;
- ``ProductSpace.pdist`` of 10⁴ points (10⁸ pairs, 800 MB output) in full mode: the bounded-memory claim.

Usage: ``python benchmarks/bench_products.py [--quick] [--threads 2]``. Writes
``benchmarks/results/products.md`` (``products_quick.md`` with ``--quick``) and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import time
from pathlib import Path

import torch

from geomrep.cli.products import time_embedding_step, time_pdist
from geomrep.cli.table import markdown_table
from geomrep.manifolds.products import ProductSpace

RESULTS = Path(__file__).resolve().parent / "results"


def big_pdist(n: int) -> dict:
    """Time and peak RSS of ``pdist`` on ``n`` points of (H²)⁵ (output ``n × n`` float64 included)."""
    space = ProductSpace("(H2)^5")
    x = space.random(n, space.dim, std=0.5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    D = space.pdist(x)
    dt = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n": n,
        "pairs": n * n,
        "seconds": dt,
        "output MB": D.numel() * 8 / 2**20,
        "peak RSS growth MB": rss1 - rss0,
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test; timings meaningless)")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = (64, 128) if args.quick else (256, 1024, 4096)
    reps = 1 if args.quick else 3
    step_rows = [time_embedding_step(n, repeats=reps) for n in sizes]
    step_rows.append(time_embedding_step(sizes[-1], sampled=True, repeats=reps))
    step_rows.append(time_embedding_step(2_000 if args.quick else 100_000, bfs=True, repeats=reps))
    pd_rows = [time_pdist(n, repeats=reps) for n in ((128,) if args.quick else (512, 2048))]
    big = [big_pdist(500 if args.quick else 10_000)]
    header = (
        f"# products benchmark{' (--quick smoke run: timings meaningless)' if args.quick else ''}\n\n"
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads\n"
    )
    text = "\n\n".join(
        [
            header,
            "## embed_graph: seconds per optimiser step ((H2)^5, random trees)\n\n"
            + markdown_table(step_rows),
            "## pdist throughput vs geoopt broadcasting\n\n" + markdown_table(pd_rows),
            "## pdist at scale (bounded intermediates)\n\n" + markdown_table(big),
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("products_quick.md" if args.quick else "products.md")
    out.write_text(text + "\n")
    print(text)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
