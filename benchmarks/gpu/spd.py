"""GPU section ``spd``: ``SPDBatchNorm`` (gbw, bw, aim, lem) vs the per-matrix loop twin of the GBW layer.

Forward+backward of each metric's batched layer against ``gbw_batchnorm_reference`` (through
``geomrep.cli.spd.time_batchnorm``; the ``bw`` layer timed here), for each n and batch of the sizes.
Target: the loop twin ≥ 20× slower than the batched GBW layer.
"""

from __future__ import annotations

import torch

from gpu._common import Section


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
