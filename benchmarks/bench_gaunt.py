"""Gaunt tensor product vs e3nn: time per call, float32, batch × channels = 2048, CPU.

Compares, for L = lmax1 = lmax2 = lmax_out:

- ``gaunt_product`` backends ``grid`` (Gauss–Legendre S² grid, GEMMs) and ``fft`` (2-D Fourier torus);
- the *same function* in e3nn: ``o3.TensorProduct`` restricted to the Gaunt paths (``uuu``, 32 channels
  × 64 rows, fixed path weights ``c²``) and the experimental v2 products filtered to the Gaunt paths
  (``ElementwiseTensorProductv2`` on channel-aligned irrep pairs, ``FullTensorProductv2`` on 2048 rows
  of multiplicity 1), each followed by the fixed weighted sum of its paths into the output degrees;
- the *full* Clebsch–Gordan product (all paths with ``l3 ≤ L``, both parities) as e3nn's
  ``o3.TensorProduct`` (``uuu``) — a different, larger function, for scale.

Ratios are ``e3nn time / Gaunt time`` against the fastest e3nn implementation of the same function
measured in the same run. Warm-up calls are excluded; set-up (building tables/modules, first call)
is reported separately. Baselines whose predicted cost exceeds the time budget are skipped and
marked so. Writes ``benchmarks/results/gaunt.md`` and ``benchmarks/results/gaunt_scaling.png``.

Usage: ``python benchmarks/bench_gaunt.py [--quick] [--budget SECONDS] [--lmax 1 2 4 8]``
"""

from __future__ import annotations

import argparse
import datetime
import functools
import math
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from e3nn import o3

from geomrep.equivariant.gaunt import gaunt_block, gaunt_constant, gaunt_paths, gaunt_product
from geomrep.equivariant.gaunt import transforms as _transforms

ROWS = 2048
CHANNELS = 32
RESULTS = Path(__file__).resolve().parent / "results"


def _median_time(fn, warmup: int, repeats: int, min_time: float = 0.0) -> float:
    for _ in range(warmup):
        fn()
    times, total = [], 0.0
    while len(times) < repeats or total < min_time:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    return statistics.median(times)


def _natural(mul: int, lmax: int) -> o3.Irreps:
    return o3.Irreps([(mul, (l, (-1) ** l)) for l in range(lmax + 1)])


def _reduction(module, lmax: int, mul: int):
    """(target column, scale) turning a v2 product's path outputs into Gaunt coefficients (C, N3)."""
    n3 = (lmax + 1) ** 2
    keys = list(module.paths)
    sizes = [module.paths[k][2][0] * module.paths[k][2][1] for k in keys]
    offsets, off = {}, 0
    for i in module.inv:
        offsets[i] = off
        off += sizes[i]
    target = torch.zeros(off, dtype=torch.int64)
    scale = torch.zeros(off)
    for i, (l1, _, l2, _, l3, _) in enumerate(keys):
        c = gaunt_constant(l1, l2, l3) / math.sqrt(2 * l3 + 1)  # v2 uses component-normalised 3j
        for u in range(mul):
            for m in range(2 * l3 + 1):
                col = offsets[i] + u * (2 * l3 + 1) + m
                target[col] = u * n3 + l3 * l3 + m
                scale[col] = c
    return target, scale, mul * n3


def _gaunt(lmax, backend):
    x1 = torch.randn(ROWS, (lmax + 1) ** 2, requires_grad=True)
    x2 = torch.randn(ROWS, (lmax + 1) ** 2, requires_grad=True)
    return lambda: gaunt_product(x1, x2, lmax, lmax, lmax, backend=backend)


def _e3nn_tp(lmax, full=False):
    irreps = _natural(CHANNELS, lmax)
    if full:
        irreps_in = o3.Irreps([(CHANNELS, (l, p)) for l in range(lmax + 1) for p in (1, -1)])
        instr = []
        for i1, (_, a) in enumerate(irreps_in):
            for i2, (_, b) in enumerate(irreps_in):
                for i3, (_, c) in enumerate(irreps_in):
                    if c in a * b:
                        instr.append((i1, i2, i3, "uuu", False))
        tp = o3.TensorProduct(irreps_in, irreps_in, irreps_in, instr)
        dim = irreps_in.dim
    else:
        instr = [
            (a, b, c, "uuu", False, gaunt_constant(a, b, c) ** 2) for a, b, c in gaunt_paths(lmax, lmax, lmax)
        ]
        tp = o3.TensorProduct(
            irreps, irreps, irreps, instr, irrep_normalization="none", path_normalization="none"
        )
        dim = irreps.dim
    x1 = torch.randn(ROWS // CHANNELS, dim, requires_grad=True)
    x2 = torch.randn(ROWS // CHANNELS, dim, requires_grad=True)
    return lambda: tp(x1, x2)


def _e3nn_elementwise(lmax):
    pairs = sorted({(a, b) for a, b, _ in gaunt_paths(lmax, lmax, lmax)})
    irreps1 = o3.Irreps([(CHANNELS, (a, (-1) ** a)) for a, _ in pairs])
    irreps2 = o3.Irreps([(CHANNELS, (b, (-1) ** b)) for _, b in pairs])
    base = _natural(CHANNELS, lmax)
    sl = base.slices()
    idx1 = torch.cat([torch.arange(sl[a].start, sl[a].stop) for a, _ in pairs])
    idx2 = torch.cat([torch.arange(sl[b].start, sl[b].stop) for _, b in pairs])
    tp = o3.experimental.ElementwiseTensorProductv2(irreps1, irreps2, filter_ir_out=_natural(1, lmax))
    target, scale, n_out = _reduction(tp, lmax, CHANNELS)
    x1 = torch.randn(ROWS // CHANNELS, base.dim, requires_grad=True)
    x2 = torch.randn(ROWS // CHANNELS, base.dim, requires_grad=True)

    def run():
        z = tp(x1.index_select(1, idx1), x2.index_select(1, idx2))
        return z.new_zeros(z.shape[0], n_out).index_add(1, target, z * scale)

    return run


def _e3nn_full_v2(lmax):
    irreps = _natural(1, lmax)
    tp = o3.experimental.FullTensorProductv2(irreps, irreps, filter_ir_out=irreps)
    target, scale, n_out = _reduction(tp, lmax, 1)
    x1 = torch.randn(ROWS, irreps.dim, requires_grad=True)
    x2 = torch.randn(ROWS, irreps.dim, requires_grad=True)

    def run():
        z = tp(x1, x2)
        return z.new_zeros(z.shape[0], n_out).index_add(1, target, z * scale)

    return run


def _use_exact_gaunt_3j_in_e3nn() -> None:
    """Serve e3nn's real 3j for parity-even triples from our exact Gaunt blocks (``G / c``).

    e3nn builds each 3j from exact rationals in Python (~20 s for all triples up to L = 12, minutes at
    L = 16), which would eat the time budget; the blocks are identical (tests check ``G == c · 3j`` to
    1e-14), so e3nn's *run* time is unaffected. Odd triples (full CG only) still use e3nn's own code.
    """
    import e3nn.o3._wigner as wigner

    if getattr(wigner._so3_clebsch_gordan, "_geomrep_patched", False):
        return
    original = wigner._so3_clebsch_gordan

    @functools.cache
    def patched(l1, l2, l3):
        c = gaunt_constant(l1, l2, l3)
        if c > 0:
            return gaunt_block(l1, l2, l3) / c
        return original(l1, l2, l3)

    patched._geomrep_patched = True
    wigner._so3_clebsch_gordan = patched


def _clear_gaunt_caches():
    for name in ("synthesis_tables", "analysis_tables", "_cast"):
        getattr(_transforms, name).cache_clear()
    from geomrep.equivariant.gaunt import fourier_basis, s2_grid

    for fn in (
        fourier_basis.fourier_synthesis_tables,
        fourier_basis.fourier_analysis_tables,
        fourier_basis._polar_fourier_np,
        s2_grid.grid_synthesis_tables,
        s2_grid.grid_analysis_tables,
    ):
        fn.cache_clear()


IMPLS = {
    "gaunt grid": lambda L: _gaunt(L, "grid"),
    "gaunt fft": lambda L: _gaunt(L, "fft"),
    "e3nn TP (Gaunt paths)": lambda L: _e3nn_tp(L),
    "e3nn ElementwiseTPv2 (Gaunt)": _e3nn_elementwise,
    "e3nn FullTPv2 (Gaunt)": _e3nn_full_v2,
    "e3nn TP (full CG)": lambda L: _e3nn_tp(L, full=True),
}
SAME_FUNCTION = ("e3nn TP (Gaunt paths)", "e3nn ElementwiseTPv2 (Gaunt)", "e3nn FullTPv2 (Gaunt)")
OURS = ("gaunt grid", "gaunt fft")


def _warm_up_process(seconds: float = 1.5) -> None:
    """Spin up the thread pool and lazy library initialisation before anything is timed."""
    a = torch.randn(512, 512)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        (a @ a).sum()
        gaunt_product(a[:, :9], a[:, 9:18], 2, 2, 2).sum()


def run(lmaxs, budget: float, quick: bool, impls=tuple(IMPLS)) -> list[dict]:
    torch.manual_seed(0)
    _warm_up_process(0.5 if quick else 1.5)
    deadline = time.perf_counter() + budget
    rows, last = [], {}
    for lmax in lmaxs:
        for name, make in IMPLS.items():
            if name not in impls:
                continue
            row = {"L": lmax, "impl": name}
            ours = name in OURS
            if name == "gaunt fft" and lmax > 8 and lmax not in (12, 16) and len(lmaxs) > 3:
                continue  # slower exact backend: sampled at a few degrees to bound the run time
            remaining = deadline - time.perf_counter()
            if not ours and name in last:
                prev_l, prev_cost = last[name]
                predicted = prev_cost * ((lmax + 1) / (prev_l + 1)) ** 4
                if predicted > remaining:
                    row.update(setup_s=None, fwd_ms=None, fwdbwd_ms=None, note="skipped: time budget")
                    rows.append(row)
                    last[name] = (lmax, predicted)
                    continue
            if ours:
                _clear_gaunt_caches()
            t0 = time.perf_counter()
            fn = make(lmax)
            fn()  # first call: builds and caches constant tables
            setup = time.perf_counter() - t0

            def fwd_bwd(fn=fn):
                fn().sum().backward()

            warm, reps = (2, 7) if ours else (1, 3)
            if quick:
                warm, reps = 1, 3
            if setup > 1.0 and not ours:  # slow baseline: the set-up call was the warm-up
                warm, reps = 0, 1
            t_start = time.perf_counter()
            with torch.no_grad():
                t_f = _median_time(fn, warm, reps)
            t_fb = _median_time(fwd_bwd, warm, reps)
            last[name] = (lmax, time.perf_counter() - t_start + setup)
            row.update(setup_s=setup, fwd_ms=1e3 * t_f, fwdbwd_ms=1e3 * t_fb, note="")
            rows.append(row)
            print(
                f"L={lmax:2d} {name:30s} setup {setup:7.2f}s  fwd {1e3 * t_f:9.2f} ms  "
                f"fwd+bwd {1e3 * t_fb:9.2f} ms",
                flush=True,
            )
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for lmax in sorted({r["L"] for r in rows}):
        at = {r["impl"]: r for r in rows if r["L"] == lmax}
        ours = min((at[n] for n in OURS if at.get(n) and at[n]["fwdbwd_ms"]), key=lambda r: r["fwdbwd_ms"])
        summary = {
            "L": lmax,
            "fastest gaunt": ours["impl"],
            "gaunt fwd ms": ours["fwd_ms"],
            "gaunt fwd+bwd ms": ours["fwdbwd_ms"],
        }
        same = [at[n] for n in SAME_FUNCTION if at.get(n) and at[n]["fwdbwd_ms"]]
        if same:
            best_f = min(same, key=lambda r: r["fwd_ms"])
            best = min(same, key=lambda r: r["fwdbwd_ms"])
            summary.update(
                {
                    "fastest e3nn same fn": best["impl"],
                    "e3nn fwd+bwd ms": best["fwdbwd_ms"],
                    "speedup fwd": best_f["fwd_ms"] / ours["fwd_ms"],
                    "speedup fwd+bwd": best["fwdbwd_ms"] / ours["fwdbwd_ms"],
                }
            )
        else:
            summary.update(
                {
                    "fastest e3nn same fn": "skipped (time budget)",
                    "e3nn fwd+bwd ms": None,
                    "speedup fwd": None,
                    "speedup fwd+bwd": None,
                }
            )
        full = at.get("e3nn TP (full CG)")
        summary["speedup vs full CG fwd+bwd"] = (
            full["fwdbwd_ms"] / ours["fwdbwd_ms"] if full and full["fwdbwd_ms"] else None
        )
        out.append(summary)
    return out


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def _table(rows: list[dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_fmt(r.get(k)) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=80)
    for name in IMPLS:
        pts = [(r["L"], r["fwdbwd_ms"]) for r in rows if r["impl"] == name and r["fwdbwd_ms"]]
        if pts:
            ax.loglog(*zip(*pts), "o-" if name in OURS else "s--", label=name)
    ls = sorted({r["L"] for r in rows})
    ref = [r["fwdbwd_ms"] for r in rows if r["impl"] == "gaunt grid" and r["L"] == ls[-1]]
    if ref and ls[-1] > 1:
        ax.loglog(ls, [ref[0] * (l / ls[-1]) ** 3 for l in ls], "k:", lw=0.8, label="∝ L³")
    ax.set_xlabel("L (= lmax1 = lmax2 = lmax_out)")
    ax.set_ylabel("forward+backward time [ms]")
    ax.set_title(f"Gaunt vs e3nn, float32, {ROWS} rows, {torch.get_num_threads()} threads (CPU)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L in {2, 4, 8}, fewer repeats (< 30 s)")
    parser.add_argument("--budget", type=float, default=None, help="seconds allowed for the whole run")
    parser.add_argument("--lmax", type=int, nargs="*", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--impls", nargs="*", default=None, help=f"subset of {list(IMPLS)}")
    parser.add_argument("--tag", default="", help="suffix of the result files (gaunt<tag>.md, …)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    _use_exact_gaunt_3j_in_e3nn()
    lmaxs = args.lmax or ([2, 4, 8] if args.quick else list(range(1, 17)))
    budget = args.budget or (25.0 if args.quick else 200.0)
    t0 = time.perf_counter()
    impls = args.impls or list(IMPLS)
    unknown = [n for n in impls if n not in IMPLS]
    if unknown:
        parser.error(f"unknown --impls {unknown}; choose from {list(IMPLS)}")
    rows = run(lmaxs, budget, args.quick, impls)
    summary = summarise(rows)
    elapsed = time.perf_counter() - t0
    header = (
        f"# Gaunt tensor product benchmark\n\n"
        f"- date: {datetime.date.today()}\n- machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads\n- torch {torch.__version__}, "
        f"e3nn {__import__('e3nn').__version__}\n- float32, {ROWS} rows (batch × channels), "
        f"L = lmax1 = lmax2 = lmax_out; median of repeats, warm-up excluded; "
        f"set-up = building modules/tables + first call\n"
        f"- run time {elapsed:.0f} s (budget {budget:.0f} s; baselines predicted to exceed it are skipped)\n"
        f"- GPU: not measured (no GPU in this session)\n"
    )
    text = header + "\n## Summary (speed-up = fastest e3nn same-function time / fastest Gaunt time)\n\n"
    text += _table(summary) + "\n\n## All timings\n\n" + _table(rows) + "\n"
    print(text)
    if not args.quick:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"gaunt{args.tag}.md").write_text(text)
        plot(rows, args.out / f"gaunt{args.tag}_scaling.png")
    return summary


if __name__ == "__main__":
    main()
