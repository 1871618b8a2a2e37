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

Layout: this file is the driver (arguments, the time budget shared out over the sections, the report,
the plots and the recommendations); each section is one module of the ``benchmarks/gpu/`` package
(``gpu.sqrtm`` … ``gpu.so3``, imported as ``gpu`` because this script puts ``benchmarks/`` on
``sys.path``, as it does for the ``bench_*`` modules), and ``gpu/_common.py`` holds the problem sizes
(:class:`~gpu._common.Sizes`), the per-section harness (:class:`~gpu._common.Section`) and the
helpers the sections share.

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
from pathlib import Path

_T0 = time.perf_counter()  # the budget counts from here: torch, e3nn, PyG imports included

_HERE = Path(__file__).resolve().parent
for _p in (_HERE.parent, _HERE):  # run from the source tree: geomrep, the bench_* modules, gpu/
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import torch  # noqa: E402
from gpu._common import QUICK, Section, Sizes  # noqa: E402
from gpu.gaunt import section_gaunt  # noqa: E402
from gpu.graphs import section_graphs  # noqa: E402
from gpu.grassmann import section_grassmann  # noqa: E402
from gpu.permutation import section_permutation  # noqa: E402
from gpu.products import section_products  # noqa: E402
from gpu.so3 import section_so3  # noqa: E402
from gpu.spd import section_spd  # noqa: E402
from gpu.sqrtm import SQRTM_ERR_BOUND, section_sqrtm  # noqa: E402

from geomrep.cli.table import markdown_table, round_sig  # noqa: E402

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
assert tuple(SECTION_FNS) == SECTIONS


class InjectedFailure(RuntimeError):
    """Raised by ``--inject-failure SECTION`` (tests the failed-section report)."""


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


def _panel_plot(plt, rows, *, panel, x, y, keep, baseline, xlabel, ylabel, title, path: Path) -> None:
    """Log-log panels (one per value of ``panel``, a line per ``impl``, baselines dashed) into ``path``."""
    values = sorted({r[panel] for r in rows if panel in r})
    fig, axes = plt.subplots(1, max(len(values), 1), figsize=(5.5 * max(len(values), 1), 4), squeeze=False)
    for ax, v in zip(axes[0], values):
        impls = list(dict.fromkeys(r["impl"] for r in rows if r.get(panel) == v))
        for impl in impls:
            pts = [(r[x], r[y]) for r in rows if r.get(panel) == v and r.get("impl") == impl and keep(r)]
            if pts:
                ax.loglog(*zip(*pts), "s--" if baseline(impl) else "o-", label=impl)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title.format(v))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plots(out: Path, sections: dict, quick: bool) -> list[str]:
    """PNG plots (sqrtm time vs n, Gaunt time vs L); returns the file names, or raises ImportError."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    sq = sections.get("sqrtm")
    if sq is not None and sq.rows:
        _panel_plot(
            plt,
            sq.rows,
            panel="batch",
            x="n",
            y="ms",
            keep=lambda r: r.get("op") == "sqrtm" and bool(r.get("ms")),
            baseline=lambda impl: impl == "eigh autograd",
            xlabel="n",
            ylabel="sqrtm fwd+bwd ms",
            title="sqrtm, batch {}, float32",
            path=out / "gpu_sqrtm.png",
        )
        names.append("gpu_sqrtm.png")
    ga = sections.get("gaunt")
    if ga is not None and ga.rows:
        _panel_plot(
            plt,
            ga.rows,
            panel="rows",
            x="L",
            y="fwd+bwd ms",
            keep=lambda r: bool(r.get("fwd+bwd ms")),
            baseline=lambda impl: impl.startswith("e3nn"),
            xlabel="L",
            ylabel="fwd+bwd ms",
            title="Gaunt product, {} rows, float32",
            path=out / "gpu_gaunt.png",
        )
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
