"""Benchmark of the SPD batch norm (geomrep.manifolds.spd.SPDBatchNorm), CPU.

Forward+backward time per training batch (batch 30, n ∈ {12, 30, 93}, train mode, θ = 1, one BW
fixed-point step, variance to the mean) of

- the batched GBW layer (``metric="gbw"``, learnable M),
- the batched affine-invariant layer of the same class (``metric="aim"``, Brooks et al. 2019 + variance),
- the batched LieBN-style log-Euclidean layer (``metric="lem"``),
- the GBW layer under ``torch.compile`` (inductor; full mode only, compilation excluded),
- the per-matrix Python-loop twin of the same GBW math (``gbw_batchnorm_reference``: one
  ``torch.linalg.eigh`` per matrix function, as research code does) — the baseline; target ≥ 20×.

All are measured in the same run (median of repeats, warm-up excluded), in float64 (the reference
implementation's dtype) and float32. ``eigh floor`` is the time of the two batched ``eigh`` calls
the GBW layer cannot avoid, and ``loop / floor`` the speed-up that a batched layer doing nothing but
those would reach: an upper bound for any eigh-based CPU implementation. No GPU is used (none was
lent to this project's sessions so far).

Usage: ``python benchmarks/bench_spd.py [--quick] [--threads 2] [--device cpu|cuda]``. Writes
``benchmarks/results/spd.md`` (``spd_quick.md`` with ``--quick``, ``_cuda`` appended on a GPU) and
``benchmarks/results/spd_times*.png``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from geomrep.cli.spd import time_batchnorm  # noqa: E402
from geomrep.cli.table import format_table, markdown_table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = (
    "gbw layer ms",
    "gbw compiled ms",
    "aim layer ms",
    "lem layer ms",
    "per-matrix loop ms",
    "eigh floor ms",
)


def plot(rows: list[dict], path: Path, device: str = "cpu") -> None:
    dtypes = list(dict.fromkeys(r["dtype"] for r in rows))
    fig, axes = plt.subplots(1, len(dtypes), figsize=(5.5 * len(dtypes), 3.6), squeeze=False)
    for ax, dt in zip(axes[0], dtypes):
        sub = [r for r in rows if r["dtype"] == dt]
        x = np.arange(len(sub))
        cols = [c for c in COLUMNS if c in sub[0]]
        w = 0.8 / len(cols)
        for i, col in enumerate(cols):
            offset = (i - (len(cols) - 1) / 2) * w
            ax.bar(x + offset, [r[col] for r in sub], width=w, label=col.replace(" ms", ""))
        ax.set_xticks(x, [f"n={r['n']}" for r in sub])
        ax.set_yscale("log")
        ax.set_ylabel("fwd+bwd ms / batch of 30")
        ax.set_title(f"SPD batch norm, {device}, {dt}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _device_name(device: str) -> str:
    if torch.device(device).type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "CPU only (no GPU measured)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n in {12, 30}, float64, few repeats (< 30 s)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    sizes = (12, 30) if args.quick else (12, 30, 93)
    dtypes = (torch.float64,) if args.quick else (torch.float64, torch.float32)
    rows = []
    for dtype in dtypes:
        for n in sizes:
            rep, loop_rep = (3, 1) if args.quick else (15, 5)
            row = time_batchnorm(
                n, 30, dtype, repeats=rep, loop_repeats=loop_rep, compile=not args.quick, device=args.device
            )
            best = max(row["loop / gbw"], row.get("loop / gbw compiled", 0.0))
            row["target ≥ 20×"] = "met" if best >= 20 else "not met"
            rows.append(row)
            print(format_table([row]), flush=True)
    print()
    print(format_table(rows))
    suffix = ("_quick" if args.quick else "") + ("" if args.device == "cpu" else f"_{args.device}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = RESULTS / f"spd_times{suffix}.png"
    plot(rows, png, args.device)
    header = [
        "# SPD batch norm benchmark (`benchmarks/bench_spd.py`)",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
        f"torch.set_num_threads({args.threads}), torch {torch.__version__}, "
        f"device {_device_name(args.device)}",
        f"- mode: {'quick' if args.quick else 'full'}; total run time {time.perf_counter() - t0:.0f} s"
        " (inductor reuses its on-disk cache)",
        "- forward+backward per training batch of 30 SPD matrices (κ = 100), θ = 1, one fixed-point step;",
        "  ratios measured in the same run; `per-matrix loop` = `gbw_batchnorm_reference` (one eigh",
        "  per matrix function, torch autograd), the same math as the GBW layer (`max abs diff gbw-loop`",
        "  checks it).",
        "- the per-matrix loop is the baseline of the issue's ≥ 20× target; `eigh floor` = the two batched",
        "  `eigh` calls the GBW layer needs, `loop / floor (bound)` = the best ratio any eigh-based",
        "  batched implementation could reach on this machine.",
        "",
    ]
    (RESULTS / f"spd{suffix}.md").write_text(
        "\n".join(header) + "\n" + markdown_table(rows) + f"\n\n![times]({png.name})\n"
    )
    print(f"\nwrote {RESULTS / f'spd{suffix}.md'} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
