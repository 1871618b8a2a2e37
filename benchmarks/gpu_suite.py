"""Every GPU benchmark of issue #15 in one command, within a time budget (default 300 s).

Sections (float32 unless stated; each time is forward+backward, the median of repeats after a warm-up
call, CUDA events on a GPU (``geomrep.cli.timing.time_fn``); each baseline is measured in the same run):

- ``sqrtm``: ``sqrtm`` and ``invsqrtm`` for every method (``auto``, ``eig``: eigh + our tie-safe
  Daleckii–Krein backward, ``sns``, ``ns``, ``mpa``, ``mtp``) vs ``torch.linalg.eigh`` autograd
  (``U f(Λ) Uᵀ``), n = 16 … 256, batch 256 and 4096, κ = 1e3; beside each time the relative
  Frobenius error of the same method at κ = 1e2, 1e3, 1e4, 1e6 (vs float64 ``eigh`` of the rounded
  input). Target: the fastest method with error ≤ 1e-4 (κ ≤ 1e3) ≥ 5× eigh at n = 64.
- ``spd``: ``SPDBatchNorm`` (gbw, bw, aim, lem) vs the per-matrix loop twin of the GBW layer
  (``gbw_batchnorm_reference``), n = 12/30/93, batch 30 and 256. Target ≥ 20×.
- ``gaunt``: ``gaunt_product`` (grid, fft, dense backends) and ``GauntTensorProduct`` (grid, fft) vs the
  fastest e3nn implementation of the same function (``o3.TensorProduct`` on the Gaunt paths, the
  experimental v2 products filtered to them; as in ``benchmarks/bench_gaunt.py``), L = 2, 4, 8, 16,
  2048 and 32,768 rows.
- ``graphs``: ``AddRandomFeaturePropagationPE`` (QR, ℓ2) and the learned ``RandomFeaturePropagation``
  (fixed and attention operator) vs PyG's ``AddLaplacianEigenvectorPE`` (scipy on the host CPU: that
  is what the baseline does) at 10⁵ and 10⁶ nodes; ``SIRConv`` vs ``GATv2Conv`` (and ``GINConv``).
- ``grassmann``, ``permutation``, ``products`` (``ProductSpace.pdist`` vs geoopt), ``so3`` (vs roma):
  the GPU rows of the later modules' CPU benchmarks, through the same helpers.

Each section runs in ``try``/``except`` (a failure is reported in the table, the other sections still
run); each case inside a section too (``error`` or ``out of memory`` in its status). The budget is
counted from the start of the script (imports included) and shared out over the sections in
proportion to fixed shares (time a section does not use passes to the next); a case whose predicted
cost (from the previous size of the same implementation, set-up included) exceeds what is left of its
section's share, or 20 s, is skipped and marked so. Repeats of a case stop after 0.5 s of timed calls.
The report is rewritten after every section, so a run stopped by a timeout still leaves its tables.

Writes ``<out>/gpu_suite.md`` (device, versions and date on top, then one table per section),
``<out>/gpu_suite.json`` (every row, the section statuses and the recommendations) and PNG plots when
matplotlib is importable (a note otherwise), and prints a *recommendations* block: per n the fastest
square-root method meeting the accuracy bound, per L the fastest Gaunt backend, in the form that
``geomrep.linalg.select_method`` and ``geomrep.equivariant.gaunt.default_backend`` can take.

``--device cpu --quick`` runs the same code paths at tiny sizes in seconds (``tests/benchmarks/
test_gpu_suite.py`` runs it); its numbers mean nothing.

Usage: ``PYTHONPATH=. python3 benchmarks/gpu_suite.py --out DIR [--device cuda] [--budget-s 300]
[--quick] [--sections sqrtm gaunt ...]``. Exit status 1 when a section failed or a case raised.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_T0 = time.perf_counter()  # the budget counts from here: torch, e3nn, PyG imports included

_HERE = Path(__file__).resolve().parent
for _p in (_HERE.parent, _HERE):  # run from the source tree: geomrep and the bench_* modules
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import torch  # noqa: E402

from geomrep.cli.table import markdown_table, round_sig  # noqa: E402
from geomrep.cli.timing import time_fn  # noqa: E402

#: Share of the time budget per section (normalised over the sections that run).
SHARES = {
    "sqrtm": 0.34,
    "spd": 0.14,
    "gaunt": 0.22,
    "graphs": 0.15,
    "grassmann": 0.04,
    "permutation": 0.05,
    "products": 0.03,
    "so3": 0.03,
}
SECTIONS = tuple(SHARES)
#: Accuracy bound of the ``select_method`` recommendation (relative error at κ ≤ 1e3, float32).
SQRTM_ERR_BOUND = 1e-4


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one mode (full GPU run or the CPU rehearsal)."""

    sqrtm_n: tuple = (16, 32, 64, 128, 256)
    sqrtm_batch: tuple = (256, 4096)
    sqrtm_conds: tuple = (1e2, 1e3, 1e4, 1e6)
    sqrtm_err_batch: int = 16
    spd_n: tuple = (12, 30, 93)
    spd_batch: tuple = (30, 256)
    gaunt_L: tuple = (2, 4, 8, 16)
    gaunt_rows: tuple = (2048, 32768)
    gaunt_channels: int = 32
    rfp_nodes: tuple = (100_000, 1_000_000)
    rfp_k: int = 16
    rfp_steps: int = 16
    lap_pe_budget_s: float = 30.0
    lap_pe_inprocess_max: int = 200_000  # larger graphs: a child process stopped past lap_pe_budget_s
    conv_nodes: tuple = (10_000, 100_000)
    conv_width: int = 64
    grassmann: tuple = ((512, 100, 8), (512, 1000, 8), (2048, 100, 8), (2048, 1000, 8))
    grassmann_batch: int = 256
    perm_n: tuple = (8, 16, 32, 64, 128)
    perm_batch: int = 64
    perm_channels: int = 32
    perm_dense_limit_gb: float = 4.0
    pdist_n: tuple = (4096,)
    so3_n: int = 1_000_000
    repeats: int = 10
    case_cap_s: float = 0.5  # stop repeating a case after this much timed time
    case_max_s: float = 20.0  # skip a case predicted to take longer (warm-up and set-up included)
    quick: bool = False


QUICK = Sizes(
    sqrtm_n=(4, 8),
    sqrtm_batch=(4, 8),
    sqrtm_conds=(1e2, 1e3, 1e6),
    sqrtm_err_batch=2,
    spd_n=(4, 6),
    spd_batch=(3, 5),
    gaunt_L=(1, 2),
    gaunt_rows=(8, 16),
    gaunt_channels=4,
    rfp_nodes=(200, 400),
    rfp_k=4,
    rfp_steps=3,
    lap_pe_budget_s=60.0,
    lap_pe_inprocess_max=300,  # the 400-node graph takes the child-process path of the 10⁶-node one
    conv_nodes=(200,),
    conv_width=8,
    grassmann=((16, 4, 2),),
    grassmann_batch=8,
    perm_n=(3, 4),
    perm_batch=2,
    perm_channels=2,
    perm_dense_limit_gb=0.01,
    pdist_n=(16,),
    so3_n=64,
    repeats=2,
    case_cap_s=0.05,
    quick=True,
)


# ============================================================================================ harness
class InjectedFailure(RuntimeError):
    """Raised by ``--inject-failure SECTION`` (tests the failed-section report)."""


@dataclass
class Section:
    """Rows and status of one section; :meth:`case` runs one measurement within the section's deadline."""

    name: str
    device: torch.device
    sizes: Sizes
    deadline: float
    rows: list = field(default_factory=list)
    status: str = "ok"
    errors: int = 0
    skipped: int = 0
    oom: int = 0
    seconds: float = 0.0
    last_wall: float = 0.0

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def case(
        self, label: dict, fn: Callable[[], dict], predicted_s: float = 0.0, cap_s: float | None = None
    ) -> dict:
        """Run ``fn() -> results`` as the row ``{**label, **results}``; skip it when ``predicted_s`` does
        not fit in the section's remaining time; record exceptions (and CUDA out-of-memory) in the row.
        ``self.last_wall`` is the case's wall time (0 when skipped), for predicting the next size.
        ``cap_s`` overrides the per-case cap ``sizes.case_max_s``."""
        row = dict(label)
        self.last_wall = 0.0
        left = self.left()
        cap = self.sizes.case_max_s if cap_s is None else cap_s
        if predicted_s > min(left, cap):
            why = (
                f"{max(left, 0):.1f} s left in the section"
                if predicted_s > left
                else f"over the per-case cap of {cap:.0f} s"
            )
            row.update(status="skipped", note=f"time budget: predicted {predicted_s:.1f} s, {why}")
            self.skipped += 1
            self.rows.append(row)
            return row
        t0 = time.perf_counter()
        try:
            res = fn()
            row.update(res)
            row.setdefault("status", "ok")
            row.setdefault("note", "")
        except torch.cuda.OutOfMemoryError as exc:
            row.update(status="out of memory", note=str(exc).splitlines()[0][:120])
            self.oom += 1
        except Exception as exc:  # noqa: BLE001 — reported in the table, the suite goes on
            traceback.print_exc()
            row.update(status="error", note=f"{type(exc).__name__}: {exc}"[:200])
            self.errors += 1
        finally:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
                torch.cuda.empty_cache()
        self.last_wall = time.perf_counter() - t0
        self.rows.append(row)
        return row

    def timed(self, fn: Callable[[], object], repeats: int | None = None) -> float:
        """Milliseconds per call of ``fn`` (median, one warm-up call, repeats capped by ``case_cap_s``)."""
        reps = self.sizes.repeats if repeats is None else repeats
        return 1e3 * time_fn(fn, warmup=1, repeats=reps, device=self.device, max_time=self.sizes.case_cap_s)


def _predict(history: dict, key, size: float) -> float:
    """Cost of a case of ``size`` from the last measured case of the same ``key`` (linear in size)."""
    if key not in history:
        return 0.0
    prev_size, prev_wall = history[key]
    return prev_wall * size / prev_size


def _fb(fn: Callable, *inputs: torch.Tensor, weight: torch.Tensor | None = None) -> Callable[[], None]:
    """A closure running ``fn(*inputs)`` forward and backward (``(out · weight).sum()``, or ``.sum()``)."""

    def run():
        for t in inputs:
            t.grad = None
        out = fn(*inputs)
        (out * weight if weight is not None else out).sum().backward()

    return run


# ============================================================================================ sqrtm
def section_sqrtm(sec: Section) -> dict:
    """sqrtm/invsqrtm fwd+bwd per method vs eigh autograd, with the error at each κ; returns the
    recommendation ``{batch: {n: method}}`` for ``select_method``."""
    from geomrep.cli.linalg import (
        exact_roots,
        plain_eigh_inv,
        plain_eigh_sqrtm,
        relative_error,
        spd_with_condition,
    )
    from geomrep.linalg import METHODS, invsqrtm, sqrtm, sqrtm_invsqrtm

    dev, sz = sec.device, sec.sizes
    methods = tuple(METHODS)  # auto, eig, sns, ns, mpa, mtp
    ops = {
        "sqrtm": (plain_eigh_sqrtm, sqrtm),
        "invsqrtm": (plain_eigh_inv, invsqrtm),
    }
    # accuracy: {(n, cond, impl): (err sqrt, err invsqrt)}
    errors: dict = {}
    for n in sz.sqrtm_n:

        def acc(n=n):
            out = {}
            for cond in sz.sqrtm_conds:
                gen = torch.Generator().manual_seed(1)
                A = spd_with_condition(n, cond, sz.sqrtm_err_batch, generator=gen).to(dev)
                S0, R0 = exact_roots(A)
                with torch.no_grad():
                    for m in methods:
                        S, R = sqrtm_invsqrtm(A, method=m)
                        errors[(n, cond, m)] = (relative_error(S, S0), relative_error(R, R0))
                    errors[(n, cond, "eigh autograd")] = (
                        relative_error(plain_eigh_sqrtm(A), S0),
                        relative_error(plain_eigh_inv(A), R0),
                    )
                out[f"max err κ={cond:.0e}"] = max(max(errors[(n, cond, m)]) for m in ("eig", "sns"))
            return out

        sec.case({"part": "accuracy", "n": n}, acc)
    sec.rows[:] = [r for r in sec.rows if r.get("status") != "ok"]  # accuracy goes beside the times

    history: dict = {}
    times: dict = {}
    for batch in sz.sqrtm_batch:
        for n in sz.sqrtm_n:
            gen = torch.Generator().manual_seed(0)
            # 64 distinct matrices (κ = 1e3) tiled to the batch: built on the host in float64 (QR), cheap
            base = spd_with_condition(n, 1e3, min(batch, 64), generator=gen).to(dev)
            A = base.repeat(math.ceil(batch / base.shape[0]), 1, 1)[:batch].contiguous().requires_grad_()
            G = torch.randn(batch, n, n, device=dev, generator=torch.Generator(dev).manual_seed(0))
            for op, (baseline, fn) in ops.items():
                # matmul-only methods first: if the eigh-based cases of a large size run out of budget,
                # the cheap GPU cases of that size are already measured
                order = [m for m in methods if m in ("sns", "ns", "mpa", "mtp")]
                order += [m for m in methods if m not in order]
                impls = {
                    **{m: (lambda X, m=m, fn=fn: fn(X, method=m)) for m in order},
                    "eigh autograd": baseline,
                }
                for name, f in impls.items():
                    label = {"op": op, "n": n, "batch": batch, "impl": name}
                    pred = _predict(history, (op, name), batch * n**3)

                    def measure(f=f, A=A, G=G):
                        return {"ms": sec.timed(_fb(f, A, weight=G))}

                    row = sec.case(label, measure, pred)
                    if row["status"] == "ok":
                        history[(op, name)] = (batch * n**3, sec.last_wall)
                        times[(op, n, batch, name)] = row["ms"]
            del A, G, base
    # assemble the rows: ratio to eigh and the errors beside each time
    for row in sec.rows:
        if "op" not in row:
            continue
        op, n, batch, name = row["op"], row["n"], row["batch"], row["impl"]
        base_ms = times.get((op, n, batch, "eigh autograd"))
        if row.get("status") == "ok" and base_ms:
            row["eigh ms / ms"] = base_ms / row["ms"]
        k = 0 if op == "sqrtm" else 1
        for cond in sz.sqrtm_conds:
            e = errors.get((n, cond, name))
            row[f"err κ={cond:.0e}"] = e[k] if e else None
    return _recommend_sqrtm(times, errors, sz)


def _recommend_sqrtm(times: dict, errors: dict, sz: Sizes) -> dict:
    """Fastest method (excluding ``auto`` and the non-tie-safe baseline) whose sqrtm and invsqrtm errors
    at every κ ≤ 1e3 are ≤ SQRTM_ERR_BOUND; by the sum of the sqrtm and invsqrtm times."""
    from geomrep.linalg import METHODS

    candidates = [m for m in METHODS if m != "auto"]
    conds = [c for c in sz.sqrtm_conds if c <= 1e3]
    rec: dict = {}
    for batch in sz.sqrtm_batch:
        rec[batch] = {}
        for n in sz.sqrtm_n:
            best = None
            for m in candidates:
                errs = [errors.get((n, c, m)) for c in conds]
                if any(e is None or not all(v <= SQRTM_ERR_BOUND for v in e) for e in errs):  # NaN fails
                    continue
                t = [times.get((op, n, batch, m)) for op in ("sqrtm", "invsqrtm")]
                if None in t:
                    continue
                if best is None or sum(t) < best[1]:
                    best = (m, sum(t), t[0])
            if best is None:
                continue
            eigh = times.get(("sqrtm", n, batch, "eigh autograd"))
            rec[batch][n] = {
                "method": best[0],
                "sqrtm ms": best[2],
                "eigh ms": eigh,
                "speed-up vs eigh (sqrtm)": eigh / best[2] if eigh else None,
            }
    return rec


# ============================================================================================ spd
def section_spd(sec: Section) -> None:
    """SPDBatchNorm gbw/bw/aim/lem fwd+bwd vs the per-matrix loop twin (``time_batchnorm``, plus bw)."""
    from geomrep.cli.spd import random_spd, time_batchnorm
    from geomrep.manifolds.spd import SPDBatchNorm

    dev, sz = sec.device, sec.sizes
    history: dict = {}
    for batch in sz.spd_batch:
        for n in sz.spd_n:
            loop_reps = 1 if batch > 100 else 2

            def measure(n=n, batch=batch, loop_reps=loop_reps):
                r = time_batchnorm(
                    n, batch, torch.float32, repeats=sz.repeats, loop_repeats=loop_reps, device=dev
                )
                gen = torch.Generator().manual_seed(0)
                X = random_spd(batch, n, 100.0, torch.float32, gen).to(dev)
                W = torch.randn(batch, n, n, generator=gen).to(dev)
                bn = SPDBatchNorm(n, metric="bw", dtype=torch.float32, device=dev)

                def step():
                    x = X.clone().requires_grad_()
                    (bn(x) * W).sum().backward()

                out = {"n": n, "batch": batch}
                for m in ("gbw", "bw", "aim", "lem"):
                    out[f"{m} ms"] = sec.timed(step) if m == "bw" else r[f"{m} layer ms"]
                out["per-matrix loop ms"] = r["per-matrix loop ms"]
                out["loop / gbw"] = r["loop / gbw"]
                out["loop / bw"] = r["per-matrix loop ms"] / out["bw ms"]
                out["eigh floor ms"] = r["eigh floor ms"]
                out["loop / floor (bound)"] = r["loop / floor (bound)"]
                out["max abs diff gbw-loop"] = r["max abs diff gbw-loop"]
                out["target ≥ 20×"] = "met" if r["loop / gbw"] >= 20 else "not met"
                return out

            pred = 0.0
            if n in history:  # the loop twin scales with the batch, the batched layers far less
                b0, wall0, loop_s0, reps0 = history[n]
                calls0, calls = reps0 + 2, loop_reps + 2  # warm-up, repeats, the no-grad check
                pred = 1.5 * max(wall0 - calls0 * loop_s0, 0.0) + calls * loop_s0 * batch / b0
            row = sec.case({"n": n, "batch": batch}, measure, pred, cap_s=2 * sz.case_max_s)
            if row["status"] == "ok":
                history[n] = (batch, sec.last_wall, 1e-3 * row["per-matrix loop ms"], loop_reps)


# ============================================================================================ gaunt
def _natural(mul: int, lmax: int):
    from e3nn import o3

    return o3.Irreps([(mul, (l, (-1) ** l)) for l in range(lmax + 1)])


def _gaunt_impls(L: int, channels: int, dev: torch.device) -> dict:
    """``{name: make(rows) -> closure}`` for every implementation at degree L on ``dev``."""
    import bench_gaunt
    from e3nn import o3

    from geomrep.equivariant.gaunt import GauntTensorProduct, gaunt_constant, gaunt_paths, gaunt_product

    d = (L + 1) ** 2
    irreps = _natural(channels, L)

    def functional(backend):
        def make(rows):
            x1 = torch.randn(rows, d, device=dev, requires_grad=True)
            x2 = torch.randn(rows, d, device=dev, requires_grad=True)
            return _fb(lambda a, b: gaunt_product(a, b, L, L, L, backend=backend), x1, x2)

        return make

    def module(backend):
        tp = GauntTensorProduct(irreps, irreps, irreps, backend=backend).to(dev)

        def make(rows):
            x1 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            x2 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            return _fb(tp, x1, x2)

        return make

    def e3nn_tp():
        instr = [(a, b, c, "uuu", False, gaunt_constant(a, b, c) ** 2) for a, b, c in gaunt_paths(L, L, L)]
        tp = o3.TensorProduct(
            irreps, irreps, irreps, instr, irrep_normalization="none", path_normalization="none"
        )
        tp = tp.to(dev)

        def make(rows):
            x1 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            x2 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            return _fb(tp, x1, x2)

        return make

    def e3nn_elementwise():
        pairs = sorted({(a, b) for a, b, _ in gaunt_paths(L, L, L)})
        irreps1 = o3.Irreps([(channels, (a, (-1) ** a)) for a, _ in pairs])
        irreps2 = o3.Irreps([(channels, (b, (-1) ** b)) for _, b in pairs])
        sl = irreps.slices()
        idx1 = torch.cat([torch.arange(sl[a].start, sl[a].stop) for a, _ in pairs]).to(dev)
        idx2 = torch.cat([torch.arange(sl[b].start, sl[b].stop) for _, b in pairs]).to(dev)
        tp = o3.experimental.ElementwiseTensorProductv2(irreps1, irreps2, filter_ir_out=_natural(1, L)).to(
            dev
        )
        target, scale, n_out = bench_gaunt._reduction(tp, L, channels)
        target, scale = target.to(dev), scale.to(dev)

        def run(a, b):
            z = tp(a.index_select(1, idx1), b.index_select(1, idx2))
            return z.new_zeros(z.shape[0], n_out).index_add(1, target, z * scale)

        def make(rows):
            x1 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            x2 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            return _fb(run, x1, x2)

        return make

    def e3nn_full_v2():
        ir1 = _natural(1, L)
        tp = o3.experimental.FullTensorProductv2(ir1, ir1, filter_ir_out=ir1).to(dev)
        target, scale, n_out = bench_gaunt._reduction(tp, L, 1)
        target, scale = target.to(dev), scale.to(dev)

        def run(a, b):
            z = tp(a, b)
            return z.new_zeros(z.shape[0], n_out).index_add(1, target, z * scale)

        def make(rows):
            x1 = torch.randn(rows, ir1.dim, device=dev, requires_grad=True)
            x2 = torch.randn(rows, ir1.dim, device=dev, requires_grad=True)
            return _fb(run, x1, x2)

        return make

    # the O(L⁶) dense reference last: its exact table takes ~20 s to build at L = 16 (one CPU core), so
    # the budget skips it before anything else
    return {
        "gaunt_product grid": lambda: functional("grid"),
        "gaunt_product fft": lambda: functional("fft"),
        "GauntTensorProduct grid": lambda: module("grid"),
        "GauntTensorProduct fft": lambda: module("fft"),
        "e3nn TP (Gaunt paths)": e3nn_tp,
        "e3nn ElementwiseTPv2 (Gaunt)": e3nn_elementwise,
        "e3nn FullTPv2 (Gaunt)": e3nn_full_v2,
        "gaunt_product dense": lambda: functional("dense"),
    }


GAUNT_BACKENDS = ("grid", "fft", "dense")
E3NN_SAME_FUNCTION = ("e3nn TP (Gaunt paths)", "e3nn ElementwiseTPv2 (Gaunt)", "e3nn FullTPv2 (Gaunt)")
#: Growth exponent of the cost in L used to predict the next degree (O(L⁶) for dense and e3nn).
_GAUNT_GROWTH = {
    "gaunt_product grid": 3,
    "gaunt_product fft": 3,
    "GauntTensorProduct grid": 3,
    "GauntTensorProduct fft": 3,
}


def section_gaunt(sec: Section) -> dict:
    """gaunt_product backends and GauntTensorProduct vs e3nn's same-function products; returns the
    recommendation ``{rows: {L: backend}}`` for ``default_backend`` and the per-(L, rows) summary rows."""
    import bench_gaunt

    bench_gaunt._use_exact_gaunt_3j_in_e3nn()  # e3nn's set-up only; its run time is unaffected
    dev, sz = sec.device, sec.sizes
    history: dict = {}
    setups: dict = {}
    times: dict = {}
    for L in sz.gaunt_L:
        makers = _gaunt_impls(L, sz.gaunt_channels, dev)
        for name, build in makers.items():
            p = _GAUNT_GROWTH.get(name, 6)
            state: dict = {}
            for rows in sz.gaunt_rows:
                label = {"L": L, "rows": rows, "impl": name}
                pred = _predict(history, name, rows * (L + 1) ** p)
                if "make" not in state and name in setups:  # set-up (tables, e3nn code generation)
                    prev_l, prev_s = setups[name]
                    pred += prev_s * ((L + 1) / (prev_l + 1)) ** (6 if "dense" in name else 4)

                def measure(build=build, rows=rows, state=state):
                    out = {}
                    if "make" not in state:  # set-up: modules, code generation, the tables the
                        t0 = time.perf_counter()  # first call builds and caches (one row)
                        state["make"] = build()
                        state["make"](1)()
                        if dev.type == "cuda":
                            torch.cuda.synchronize(dev)
                        out["setup s"] = time.perf_counter() - t0
                    out["fwd+bwd ms"] = sec.timed(state["make"](rows))
                    return out

                # e3nn's set-up at L = 16 (code generation for ~2,500 paths) takes 5–25 s on one core
                row = sec.case(label, measure, pred, cap_s=2 * sz.case_max_s)
                if row["status"] == "ok":
                    setup = row.get("setup s") or 0.0
                    history[name] = (rows * (L + 1) ** p, max(sec.last_wall - setup, 1e-6))
                    if "setup s" in row:
                        setups[name] = (L, setup)
                    times[(L, rows, name)] = row["fwd+bwd ms"]
    for row in sec.rows:
        row.setdefault("setup s", "—")
    rec: dict = {}
    summary = []
    for rows in sz.gaunt_rows:
        rec[rows] = {}
        for L in sz.gaunt_L:
            ours = {b: times.get((L, rows, f"gaunt_product {b}")) for b in GAUNT_BACKENDS}
            ours = {b: t for b, t in ours.items() if t is not None}
            e3 = {n: times.get((L, rows, n)) for n in E3NN_SAME_FUNCTION}
            e3 = {n: t for n, t in e3.items() if t is not None}
            if not ours:
                continue
            best = min(ours, key=ours.get)
            fast = {b: ours[b] for b in ours if b != "dense"}
            best_fast = min(fast, key=fast.get) if fast else best
            rec[rows][L] = {"backend": best_fast, "fastest incl. dense": best, "ms": ours}
            s = {"L": L, "rows": rows, "fastest backend": best, "ms": ours[best]}
            s["grid ms"], s["fft ms"], s["dense ms"] = (ours.get(b) for b in GAUNT_BACKENDS)
            gtp = [times.get((L, rows, f"GauntTensorProduct {b}")) for b in ("grid", "fft")]
            s["GauntTensorProduct ms (grid/fft)"] = "/".join("—" if t is None else f"{t:.3g}" for t in gtp)
            if e3:
                b3 = min(e3, key=e3.get)
                s["fastest e3nn same fn"], s["e3nn ms"] = b3, e3[b3]
                s["speed-up fwd+bwd"] = e3[b3] / ours[best]
            else:
                s["fastest e3nn same fn"], s["e3nn ms"], s["speed-up fwd+bwd"] = "not measured", None, None
            summary.append(s)
    return {"backend": rec, "summary": summary}


# ============================================================================================ graphs
def section_graphs(sec: Section) -> None:
    """RFP transform + learned module vs AddLaplacianEigenvectorPE; SIRConv vs GATv2Conv/GINConv."""
    from torch import nn
    from torch_geometric.data import Data
    from torch_geometric.nn import GATv2Conv, GINConv
    from torch_geometric.transforms import AddLaplacianEigenvectorPE

    from geomrep.cli.graphs import random_sparse_graph, time_laplacian_pe
    from geomrep.graphs import AddRandomFeaturePropagationPE, RandomFeaturePropagation, SIRConv

    dev, sz = sec.device, sec.sizes
    k, T = sz.rfp_k, sz.rfp_steps
    history: dict = {}
    # the convolutions first (seconds): the eigen baseline at 10⁶ nodes may use the rest of the share
    w = sz.conv_width
    for n in sz.conv_nodes:
        torch.manual_seed(0)
        ei = random_sparse_graph(n).to(dev)
        x = torch.randn(n, w, device=dev, requires_grad=True)
        convs = {
            "GATv2Conv": lambda: GATv2Conv(w, w, heads=1, add_self_loops=False),
            "GINConv": lambda: GINConv(nn.Sequential(nn.Linear(w, w), nn.ReLU(), nn.Linear(w, w))),
            **{f"SIRConv({a})": (lambda a=a: SIRConv(w, w, aggr=a)) for a in ("sum", "mean", "max", "sym")},
        }
        conv_rows = []
        for name, make in convs.items():

            def measure(make=make, x=x, ei=ei):
                conv = make().to(dev)
                return {"ms": sec.timed(_fb(lambda inp, conv=conv: conv(inp, ei).square(), x))}

            conv_rows.append(
                sec.case(
                    {"part": "conv", "nodes": n, "edges": ei.size(1), "impl": name},
                    measure,
                    _predict(history, name, n),
                )
            )
            if conv_rows[-1]["status"] == "ok":
                history[name] = (n, sec.last_wall)
        base = next((r.get("ms") for r in conv_rows if r["impl"] == "GATv2Conv"), None)
        for r in conv_rows:
            if r.get("status") == "ok" and base:
                r["ms / GATv2"] = r["ms"] / base
    eig_over = False
    for n in sz.rfp_nodes:
        ei_cpu = random_sparse_graph(n)
        n = int(ei_cpu.max()) + 1
        data_cpu = Data(edge_index=ei_cpu, num_nodes=n)
        data = Data(edge_index=ei_cpu.to(dev), num_nodes=n)
        E = ei_cpu.size(1)
        x = torch.randn(n, sz.conv_width, device=dev)
        rows_here = []
        # seed=None: random starts drawn on the host and moved; seed=0 (as in bench_graphs.py) also
        # hashes the graph (a device→host copy of edge_index) to derive a per-graph seed
        for norm, seed in (("qr", None), ("l2", None), ("qr", 0)):
            t = AddRandomFeaturePropagationPE(k, T, normalization=norm, seed=seed)
            name = f"AddRandomFeaturePropagationPE ({norm}{', seeded' if seed is not None else ''})"

            def measure(t=t, data=data):
                return {"ms": sec.timed(lambda: t(data.clone()), repeats=min(sz.repeats, 5))}

            rows_here.append(
                sec.case(
                    {"part": "encoding", "nodes": n, "edges": E, "impl": name},
                    measure,
                    _predict(history, name, E),
                )
            )
            if rows_here[-1]["status"] == "ok":
                history[name] = (E, sec.last_wall)
        for op in ("sym", "attention"):
            name = f"RandomFeaturePropagation ({op}) fwd+bwd"
            mod = RandomFeaturePropagation(k, T, sz.conv_width, in_channels=x.shape[1], operator=op).to(dev)

            def measure(mod=mod, x=x, data=data):
                xx = x.clone().requires_grad_()
                return {
                    "ms": sec.timed(_fb(lambda a: mod(a, data.edge_index), xx), repeats=min(sz.repeats, 5))
                }

            rows_here.append(
                sec.case(
                    {"part": "encoding", "nodes": n, "edges": E, "impl": name},
                    measure,
                    _predict(history, name, E),
                )
            )
            if rows_here[-1]["status"] == "ok":
                history[name] = (E, sec.last_wall)
        name = "AddLaplacianEigenvectorPE (host CPU, scipy)"
        if eig_over:
            rows_here.append(
                sec.case(
                    {"part": "encoding", "nodes": n, "edges": E, "impl": name},
                    lambda: {"ms": None, "note": "skipped: over budget at a smaller size"},
                )
            )
        else:
            budget = min(sz.lap_pe_budget_s, max(sec.left() - 5.0, 1.0))

            def measure(budget=budget, n=n, data_cpu=data_cpu):
                if n <= sz.lap_pe_inprocess_max:  # one in-process call (seconds at 10⁵ nodes)
                    lap = AddLaplacianEigenvectorPE(k, attr_name="lap_pe", is_undirected=True)
                    t0 = time.perf_counter()
                    lap(data_cpu.clone())
                    return {"ms": 1e3 * (time.perf_counter() - t0), "note": "one call"}
                s = time_laplacian_pe(data_cpu, k, budget)  # child process, stopped past the budget
                if s is None:
                    return {"ms": None, "note": f"> {budget:.0f} s (stopped)"}
                return {"ms": 1e3 * s, "note": "one call (child process)"}

            row = sec.case({"part": "encoding", "nodes": n, "edges": E, "impl": name}, measure)
            eig_over = row.get("ms") is None
            rows_here.append(row)
        base = next((r.get("ms") for r in rows_here if r["impl"] == name), None)
        for r in rows_here:
            if r.get("status") == "ok" and r.get("ms") and base:
                r["LapPE ms / ms"] = base / r["ms"]
        del data, data_cpu, x


# ============================================================================================ later modules
def section_grassmann(sec: Section) -> None:
    """Grassmann head fwd+bwd vs its Linear floor, and the optimizer steps (``bench_grassmann`` helpers)."""
    from geomrep.cli.grassmann import time_head, time_optimizer_steps

    dev, sz = sec.device, sec.sizes
    for d, C, k in sz.grassmann:
        sec.case(
            {"part": "head"},
            lambda d=d, C=C, k=k: time_head(d, C, k, sz.grassmann_batch, device=dev, repeats=sz.repeats),
        )
        sec.case(
            {"part": "optimizer step"},
            lambda d=d, C=C, k=k: time_optimizer_steps(d, C, k, device=dev, repeats=sz.repeats),
        )


def section_permutation(sec: Section) -> None:
    """2→2 permutation-equivariant layer vs dense basis and Maron et al. (``bench_permutation.measure``)."""
    import bench_permutation

    dev, sz = sec.device, sec.sizes
    history: dict = {}
    for n in sz.perm_n:
        pred = _predict(history, "all", n**2)
        row = sec.case(
            {"n": n},
            lambda n=n: bench_permutation.measure(
                n, sz.perm_batch, sz.perm_channels, dev.type, sz.repeats, sz.perm_dense_limit_gb
            ),
            pred,
        )
        if row["status"] == "ok":
            history["all"] = (n**2, sec.last_wall)


def section_products(sec: Section) -> None:
    """Chunked ``ProductSpace.pdist`` vs geoopt's broadcasting ProductManifold, float32 and float64."""
    import geoopt

    from geomrep.manifolds.products import ProductSpace

    dev, sz = sec.device, sec.sizes
    for dtype in (torch.float32, torch.float64):
        for n in sz.pdist_n:

            def measure(n=n, dtype=dtype):
                space = ProductSpace("(H2)^5")
                gen = torch.Generator().manual_seed(0)
                x = space.random(n, space.dim, std=0.5, dtype=dtype, generator=gen).to(dev)
                base = geoopt.ProductManifold(
                    *[(geoopt.Stereographic(f.k), f.dim) for f in space.factors]
                ).to(dev)
                ours = sec.timed(lambda: space.pdist(x))
                theirs = sec.timed(lambda: base.dist(x[:, None, :], x[None, :, :]))
                diff = float((space.pdist(x) - base.dist(x[:, None, :], x[None, :, :])).abs().max())
                return {
                    "pdist ms": ours,
                    "geoopt ms": theirs,
                    "geoopt / ours": theirs / ours,
                    "Mpairs/s": n * n / ours / 1e3,
                    "max abs diff": diff,
                }

            sec.case({"n": n, "signature": "(H2)^5", "dtype": str(dtype).replace("torch.", "")}, measure)


def section_so3(sec: Section) -> None:
    """6D map, special Procrustes and geodesic distance vs roma (``time_rotation_maps``)."""
    from geomrep.cli.so3 import time_rotation_maps

    dev, sz = sec.device, sec.sizes
    result: list = []

    def measure():
        result.extend(time_rotation_maps(sz.so3_n, repeats=sz.repeats, device=dev))
        return {}

    row = sec.case({}, measure)
    if row["status"] == "ok":
        sec.rows.remove(row)
        for r in result:
            r.update(status="ok", note="")
            sec.rows.append(r)


SECTION_FNS = {
    "sqrtm": section_sqrtm,
    "spd": section_spd,
    "gaunt": section_gaunt,
    "graphs": section_graphs,
    "grassmann": section_grassmann,
    "permutation": section_permutation,
    "products": section_products,
    "so3": section_so3,
}


# ============================================================================================ output
def environment(device: torch.device) -> dict:
    """Device name, library versions, date: the header of the report."""
    env = {
        "date (UTC)": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": str(device),
        "device name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "CUDA (torch build)": torch.version.cuda,
        "cuDNN": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "float32 matmul precision": torch.get_float32_matmul_precision(),
        "TF32 matmul": torch.backends.cuda.matmul.allow_tf32,
        "python": platform.python_version(),
        "host": f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env["device memory GiB"] = round(props.total_memory / 2**30, 1)
    for mod in ("e3nn", "torch_geometric", "geoopt", "roma", "scipy", "numpy"):
        try:
            m = __import__(mod)
            where = getattr(m, "__file__", "") or ""
            env[mod] = f"{getattr(m, '__version__', '?')}" + (
                " (from a wheel on PYTHONPATH)" if ".whl" in where else ""
            )
        except Exception as exc:  # noqa: BLE001
            env[mod] = f"not importable ({type(exc).__name__})"
    return env


def recommendations_text(rec: dict, env: dict) -> str:
    """The paste-ready block for ``select_method`` (CUDA) and ``default_backend`` (CUDA)."""
    lines = [
        f"# measured {env['date (UTC)']} on {env['device name']}"
        f" (torch {env['torch']}, CUDA {env['CUDA (torch build)']})"
    ]
    sq = rec.get("sqrtm")
    if sq:
        lines.append(
            "# geomrep.linalg.select_method, CUDA: fastest method with sqrtm and invsqrtm error"
            f" ≤ {SQRTM_ERR_BOUND:g} at κ ≤ 1e3\n#   (float32, fwd+bwd, by the sum of the sqrtm and invsqrtm"
            " times; 'auto' and plain eigh autograd excluded)"
        )
        for batch, by_n in sq.items():
            lines.append(
                f"CUDA_SQRTM_METHOD_BATCH{batch} = " + repr({n: v["method"] for n, v in by_n.items()})
            )
            for n, v in by_n.items():
                sp = v["speed-up vs eigh (sqrtm)"]
                lines.append(
                    f"#   n = {n}: {v['method']} sqrtm {v['sqrtm ms']:.4g} ms, eigh autograd "
                    + (f"{v['eigh ms']:.4g} ms, {sp:.3g}× faster" if sp else "not measured")
                    + (
                        " (target ≥ 5× at n = 64: " + ("met" if sp and sp >= 5 else "not met") + ")"
                        if n == 64
                        else ""
                    )
                )
    else:
        lines.append("# select_method: no recommendation (sqrtm section did not produce one)")
    ga = rec.get("gaunt")
    if ga:
        lines.append(
            "# geomrep.equivariant.gaunt.default_backend, CUDA: fastest of grid/fft per L (fwd+bwd, float32)"
        )
        for rows, by_l in ga.items():
            lines.append(
                f"CUDA_GAUNT_BACKEND_ROWS{rows} = " + repr({L: v["backend"] for L, v in by_l.items()})
            )
            for L, v in by_l.items():
                ms = ", ".join(f"{b} {t:.4g}" for b, t in v["ms"].items())
                lines.append(
                    f"#   L = {L}: {ms} ms"
                    + (" (dense fastest)" if v["fastest incl. dense"] == "dense" else "")
                )
    else:
        lines.append("# default_backend: no recommendation (gaunt section did not produce one)")
    return "\n".join(lines)


def plots(out: Path, sections: dict, quick: bool) -> list[str]:
    """PNG plots (sqrtm time vs n, Gaunt time vs L); returns the file names, or raises ImportError."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    sq = sections.get("sqrtm")
    if sq is not None and sq.rows:
        batches = sorted({r["batch"] for r in sq.rows if "batch" in r})
        fig, axes = plt.subplots(
            1, max(len(batches), 1), figsize=(5.5 * max(len(batches), 1), 4), squeeze=False
        )
        for ax, b in zip(axes[0], batches):
            impls = list(dict.fromkeys(r["impl"] for r in sq.rows if r.get("batch") == b))
            for impl in impls:
                pts = [
                    (r["n"], r["ms"])
                    for r in sq.rows
                    if r.get("batch") == b
                    and r.get("impl") == impl
                    and r.get("op") == "sqrtm"
                    and r.get("ms")
                ]
                if pts:
                    ax.loglog(*zip(*pts), "s--" if impl == "eigh autograd" else "o-", label=impl)
            ax.set_xlabel("n")
            ax.set_ylabel("sqrtm fwd+bwd ms")
            ax.set_title(f"sqrtm, batch {b}, float32")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "gpu_sqrtm.png", dpi=80)
        plt.close(fig)
        names.append("gpu_sqrtm.png")
    ga = sections.get("gaunt")
    if ga is not None and ga.rows:
        rows_list = sorted({r["rows"] for r in ga.rows if "rows" in r})
        fig, axes = plt.subplots(
            1, max(len(rows_list), 1), figsize=(5.5 * max(len(rows_list), 1), 4), squeeze=False
        )
        for ax, rows in zip(axes[0], rows_list):
            impls = list(dict.fromkeys(r["impl"] for r in ga.rows if r.get("rows") == rows))
            for impl in impls:
                pts = [
                    (r["L"], r["fwd+bwd ms"])
                    for r in ga.rows
                    if r.get("rows") == rows and r.get("impl") == impl and r.get("fwd+bwd ms")
                ]
                if pts:
                    ax.loglog(*zip(*pts), "s--" if impl.startswith("e3nn") else "o-", label=impl)
            ax.set_xlabel("L")
            ax.set_ylabel("fwd+bwd ms")
            ax.set_title(f"Gaunt product, {rows} rows, float32")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "gpu_gaunt.png", dpi=80)
        plt.close(fig)
        names.append("gpu_gaunt.png")
    return names


def _clean(v):
    """JSON-safe value (floats rounded to 4 significant digits, NaN/inf as strings)."""
    if isinstance(v, float):
        return round_sig(v) if math.isfinite(v) else str(v)
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def write_report(
    out: Path, env: dict, args, sections: dict, rec: dict, extra: dict, elapsed: float, final: bool = True
) -> tuple[Path, Path]:
    """Write ``gpu_suite.md`` and ``gpu_suite.json`` (and the plots when ``final``)."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        pngs, plot_note = [], "partial report: plots are drawn at the end of the run"
        if final:
            pngs, plot_note = plots(out, sections, args.quick), ""
    except ImportError as exc:
        pngs, plot_note = [], f"no plots: matplotlib is not importable here ({exc})"
    except Exception as exc:  # noqa: BLE001 — a plot must not lose the tables
        pngs, plot_note = [], f"no plots: {type(exc).__name__}: {exc}"
    rec_text = recommendations_text(rec, env)
    md = [
        "# GPU benchmark suite (`benchmarks/gpu_suite.py`)"
        + (" — QUICK REHEARSAL, numbers mean nothing" if args.quick else ""),
        "",
        *[f"- {k}: {v}" for k, v in env.items()],
        f"- command: `{' '.join(sys.argv)}`",
        *([] if final else ["- **PARTIAL REPORT: written after a section while the run was still going**"]),
        f"- budget {args.budget_s:.0f} s, run time {elapsed:.0f} s; forward+backward times, median of repeats"
        " after one warm-up call (CUDA events on a GPU), each baseline in the same run",
        "",
        "## Sections",
        "",
        markdown_table(
            [
                {
                    "section": s.name,
                    "status": s.status,
                    "rows": len(s.rows),
                    "cases skipped (time)": s.skipped,
                    "seconds": round(s.seconds, 1),
                }
                for s in sections.values()
            ]
        ),
        "",
        "## Recommendations",
        "",
        "```python",
        rec_text,
        "```",
        "",
    ]
    if extra.get("gaunt summary"):
        md += [
            "## gaunt: summary (speed-up = fastest e3nn same-function time / fastest gaunt_product time)",
            "",
            markdown_table(extra["gaunt summary"]),
            "",
        ]
    for s in sections.values():
        md += [f"## {s.name}", "", f"status: **{s.status}**", ""]
        if not s.rows:
            md += ["(no rows)", ""]
        # one table per part (rows of one part share their columns)
        for part in dict.fromkeys(r.get("part") for r in s.rows):
            rows = [{k: v for k, v in r.items() if k != "part"} for r in s.rows if r.get("part") == part]
            md += ([f"### {part}", ""] if part else []) + [markdown_table(rows), ""]
    md += [f"![{p}]({p})" for p in pngs] or [plot_note]
    md_path, json_path = out / "gpu_suite.md", out / "gpu_suite.json"
    md_path.write_text("\n".join(md) + "\n")
    payload = {
        "environment": env,
        "args": vars(args) | {"out": str(args.out)},
        "elapsed_s": elapsed,
        "sections": {
            s.name: {"status": s.status, "seconds": s.seconds, "skipped": s.skipped, "errors": s.errors}
            for s in sections.values()
        },
        "rows": [{"section": s.name, **r} for s in sections.values() for r in s.rows],
        "recommendations": rec,
        "recommendations_text": rec_text,
        "gaunt_summary": extra.get("gaunt summary", []),
        "final": final,
        "plots": pngs,
        "plot_note": plot_note,
    }
    json_path.write_text(json.dumps(_clean(payload), indent=1, ensure_ascii=False) + "\n")
    return md_path, json_path


# ============================================================================================ main
def _warm_device(device: torch.device) -> None:
    """Create the CUDA context and the cuBLAS/cuSOLVER handles before anything is timed."""
    a = torch.randn(64, 8, 8, device=device)
    a = a @ a.mT + torch.eye(8, device=device)
    torch.linalg.eigh(a)
    torch.linalg.qr(a)
    torch.fft.rfft(a, dim=-1)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=_HERE / "results" / "gpu", help="output folder")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (rehearsal)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: the same code paths in seconds")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="time budget in seconds, imports included (default 300; 120 with --quick)",
    )
    parser.add_argument("--sections", nargs="*", default=None, choices=SECTIONS, help="subset of sections")
    parser.add_argument("--inject-failure", default=None, choices=SECTIONS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.budget_s is None:
        args.budget_s = 120.0 if args.quick else 300.0
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            "gpu_suite: CUDA is not available (use --device cpu --quick for the rehearsal)", file=sys.stderr
        )
        return 2
    t_start = _T0
    deadline = t_start + args.budget_s
    torch.manual_seed(0)
    sizes = QUICK if args.quick else Sizes()
    env = environment(device)
    print("\n".join(f"{k}: {v}" for k, v in env.items()), flush=True)
    _warm_device(device)
    selected = [s for s in SECTIONS if args.sections is None or s in args.sections]
    sections: dict = {}
    rec: dict = {}
    extra: dict = {}
    for i, name in enumerate(selected):
        now = time.perf_counter()
        left = deadline - now
        share = SHARES[name] / sum(SHARES[s] for s in selected[i:])
        sec = Section(name, device, sizes, deadline=now + max(left, 0.0) * share)
        sections[name] = sec
        if left <= 0:
            sec.status = "skipped: time budget exhausted"
            print(f"== {name}: skipped (time budget exhausted)", flush=True)
            continue
        print(f"== {name} ({max(left, 0) * share:.0f} s of {left:.0f} s left)", flush=True)
        try:
            if args.inject_failure == name:
                raise InjectedFailure(f"failure injected into section {name!r} (--inject-failure)")
            result = SECTION_FNS[name](sec)
            if name == "sqrtm":
                rec["sqrtm"] = result
            elif name == "gaunt":
                rec["gaunt"] = result["backend"]
                extra["gaunt summary"] = result["summary"]
            if sec.errors:
                sec.status = f"ERRORS in {sec.errors} case(s)"
            elif sec.skipped or sec.oom:
                parts = [f"{sec.skipped} case(s) skipped for time"] * bool(sec.skipped)
                parts += [f"{sec.oom} case(s) out of memory"] * bool(sec.oom)
                sec.status = "ok, " + ", ".join(parts)
        except Exception as exc:  # noqa: BLE001 — one failed section must not lose the others
            traceback.print_exc()
            sec.status = f"FAILED: {type(exc).__name__}: {exc}"[:300]
            if device.type == "cuda":
                torch.cuda.empty_cache()
        sec.seconds = time.perf_counter() - now
        for row in sec.rows:  # status and note last in every row
            row["status"], row["note"] = row.pop("status", "ok"), row.pop("note", "")
        print(f"   {name}: {sec.status} ({sec.seconds:.1f} s, {len(sec.rows)} rows)", flush=True)
        print(markdown_table(sec.rows) if sec.rows else "   (no rows)", flush=True)
        # the report so far, in case the run is stopped (timeout) before the end; plots at the end only
        write_report(args.out, env, args, sections, rec, extra, time.perf_counter() - t_start, final=False)
    elapsed = time.perf_counter() - t_start
    md_path, json_path = write_report(args.out, env, args, sections, rec, extra, elapsed)
    print("\nrecommendations:\n" + recommendations_text(rec, env), flush=True)
    print(f"\nwrote {md_path} and {json_path} ({elapsed:.0f} s)", flush=True)
    bad = [s.name for s in sections.values() if s.status.startswith(("FAILED", "ERRORS"))]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
