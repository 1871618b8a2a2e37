"""Benchmark of geomrep.linalg matrix square roots: speed vs eigh, and error vs condition number.

- Speed: forward+backward time of ``sqrtm(A, method)`` for every method, as a ratio to the plain
  ``torch.linalg.eigh`` autograd baseline (``U diag(√λ) Uᵀ``) measured in the same interleaved rounds;
  batch 256, n ∈ {16, 32, 64, 128}, float32, CPU, ``torch.set_num_threads(2)``.
- Accuracy: relative Frobenius error of ``A^½`` and ``A^{-½}`` vs the float64 roots of the rounded
  input, κ ∈ {1e1 … 1e6}, float32 and float64, n = 64 (and n = 128 for the float32 targets).

Writes ``benchmarks/results/linalg.md`` and ``benchmarks/results/linalg_error_vs_cond.png``.
GPU ratios are not measured by this script unless run on a CUDA machine (``--device cuda``).

Usage: ``python benchmarks/bench_linalg.py [--quick] [--device cpu|cuda]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import torch

from geomrep.cli.linalg import BENCH_METHODS, root_errors, time_root_methods

RESULTS = Path(__file__).resolve().parent / "results"
CONDS = (1e1, 1e2, 1e3, 1e4, 1e5, 1e6)


def _fmt(x: float) -> str:
    return "nan" if x != x else f"{x:.1e}"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (< 30 s)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    t_start = time.perf_counter()

    sizes = (16, 32) if args.quick else (16, 32, 64, 128)
    batch = 32 if args.quick else 256
    rounds = 3 if args.quick else 7
    speed = {}
    for n in sizes:
        speed[n] = time_root_methods(n, batch, rounds=rounds if n < 128 else max(3, rounds - 2))
        print(f"n={n:4d} eigh {1e3 * speed[n]['eigh_seconds']:8.2f} ms  "
              + "  ".join(f"{m}={speed[n][m]:.2f}" for m in BENCH_METHODS), flush=True)

    conds = CONDS[::2] + (1e6,) if args.quick else CONDS
    n_err = 32 if args.quick else 64
    errors = {}
    for dtype in (torch.float32, torch.float64):
        for c in conds:
            errors[(dtype, c)] = root_errors(n_err, c, dtype=dtype, batch=4)
    big = {}
    if not args.quick:
        for c in (1e3, 1e4, 1e6):
            big[c] = root_errors(128, c, dtype=torch.float32, batch=4)

    # ---------------------------------------------------------------- plot
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    names = [*BENCH_METHODS[1:], "plain eigh"]
    for ax, dtype in zip(axes, (torch.float32, torch.float64)):
        for m in names:
            ys = [max(errors[(dtype, c)][m][0], 1e-17) for c in conds]
            ax.loglog(conds, ys, marker="o", label=m)
        ax.set_title(f"A^1/2, {str(dtype).replace('torch.', '')}, n = {n_err}")
        ax.set_xlabel("condition number κ")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("relative Frobenius error")
    axes[0].axhline(1e-4, color="k", lw=0.8, ls="--")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = "linalg_error_vs_cond_quick.png" if args.quick else "linalg_error_vs_cond.png"
    fig.savefig(RESULTS / png, dpi=80)  # --quick must not overwrite the full run's plot
    plt.close(fig)

    # ---------------------------------------------------------------- markdown
    lines = [
        "# geomrep.linalg: matrix square roots",
        "",
        f"Machine: `{platform.processor() or platform.machine()}`, {os.cpu_count()} cores visible, "
        f"`torch.set_num_threads(2)`, torch {torch.__version__}, device {args.device}, "
        f"{datetime.date.today().isoformat()}{' (quick mode)' if args.quick else ''}.",
        "",
        "**GPU ratios were not measured in this session** (no GPU available); `\"auto\"` selects `\"sns\"`",
        "on CUDA by an untested rule (see `geomrep.linalg.select_method`).",
        "",
        f"## Forward+backward time / plain `eigh` autograd (float32, batch {batch}, κ = 1e3)",
        "",
        "Median over interleaved rounds of the per-round ratio (the machine was shared with other jobs:",
        "expect noise of tens of percent).",
        "",
        "| n | eigh ms | " + " | ".join(BENCH_METHODS) + " |",
        "|---|---|" + "---|" * len(BENCH_METHODS),
    ]
    for n in sizes:
        r = speed[n]
        cells = " | ".join(f"{r[m]:.2f}" for m in BENCH_METHODS)
        lines.append(f"| {n} | {1e3 * r['eigh_seconds']:.2f} | {cells} |")
    for dtype in (torch.float32, torch.float64):
        tag = str(dtype).replace("torch.", "")
        lines += [
            "",
            f"## Relative error vs condition number, {tag}, n = {n_err} (A^½ / A^-½)",
            "",
            "| method | " + " | ".join(f"κ={c:.0e}" for c in conds) + " |",
            "|---|" + "---|" * len(conds),
        ]
        for m in names:
            cells = [f"{_fmt(errors[(dtype, c)][m][0])} / {_fmt(errors[(dtype, c)][m][1])}" for c in conds]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    if big:
        lines += [
            "",
            "## float32, n = 128 (A^½ / A^-½)",
            "",
            "| method | " + " | ".join(f"κ={c:.0e}" for c in big) + " |",
            "|---|" + "---|" * len(big),
        ]
        for m in names:
            cells = " | ".join(f"{_fmt(big[c][m][0])} / {_fmt(big[c][m][1])}" for c in big)
            lines.append(f"| {m} | {cells} |")
    lines += [
        "",
        "Reference: float32 inputs, float64 `eigh` of the rounded input; float64 inputs,",
        "`scipy.linalg.sqrtm` (Schur method) and its inverse.",
        "",
        "Methods: `eig` eigh + Daleckii–Krein backward; `sns` scaled Newton–Schulz sign iteration (ours,",
        "λ_max bound ‖A⁴‖_F^¼ scaling + Chen–Chow step scaling, design κ = 1e6); `ns` coupled",
        "Newton–Schulz, 5 steps; `mpa` Padé [5/5]; `mtp` Taylor degree 10 (the last three as published,",
        "Frobenius normalisation). All matmul-only methods use the scaled sign-iteration Lyapunov backward.",
        "`plain eigh` is the baseline's forward (no inverse root).",
        "",
        f"![error vs condition number]({png})",
        "",
        f"Total run time {time.perf_counter() - t_start:.0f} s.",
    ]
    name = "linalg_quick.md" if args.quick else "linalg.md"
    (RESULTS / name).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
