"""Command line interface: ``python -m geomrep {demo,bench,check,list}``.

Feature modules (``geomrep.cli.linalg``, ``spd``, ``gaunt``, ``graphs``) register their demo
tasks, benchmarks and checks in :data:`geomrep.cli.registry.REGISTRY` when imported here.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import time
import traceback
from pathlib import Path

import torch

from . import gaunt, graphs, grassmann, linalg, permutation, products, so3, spd  # noqa: F401  (registration side effects)
from .registry import REGISTRY, Registry
from .table import format_table

__all__ = ["main", "run_checks", "run_demos", "run_benchmarks"]

_DTYPES = (torch.float32, torch.float64)


def _select(table: dict, patterns: list[str] | None) -> list:
    if not patterns:
        return list(table.values())
    return [e for name, e in table.items() if any(fnmatch.fnmatch(name, p) or p in name for p in patterns)]


def run_checks(
    patterns: list[str] | None = None, seed: int = 0, registry: Registry = REGISTRY
) -> tuple[list[dict], bool]:
    """Evaluate the registered checks in float32 and float64; returns (rows, all_passed)."""
    rows, ok = [], True
    for check in _select(registry.checks, patterns):
        row = {"check": check.name}
        passed = True
        for dtype in _DTYPES:
            tag = str(dtype).replace("torch.", "")
            gen = torch.Generator().manual_seed(seed)
            try:
                err = float(check.fn(dtype, gen))
            except Exception as exc:  # report, keep going
                row[f"err {tag}"] = f"error: {type(exc).__name__}"
                row[f"tol {tag}"] = check.tol[dtype]
                passed = False
                continue
            row[f"err {tag}"] = err
            row[f"tol {tag}"] = float(check.tol[dtype])
            passed &= bool(err <= check.tol[dtype])  # NaN fails
        row["status"] = "PASS" if passed else "FAIL"
        ok &= passed
        rows.append(row)
    return rows, ok


def run_demos(
    outdir: Path, patterns: list[str] | None = None, quick: bool = False, registry: Registry = REGISTRY
) -> tuple[list[dict], bool]:
    """Run the registered demo tasks; each writes plots under ``outdir``. Returns (rows, all_ran)."""
    outdir.mkdir(parents=True, exist_ok=True)
    rows, ok = [], True
    for demo in _select(registry.demos, patterns):
        t0 = time.perf_counter()
        try:
            result = demo.fn(outdir, quick)
        except Exception:
            ok = False
            rows.append({"demo": demo.name, "result": "FAILED", "demo total s": time.perf_counter() - t0})
            traceback.print_exc()
            continue
        total = round(time.perf_counter() - t0, 1)  # its own key: rows may carry their own "seconds"
        rows.extend({"demo": demo.name, **r, "demo total s": total} for r in result)
    return rows, ok


def run_benchmarks(
    patterns: list[str] | None = None, quick: bool = False, registry: Registry = REGISTRY
) -> tuple[list[dict], bool]:
    """Run the registered benchmarks. Returns (rows, all_ran)."""
    rows, ok = [], True
    for bench in _select(registry.benchmarks, patterns):
        try:
            result = bench.fn(quick)
        except Exception:
            ok = False
            rows.append({"benchmark": bench.name, "result": "FAILED"})
            traceback.print_exc()
            continue
        rows.extend({"benchmark": bench.name, **r} for r in result)
    return rows, ok


def _print_grouped(rows: list[dict], key: str) -> None:
    """One table per demo/benchmark, so each shows only its own columns."""
    if not rows:
        print(format_table(rows))
        return
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(str(row.get(key)), []).append(row)
    for name, group in groups.items():
        print(f"\n== {name}")
        print(format_table([{k: v for k, v in r.items() if k != key} for r in group]))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m geomrep", description="geomrep demos, benchmarks and checks")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the demo tasks (real data, a metric, a baseline)")
    d.add_argument("names", nargs="*", help="only demos whose name matches (glob or substring)")
    d.add_argument("--out", default="geomrep-demo", help="folder for plots (default: geomrep-demo/)")
    d.add_argument("--quick", action="store_true", help="smaller settings")
    b = sub.add_parser("bench", help="run the registered benchmarks (ratios vs named baselines)")
    b.add_argument("names", nargs="*")
    b.add_argument("--quick", action="store_true")
    c = sub.add_parser("check", help="evaluate equivariance/invariance/isometry properties")
    c.add_argument("names", nargs="*")
    c.add_argument("--seed", type=int, default=0)
    sub.add_parser("list", help="list the registered demos, benchmarks and checks")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "list":
        for kind, table in (
            ("demo", REGISTRY.demos),
            ("bench", REGISTRY.benchmarks),
            ("check", REGISTRY.checks),
        ):
            for name, entry in table.items():
                print(f"{kind:6s} {name:32s} {entry.description}")
        return 0
    if args.command == "check":
        rows, ok = run_checks(args.names, seed=args.seed)
        print(format_table(rows))
        n_pass = sum(r["status"] == "PASS" for r in rows)
        print(f"\ncheck: {n_pass} passed, {len(rows) - n_pass} failed")
        return 0 if ok else 1
    if args.command == "demo":
        outdir = Path(args.out)
        rows, ok = run_demos(outdir, args.names, quick=args.quick)
        _print_grouped(rows, "demo")
        print(f"\nplots written under {outdir}/")
        return 0 if ok else 1
    if args.command == "bench":
        rows, ok = run_benchmarks(args.names, quick=args.quick)
        _print_grouped(rows, "benchmark")
        return 0 if ok else 1
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
