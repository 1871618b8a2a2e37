"""Timing helper shared by registered benchmarks and the scripts in ``benchmarks/``."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

__all__ = ["time_fn"]


def _sync(device: torch.device | str | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_fn(
    fn: Callable[[], object],
    *,
    warmup: int = 3,
    repeats: int = 10,
    device: torch.device | str | None = None,
    min_time: float = 0.0,
) -> float:
    """Median wall time of ``fn()`` in seconds, warm-up calls excluded.

    Args:
        fn: zero-argument callable to time.
        warmup: calls made before timing (compilation, caches, allocator warm-up).
        repeats: timed calls; the median is returned.
        device: when a CUDA device, synchronise before and after each call.
        min_time: keep repeating (beyond ``repeats``) until this many seconds were timed.
    """
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    total = 0.0
    while len(times) < repeats or total < min_time:
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    return statistics.median(times)
