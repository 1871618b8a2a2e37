"""Shared pieces of the GPU benchmark sections: problem sizes, the per-section harness, two helpers.

- :class:`Sizes` and :data:`QUICK`: the problem sizes of the full GPU run and of the CPU rehearsal
  (``--quick``).
- :class:`Section`: the rows and status of one section; :meth:`Section.case` runs one measurement
  within the section's deadline (skipped when predicted not to fit, exceptions and CUDA
  out-of-memory recorded in the row), :meth:`Section.timed` times a closure (``time_fn``, CUDA
  events on a GPU, one warm-up call, median of repeats).
- :func:`predict`: the cost of the next size of an implementation from its last measured size.
- :func:`fwd_bwd`: a forward+backward closure.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from geomrep.cli.timing import time_fn


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


def predict(history: dict, key, size: float) -> float:
    """Cost of a case of ``size`` from the last measured case of the same ``key`` (linear in size)."""
    if key not in history:
        return 0.0
    prev_size, prev_wall = history[key]
    return prev_wall * size / prev_size


def fwd_bwd(fn: Callable, *inputs: torch.Tensor, weight: torch.Tensor | None = None) -> Callable[[], None]:
    """A closure running ``fn(*inputs)`` forward and backward (``(out · weight).sum()``, or ``.sum()``)."""

    def run():
        for t in inputs:
            t.grad = None
        out = fn(*inputs)
        (out * weight if weight is not None else out).sum().backward()

    return run
