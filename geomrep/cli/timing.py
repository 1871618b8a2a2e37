"""Timing helper shared by registered benchmarks and the scripts in ``benchmarks/``."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

__all__ = ["time_fn"]


def _is_cuda(device: torch.device | str | None) -> bool:
    return device is not None and torch.device(device).type == "cuda"


def _sync(device: torch.device | str | None) -> None:
    if _is_cuda(device):
        torch.cuda.synchronize(device)


def _time_once(fn: Callable[[], object], device: torch.device | str | None) -> float:
    """Seconds of one ``fn()``: CUDA events on a CUDA device, ``perf_counter`` otherwise."""
    if _is_cuda(device):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return 1e-3 * start.elapsed_time(end)  # elapsed_time is in milliseconds
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def time_fn(
    fn: Callable[[], object],
    *,
    warmup: int = 3,
    repeats: int = 10,
    device: torch.device | str | None = None,
    min_time: float = 0.0,
    max_time: float | None = None,
) -> float:
    """Median time of ``fn()`` in seconds, warm-up calls excluded.

    On a CUDA device each call is timed with a pair of CUDA events recorded on the current stream
    around it (``start.record(); fn(); end.record()``; after a device synchronisation, so no earlier
    work is counted): the GPU time from the first to the last kernel the call enqueued, including any
    idle gaps while the host was still launching (so a launch-bound call is not under-reported). On
    other devices it is the wall time (``time.perf_counter``).

    Args:
        fn: zero-argument callable to time.
        warmup: calls made before timing (compilation, caches, allocator warm-up).
        repeats: timed calls; the median is returned.
        device: a CUDA device selects CUDA-event timing (and synchronisation around the warm-up).
        min_time: keep repeating (beyond ``repeats``) until this many seconds were timed.
        max_time: stop repeating (before ``repeats``) once this many seconds were timed; at least one
            call is always timed. Bounds the cost of a slow case in a time-budgeted suite.
    """
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    total = 0.0
    while len(times) < repeats or total < min_time:
        if max_time is not None and times and total >= max_time:
            break
        dt = _time_once(fn, device)
        times.append(dt)
        total += dt
    return statistics.median(times)
