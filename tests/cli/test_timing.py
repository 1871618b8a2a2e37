"""geomrep.cli.timing.time_fn: warm-up excluded, median of repeats, min_time / max_time bounds."""

from __future__ import annotations

import time

import pytest
import torch

from geomrep.cli.timing import time_fn


def _counting(sleep_s: float = 0.0):
    calls = []

    def fn():
        calls.append(1)
        if sleep_s:
            time.sleep(sleep_s)

    return fn, calls


def test_warmup_and_repeats_are_counted():
    fn, calls = _counting()
    time_fn(fn, warmup=2, repeats=5)
    assert len(calls) == 7


def test_median_excludes_a_slow_warmup():
    state = {"first": True}

    def fn():
        if state.pop("first", False):
            time.sleep(0.2)

    assert time_fn(fn, warmup=1, repeats=3) < 0.05


def test_max_time_stops_repeating_but_times_at_least_once():
    fn, calls = _counting(0.02)
    t = time_fn(fn, warmup=0, repeats=100, max_time=0.05)
    assert 1 <= len(calls) <= 4 and t >= 0.015
    fn, calls = _counting(0.02)
    time_fn(fn, warmup=0, repeats=100, max_time=0.0)
    assert len(calls) == 1


def test_min_time_extends_beyond_repeats():
    fn, calls = _counting(0.01)
    time_fn(fn, warmup=0, repeats=1, min_time=0.05)
    assert len(calls) >= 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA-event timing needs a CUDA device")
def test_cuda_events_time_gpu_work():
    a = torch.randn(2048, 2048, device="cuda")
    t_small = time_fn(lambda: a[:64, :64] @ a[:64, :64], warmup=2, repeats=5, device="cuda")
    t_big = time_fn(lambda: [a @ a for _ in range(5)], warmup=2, repeats=5, device="cuda")
    assert 0 < t_small < t_big
