"""Benchmark of the Grassmann class head (geomrep.manifolds.grassmann), CPU or CUDA.

- Forward+backward time (gradients for the input and the weights) of ``GrassmannClassifier(d, C, k=8)``
  at batch 256 vs ``nn.Linear(d, k·C, bias=False)`` — the head's floor: the same GEMM without the norm —
  and vs a plain softmax head ``nn.Linear(d, C)``; d ∈ {512, 2048}, C ∈ {100, 1000}.
- Optimizer-step time on the same bases ``(C, d, k)`` and gradient: ``GrassmannSGD`` (the paper's update:
  projection, exact geodesic step; median over steps, so the QR every 5th step counts as an outlier)
  and geoopt's ``RiemannianSGD`` (QR retraction) vs ``torch.optim.SGD`` (no manifold), momentum 0.9.

Targets (issue 10): head ≤ 1.2× its ``Linear(d, k·C)`` floor; the geodesic step for C = 1000, d = 2048,
k = 8 ≤ 2× the head's forward+backward at batch 256. Everything is measured in the same run (median of
repeats, warm-up excluded), float32.

Usage: ``python benchmarks/bench_grassmann.py [--quick] [--threads 2] [--device cpu|cuda]``. Writes
``benchmarks/results/grassmann.md`` (``grassmann_quick.md`` with ``--quick``, ``_cuda`` appended on a GPU)
and prints the table. ``--quick`` is a smoke run (d = 512, C = 100, 3 repeats): its timings mean nothing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import torch

from geomrep.cli.grassmann import time_head, time_optimizer_steps
from geomrep.cli.table import format_table, markdown_table

RESULTS = Path(__file__).resolve().parent / "results"


def _device_name(device: str) -> str:
    if torch.device(device).type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "CPU only"


def run(quick: bool, device: str) -> tuple[list[dict], list[dict]]:
    """Head rows and optimizer-step rows."""
    configs = [(512, 100)] if quick else [(512, 100), (512, 1000), (2048, 100), (2048, 1000)]
    repeats = 3 if quick else 20
    head_rows, step_rows = [], []
    for d, C in configs:
        h = time_head(d, C, 8, 256, device=device, repeats=repeats)
        h["target ≤ 1.2× floor"] = "met" if h["head / linear floor"] <= 1.2 else "not met"
        head_rows.append(h)
        s = time_optimizer_steps(d, C, 8, device=device, repeats=repeats)
        s["geodesic step / head fwd+bwd"] = s["GrassmannSGD ms"] / h["grassmann head ms"]
        if (d, C) == (2048, 1000):
            s["target ≤ 2× head"] = "met" if s["geodesic step / head fwd+bwd"] <= 2 else "not met"
        step_rows.append(s)
        print(format_table([h]), flush=True)
        print(format_table([s]), flush=True)
    return head_rows, step_rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: d=512, C=100, 3 repeats")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    head_rows, step_rows = run(args.quick, args.device)
    print()
    print(format_table(head_rows))
    print()
    print(format_table(step_rows))
    suffix = ("_quick" if args.quick else "") + ("" if args.device == "cpu" else f"_{args.device}")
    header = [
        "# Grassmann head benchmark (`benchmarks/bench_grassmann.py`)",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
        f"torch.set_num_threads({args.threads}), torch {torch.__version__}, "
        f"device {_device_name(args.device)}",
        f"- mode: {'quick (smoke run: timings not meaningful)' if args.quick else 'full'}; "
        f"total run time {time.perf_counter() - t0:.0f} s",
        "- head: forward+backward (input and weight gradients) at batch 256, k = 8, float32;",
        "  `linear d→kC` is the head's floor (the same GEMM, no norm), `softmax d→C` a plain softmax head.",
        "- steps: one optimizer step on bases (C, d, 8) with momentum 0.9 (median over steps; GrassmannSGD's",
        "  QR every 5th step is an outlier of the median); targets from issue 10.",
        "",
        "## Head forward+backward",
        "",
        markdown_table(head_rows),
        "",
        "## Optimizer step",
        "",
        markdown_table(step_rows),
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"grassmann{suffix}.md"
    out.write_text("\n".join(header))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
