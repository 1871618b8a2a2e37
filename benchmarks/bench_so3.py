"""Benchmark of geomrep.manifolds.so3 against roma: forward+backward time on 10⁶ rotations.

Times, in the same run (median of repeats, warm-up excluded), forward + backward of

- ``rotation_6d_to_matrix`` vs ``roma.special_gramschmidt`` (6D → SO(3), Gram–Schmidt),
- ``special_procrustes`` vs ``roma.special_procrustes`` (9D → SO(3), SVD),
- ``geodesic_distance`` vs ``roma.rotmat_geodesic_distance`` (2·asin of the chord),

on ``n`` random inputs (10⁶ by default; 10⁴ with ``--quick``), float32. Target of issue #12: no slower than
roma. The script also prints the accuracy context of the distance (error and gradient at angles near 0 and
π in float32, against the exact angle of the stored matrices): roma's form is cheaper but loses digits
near π and has an infinite gradient at π; 6DRepNet's clamped acos has a dead gradient below ~5e-4 rad.

Usage: ``python benchmarks/bench_so3.py [--quick] [--threads 2] [--device cpu|cuda]``. Writes
``benchmarks/results/so3.md`` (``so3_quick.md`` with ``--quick``, ``_cuda`` appended on a GPU).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import time
from pathlib import Path

import roma
import torch

from geomrep.cli.so3 import time_rotation_maps
from geomrep.cli.table import format_table, markdown_table
from geomrep.manifolds.so3 import geodesic_distance

RESULTS = Path(__file__).resolve().parent / "results"


def _rot_z(t: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(t), torch.sin(t)
    o, one = torch.zeros_like(t), torch.ones_like(t)
    rows = (torch.stack((c, -s, o)), torch.stack((s, c, o)), torch.stack((o, o, one)))
    return torch.stack(rows)


def _acos_6drepnet(R1, R2):
    cos = ((R1.mT @ R2).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    return torch.acos(torch.clamp(cos, -1 + 1e-7, 1 - 1e-7))


def accuracy_rows(device: str) -> list[dict]:
    """|θ̂ − θ| and dθ̂/dθ (exact: 1) at critical angles, float32, for the three distance forms."""
    rows = []
    eye = torch.eye(3, device=device)
    for theta in (1e-6, 1e-4, math.pi - 1e-3, math.pi - 1e-6):
        row = {"angle": f"{theta:.6g}"}
        for name, fn in (
            ("geomrep", geodesic_distance),
            ("roma", roma.rotmat_geodesic_distance),
            ("acos 1e-7 clamp", _acos_6drepnet),
        ):
            t = torch.tensor(theta, device=device, requires_grad=True)
            R = _rot_z(t)
            d = fn(eye, R)
            (g,) = torch.autograd.grad(d, t)
            Rd = R.detach()
            exact = math.atan2(float(Rd[1, 0]), float(Rd[0, 0]))  # the angle of the stored float32 matrix
            row[f"{name} rel err"] = abs(float(d.detach()) - exact) / exact
            row[f"{name} dθ"] = float(g)
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10⁴ rotations, 3 repeats (smoke test, seconds)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--n", type=int, default=None, help="number of rotations (default 10⁶, 10⁴ quick)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    n = args.n or (10_000 if args.quick else 1_000_000)
    rows = time_rotation_maps(
        n, repeats=3 if args.quick else 7, warmup=1 if args.quick else 2, device=args.device
    )
    for r in rows:
        r["target: no slower than roma"] = "met" if r["roma / geomrep"] >= 1.0 else "not met"
    acc = accuracy_rows(args.device)
    print(format_table(rows))
    print()
    print(format_table(acc))
    suffix = ("_quick" if args.quick else "") + ("" if args.device == "cpu" else f"_{args.device}")
    device_name = (
        f"cuda ({torch.cuda.get_device_name(args.device)})"
        if torch.device(args.device).type == "cuda"
        else "CPU"
    )
    header = [
        "# SO(3) maps benchmark (`benchmarks/bench_so3.py`)",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
        f"torch.set_num_threads({args.threads}), torch {torch.__version__}, device {device_name}",
        f"- mode: {'quick (smoke test: timings not meaningful)' if args.quick else 'full'}; "
        f"total run time {time.perf_counter() - t0:.0f} s",
        f"- forward + backward (`out.sum().backward()`) on n = {n} float32 inputs, median of repeats, "
        "warm-up excluded; ours and roma's in the same run.",
        "",
        markdown_table(rows),
        "",
        "## Accuracy context (float32, R₂ = R_z(θ), relative error of the value and dθ̂/dθ; exact: 0 and 1)",
        "",
        markdown_table(acc),
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"so3{suffix}.md"
    out.write_text("\n".join(header))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
