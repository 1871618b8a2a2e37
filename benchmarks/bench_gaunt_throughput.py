"""Gaunt products against this machine's limit: GFLOP/s beside the large-GEMM peak (CPU, float32).

Three measurements, each forward+backward, median of interleaved repeats (the implementations compared
in one table alternate call by call, so a noisy neighbour slows all of them alike), warm-up excluded:

1. ``gaunt_product`` per backend and degree ``L = lmax1 = lmax2 = lmax_out`` at 2048 and 32,768 rows:
   ``grid`` (the cache-blocked eager path, :mod:`geomrep.equivariant.gaunt.blocked`), ``grid unblocked``
   (the same GEMMs through plain autograd, ``blocked.ENABLED = False``), ``fft`` (2-D torus FFT) and
   ``dense`` (the ``c · 3j`` tensor, small L). Floating-point work = the GEMM FLOPs counted by the torch
   profiler for one call (``mm``/``bmm``/``matmul``, multiply-add = 2) plus, for ``fft``, ``2.5 N log₂ N``
   per real FFT of ``N`` points (the profiler does not count FFTs); GFLOP/s = work / median time, beside
   the median throughput of a 2048³ float32 GEMM measured in the same run.
2. MACE-style irreps: :class:`GauntTensorProduct` ``64x0e+32x1o+16x2e ⊗ 1x0e+1x1o+1x2e`` vs e3nn's
   ``o3.TensorProduct`` with the same Gaunt paths (``uvu``, per-path weights), 4096 edges.
3. Many-body powers: :class:`GauntSelfInteraction` (correlation ν = 2, 3, 4) vs the same powers as
   repeated e3nn products ``x ⊗ x``, ``(x ⊗ x) ⊗ x``, … restricted to the Gaunt paths.

Writes ``benchmarks/results/gaunt_throughput.md`` and ``gaunt_throughput.png``.
Usage: ``python benchmarks/bench_gaunt_throughput.py [--quick] [--threads 2]``
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from bench_gaunt import _fmt, _table  # the main Gaunt benchmark's tables (benchmarks/ is on the path)
from e3nn import o3
from torch.profiler import ProfilerActivity, profile

from geomrep.equivariant.gaunt import (
    GauntSelfInteraction,
    GauntTensorProduct,
    blocked,
    gaunt_paths,
    gaunt_product,
)
from geomrep.equivariant.gaunt.transforms import sample_grid

RESULTS = Path(__file__).resolve().parent / "results"
GEMM_OPS = ("aten::mm", "aten::bmm", "aten::addmm", "aten::matmul", "aten::baddbmm")


def interleaved(fns: dict, reps: int, warm: int = 2, samples: dict | None = None) -> dict[str, float]:
    """Median seconds per call of each function, the functions alternating call by call (rotating order).

    ``samples``, if given, receives every function's list of times (for paired ratios).
    """
    for fn in fns.values():
        for _ in range(warm):
            fn()
    times = {name: [] for name in fns}
    names = list(fns)
    for rep in range(reps):
        # rotate the order: a call right after a memory-hungry one (fft, dense) runs on a cold cache, and a
        # fixed order would charge that to the same implementation every time
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    if samples is not None:
        samples.update(times)
    return {name: statistics.median(t) for name, t in times.items()}


def paired_speedup(samples: dict, baseline: str, name: str) -> float:
    """Median over repeats of ``baseline time / name time`` measured back to back (robust to slow phases)."""
    return statistics.median(b / a for a, b in zip(samples[name], samples[baseline], strict=True))


def gemm_peak(reps: int = 10) -> float:
    """GFLOP/s of a 2048³ float32 matrix product (median of ``reps``)."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    t = interleaved({"gemm": lambda: a @ b}, reps, warm=3)["gemm"]
    return 2 * 2048**3 / t / 1e9


def counted_gemm_flops(fn) -> float:
    """GEMM FLOPs of one call of ``fn`` as counted by the torch profiler (worker threads included)."""
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        fn()
    return float(sum(e.flops for e in prof.events() if e.name in GEMM_OPS and e.flops))


def fft_flops(lmax: int, rows: int) -> float:
    """``2.5 N log₂ N`` for each of the six real 2-D FFTs per row of a forward+backward (fft backend)."""
    grid = sample_grid("fft", 2 * lmax, lmax)
    n = grid.n_alpha * grid.n_beta
    return 6 * rows * 2.5 * n * math.log2(n)


def _product_call(lmax: int, rows: int, backend: str):
    x1 = torch.randn(rows, (lmax + 1) ** 2, requires_grad=True)
    x2 = torch.randn(rows, (lmax + 1) ** 2, requires_grad=True)
    unblocked = backend == "grid unblocked"

    def call():
        blocked.ENABLED = not unblocked
        try:
            y = gaunt_product(x1, x2, lmax, lmax, lmax, backend="grid" if unblocked else backend)
            y.sum().backward()
        finally:
            blocked.ENABLED = True

    return call


def backends_table(lmaxs, row_counts, peak: float, quick: bool) -> list[dict]:
    out = []
    for rows in row_counts:
        for lmax in lmaxs:
            names = ["grid", "grid unblocked", "fft"]
            if lmax <= 4 or (lmax <= 8 and rows <= 2048):
                names.append("dense")
            fns = {n: _product_call(lmax, rows, n) for n in names}
            reps = 3 if quick else (9 if rows > 4096 else 31)
            samples: dict = {}
            times = interleaved(fns, reps, warm=1 if quick else 2, samples=samples)
            # the blocked path runs the same GEMMs as the unblocked one (forward: 3 transforms, backward:
            # the 3 transposed ones), partly on worker threads the profiler does not see: count them once
            gemm = counted_gemm_flops(fns["grid unblocked"])
            for name in names:
                flops = gemm if name == "grid" else counted_gemm_flops(fns[name])
                flops += fft_flops(lmax, rows) if name == "fft" else 0.0
                t = times[name]
                out.append(
                    {
                        "L": lmax,
                        "rows": rows,
                        "backend": name,
                        "fwd+bwd ms": 1e3 * t,
                        "GFLOP": flops / 1e9,
                        "GFLOP/s": flops / t / 1e9,
                        "% of GEMM peak": 100 * flops / t / 1e9 / peak,
                        "speed-up vs grid unblocked (paired median)": paired_speedup(
                            samples, "grid unblocked", name
                        ),
                    }
                )
                print(" ".join(f"{k}={_fmt(v)}" for k, v in out[-1].items()), flush=True)
    return out


def _gaunt_instructions(irreps1: o3.Irreps, irreps2: o3.Irreps, irreps_out: o3.Irreps, mode: str):
    instr = []
    for i1, (_, ir1) in enumerate(irreps1):
        for i2, (_, ir2) in enumerate(irreps2):
            for i3, (_, ir3) in enumerate(irreps_out):
                even = (ir1.l + ir2.l + ir3.l) % 2 == 0
                if ir3 in ir1 * ir2 and even:
                    instr.append((i1, i2, i3, mode, True))
    return instr


def _uvu_output(irreps1: o3.Irreps, irreps2: o3.Irreps, lmax: int):
    """MACE-style 'uvu' convolution: one ``mul1 x ir_out`` block per Gaunt path (no channel mixing)."""
    out, instr = [], []
    for i1, (mul, ir1) in enumerate(irreps1):
        for i2, (_, ir2) in enumerate(irreps2):
            for ir3 in ir1 * ir2:
                if ir3.l <= lmax and (ir1.l + ir2.l + ir3.l) % 2 == 0:
                    instr.append((i1, i2, len(out), "uvu", True))
                    out.append((mul, ir3))
    return o3.Irreps(out), instr


def mixed_irreps_table(quick: bool) -> list[dict]:
    irreps1, irreps2 = o3.Irreps("64x0e+32x1o+16x2e"), o3.Irreps("1x0e+1x1o+1x2e")
    irreps_out = irreps1
    edges = 512 if quick else 4096
    gaunt = GauntTensorProduct(irreps1, irreps2, irreps_out)
    uvw = o3.TensorProduct(
        irreps1, irreps2, irreps_out, _gaunt_instructions(irreps1, irreps2, irreps_out, "uvw")
    )
    uvu_out, uvu_instr = _uvu_output(irreps1, irreps2, 2)
    uvu = o3.TensorProduct(irreps1, irreps2, uvu_out, uvu_instr)
    x1 = torch.randn(edges, irreps1.dim, requires_grad=True)
    x2 = torch.randn(edges, irreps2.dim, requires_grad=True)
    modules = {
        "GauntTensorProduct": gaunt,
        "e3nn TP 'uvw' on the Gaunt paths (exact equivalent)": uvw,
        f"e3nn TP 'uvu' MACE-style conv (out {uvu_out.dim} dims)": uvu,
    }
    fns = {name: (lambda m=m: m(x1, x2).sum().backward()) for name, m in modules.items()}
    times = interleaved(fns, 3 if quick else 15)
    ours = times["GauntTensorProduct"]
    return [
        {
            "irreps": f"{irreps1} ⊗ {irreps2}",
            "edges": edges,
            "impl": name,
            "parameters": sum(p.numel() for p in modules[name].parameters()),
            "fwd+bwd ms": 1e3 * t,
            "Gaunt speed-up": t / ours,
        }
        for name, t in times.items()
    ]


def _repeated_e3nn(lmax: int, channels: int, correlation: int):
    irreps = o3.Irreps([(channels, (l, (-1) ** l)) for l in range(lmax + 1)])
    instr = [(a, b, c, "uuu", False) for a, b, c in gaunt_paths(lmax, lmax, lmax)]
    tp = o3.TensorProduct(irreps, irreps, irreps, instr)

    def powers(x):
        out, p = [x], x
        for _ in range(correlation - 1):
            p = tp(p, x)
            out.append(p)
        return torch.stack(out).sum(0)

    return irreps, powers


def many_body_table(quick: bool) -> list[dict]:
    out = []
    channels, rows = 32, (64 if quick else 512)
    for lmax in (2,) if quick else (2, 4):
        for nu in (2, 3) if quick else (2, 3, 4):
            irreps, powers = _repeated_e3nn(lmax, channels, nu)
            si = GauntSelfInteraction(irreps, correlation=nu)
            x = torch.randn(rows, irreps.dim, requires_grad=True)
            fns = {
                "GauntSelfInteraction": lambda si=si, x=x: si(x).sum().backward(),
                "repeated e3nn TP": lambda powers=powers, x=x: powers(x).sum().backward(),
            }
            times = interleaved(fns, 3 if quick else 10)
            out.append(
                {
                    "L": lmax,
                    "ν": nu,
                    "rows × channels": f"{rows} × {channels}",
                    "Gaunt fwd+bwd ms": 1e3 * times["GauntSelfInteraction"],
                    "e3nn fwd+bwd ms": 1e3 * times["repeated e3nn TP"],
                    "speed-up": times["repeated e3nn TP"] / times["GauntSelfInteraction"],
                }
            )
            print(" ".join(f"{k}={_fmt(v)}" for k, v in out[-1].items()), flush=True)
    return out


def plot(rows: list[dict], peak: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = sorted({r["rows"] for r in rows})
    fig, axes = plt.subplots(
        1, len(counts), figsize=(5 * len(counts), 3.8), dpi=80, sharey=True, squeeze=False
    )
    for ax, n in zip(axes[0], counts, strict=True):
        for name in ("grid", "grid unblocked", "fft", "dense"):
            pts = [(r["L"], r["GFLOP/s"]) for r in rows if r["rows"] == n and r["backend"] == name]
            if pts:
                ax.plot(*zip(*pts), "o-", label=name)
        ax.axhline(peak, color="k", lw=0.8, label=f"2048³ GEMM ({peak:.0f})")
        ax.axhline(peak / 2, color="k", ls=":", lw=0.8, label="50 % of GEMM")
        ax.set_yscale("log")
        ax.set_xlabel("L")
        ax.set_title(f"{n} rows, fwd+bwd, float32, {torch.get_num_threads()} threads")
    axes[0][0].set_ylabel("GFLOP/s")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (seconds)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    peak = gemm_peak(3 if args.quick else 10)
    print(f"GEMM peak {peak:.1f} GFLOP/s", flush=True)
    lmaxs, counts = ((2, 4), (256,)) if args.quick else ((4, 8, 12, 16), (2048, 32768))
    backends = backends_table(lmaxs, counts, peak, args.quick)
    mixed = mixed_irreps_table(args.quick)
    many = many_body_table(args.quick)
    peak_after = gemm_peak(3 if args.quick else 10)
    text = (
        "# Gaunt products: throughput against the GEMM peak\n\n"
        f"- date: {datetime.date.today()}; machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads; torch {torch.__version__}\n"
        f"- 2048³ float32 GEMM: {peak:.1f} GFLOP/s before, {peak_after:.1f} after the run\n"
        "- forward+backward, float32, median of interleaved repeats, warm-up excluded; "
        "work = profiler-counted GEMM FLOPs (+ 2.5 N log₂ N per real FFT for `fft`)\n"
        f"- run time {time.perf_counter() - t0:.0f} s; this 2-core VM has slow phases (up to 2× for "
        "seconds), so speed-ups are the median of back-to-back ratios\n\n"
        "## gaunt_product by backend\n\n" + _table(backends) + "\n\n"
        "## MACE-style irreps vs e3nn\n\n" + _table(mixed) + "\n\n"
        "## Many-body powers vs repeated e3nn products\n\n" + _table(many) + "\n"
    )
    print(text)
    if not args.quick:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gaunt_throughput.md").write_text(text)
        plot(backends, peak, args.out / "gaunt_throughput.png")
    return {"peak": peak, "backends": backends, "mixed": mixed, "many_body": many}


if __name__ == "__main__":
    main()
