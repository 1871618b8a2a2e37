"""S_n-equivariant 2→2 layers: forward+backward time and peak memory, ours vs dense basis vs Maron et al.

Compares, for ``k = l = 2``, batch 64, 32 → 32 channels, float32, n ∈ {8, 16, 32, 64, 128}:

- ``ours``: :class:`geomrep.equivariant.permutation.PermutationEquivariantLinear` (sums, diagonals and
  broadcasts; channels contracted before the output embedding);
- ``dense``: :class:`~geomrep.equivariant.permutation.reference.DenseBasisLinear`, multiplying by the 15
  dense ``n² × n²`` basis matrices (Pearce-Crump's method; the matrices are kept on the device, which
  favours it). Skipped where the basis alone would exceed ``--dense-limit-gb``; its memory is then
  extrapolated as ``15 · n⁴ · 4`` bytes in the plot;
- ``maron``: :class:`~geomrep.equivariant.permutation.reference.MaronLinear2to2`, a port of Maron et
  al.'s layer (15 operations stacked into a tensor 15× the activations, then one einsum).

Time: median wall time of forward + backward (warm-up excluded). Peak memory: on CUDA
``torch.cuda.max_memory_allocated`` above the pre-call level; on CPU the running maximum of the
allocator trace recorded by ``torch.profiler`` (``profile_memory=True``, op granularity), inputs and
parameters excluded. Targets (issue #13): ≥ 10× the dense method at n = 32; faster than Maron's layer
at every n with ≤ 1/4 of its peak memory.

Usage: ``python benchmarks/bench_permutation.py [--quick] [--device cpu|cuda] [--threads 2]``. Writes
``benchmarks/results/permutation.md`` (``permutation_quick.md`` with ``--quick``, ``_cuda`` appended on a
GPU) and ``permutation_memory*.png``, and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time
from pathlib import Path

import torch

from geomrep.cli.table import format_table, format_value
from geomrep.cli.timing import time_fn
from geomrep.equivariant.permutation import PermutationEquivariantLinear
from geomrep.equivariant.permutation.reference import DenseBasisLinear, MaronLinear2to2

RESULTS = Path(__file__).resolve().parent / "results"


def peak_memory_bytes(fn, device: str) -> float:
    """Peak extra memory of ``fn()`` (bytes): CUDA allocator peak, or the CPU profiler allocation trace."""
    if device == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return float(torch.cuda.max_memory_allocated() - base)
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities, profile_memory=True) as prof:
        fn()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    current = peak = 0
    for e in events:
        current += e.self_cpu_memory_usage
        peak = max(peak, current)
    return float(peak)


def measure(n: int, batch: int, channels: int, device: str, repeats: int, dense_limit_gb: float) -> dict:
    torch.manual_seed(0)
    x = torch.randn(batch, channels, n, n, device=device, requires_grad=True)
    grad = torch.randn(batch, channels, n, n, device=device)
    models = {
        "ours": PermutationEquivariantLinear(n, 2, 2, channels, channels, device=device),
        "maron": MaronLinear2to2(channels, channels).to(device),
    }
    dense_gb = 15 * n**4 * 4 / 1e9
    if dense_gb <= dense_limit_gb:
        models["dense"] = DenseBasisLinear(n, 2, 2, channels, channels).to(device)
    row: dict = {"n": n, "batch": batch, "channels": f"{channels}→{channels}"}
    for name in ("ours", "dense", "maron"):
        if name not in models:
            row[f"{name} ms"] = f"skipped (basis {dense_gb:.1f} GB)"
            row[f"{name} MB"] = "—"
            continue
        model = models[name]

        def step(model=model):
            x.grad = None
            model.zero_grad(set_to_none=True)
            model(x).backward(grad)

        slow = name == "dense" and n >= 64  # tens of seconds per call on a CPU: fewer repeats
        seconds = time_fn(step, warmup=1, repeats=2 if slow else repeats, device=device)
        row[f"{name} ms"] = 1e3 * seconds
        row[f"{name} MB"] = peak_memory_bytes(step, device) / 2**20
    if "dense" in models:
        row["dense / ours (time)"] = row["dense ms"] / row["ours ms"]
    else:
        row["dense / ours (time)"] = "—"
    row["maron / ours (time)"] = row["maron ms"] / row["ours ms"]
    row["ours / maron (memory)"] = row["ours MB"] / row["maron MB"]
    row["dense basis GB (15·n⁴·4 B)"] = dense_gb
    return row


def markdown_table(rows: list[dict]) -> str:
    """Rows (dicts with the same keys) as a GitHub markdown table."""
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(format_value(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=90)
    ns = [r["n"] for r in rows]
    for name, style in (("ours", "o-"), ("maron", "s-"), ("dense", "^-")):
        pts = [(r["n"], r[f"{name} MB"]) for r in rows if isinstance(r[f"{name} MB"], float)]
        if pts:
            ax.plot(*zip(*pts), style, label=f"{name} (measured)")
    ax.plot(
        ns,
        [r["dense basis GB (15·n⁴·4 B)"] * 1e9 / 2**20 for r in rows],
        "k:",
        label="dense basis alone 15·n⁴·4 B",
    )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("peak memory, forward+backward [MiB]")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke mode: n ∈ {8, 16}, batch 4, 8 channels")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    parser.add_argument("--dense-limit-gb", type=float, default=2.0, help="skip the dense method above this")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.quick:
        sizes, batch, channels, repeats = (8, 16), 4, 8, 2
    else:
        sizes, batch, channels, repeats = (8, 16, 32, 64, 128), 64, 32, 5
    rows = [measure(n, batch, channels, args.device, repeats, args.dense_limit_gb) for n in sizes]
    suffix = ("_quick" if args.quick else "") + ("" if args.device == "cpu" else f"_{args.device}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = RESULTS / f"permutation_memory{suffix}.png"
    _plot(rows, png)
    at32 = [r for r in rows if r["n"] == 32 and isinstance(r["dense / ours (time)"], float)]
    faster = all(r["maron / ours (time)"] > 1 for r in rows)
    leaner = all(r["ours / maron (memory)"] <= 0.25 for r in rows)
    if at32:
        ratio = at32[0]["dense / ours (time)"]
        dense_note = f"{ratio:.1f}× ({'met' if ratio >= 10 else 'not met'})"
    else:
        dense_note = "not measured in this mode"
    targets = [
        f"  - ≥ 10× the dense method at n = 32: {dense_note}",
        f"  - faster than Maron's layer at every n: {'met' if faster else 'not met'}",
        f"  - ≤ 1/4 of Maron's peak memory at every n: {'met' if leaner else 'not met'}",
    ]
    device = torch.cuda.get_device_name() if args.device == "cuda" else "CPU only (no GPU measured)"
    header = [
        "# S_n-equivariant 2→2 layer benchmark (`benchmarks/bench_permutation.py`)",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}, {device}",
        f"- mode: {'quick (smoke test, not a measurement)' if args.quick else 'full'}; "
        f"total run time {time.perf_counter() - t0:.0f} s",
        "- forward + backward, float32, median of repeats after warm-up; peak memory excludes inputs and "
        "parameters",
        "- targets:",
        *targets,
        "",
    ]
    text = "\n".join(header) + "\n" + markdown_table(rows) + f"\n\n![memory]({png.name})\n"
    (RESULTS / f"permutation{suffix}.md").write_text(text)
    print("\n".join(header))
    print(format_table(rows))
    print(f"wrote {RESULTS / f'permutation{suffix}.md'} and {png}")
    return rows


if __name__ == "__main__":
    main()
