"""``run_distributed``: run a function in several CPU processes joined by a gloo process group."""

from __future__ import annotations

import io
import os
import queue as queue_mod
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

__all__ = ["run_distributed"]


def _rendezvous_file() -> tuple[str, str]:
    """A fresh private directory and a not-yet-existing store file in it (``file://`` rendezvous).

    A file store cannot collide with another group the way a "free" TCP port can (bound, released,
    then taken by a parallel test before the ranks connect): each call gets its own directory.
    """
    folder = tempfile.mkdtemp(prefix="geomrep_dist_")
    return folder, os.path.join(folder, "store")


def _worker(rank: int, world_size: int, store: str, fn: Callable, args: tuple, queue, timeout: float) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    try:
        dist.init_process_group(
            "gloo",
            init_method=f"file://{store}",
            rank=rank,
            world_size=world_size,
            timeout=timedelta(seconds=timeout),
        )
        try:
            result = fn(rank, world_size, *args)
        finally:
            dist.destroy_process_group()
        buf = io.BytesIO()
        torch.save(result, buf)  # plain bytes: no shared-memory handles outliving this process
        queue.put((rank, True, buf.getvalue()))
    except BaseException:  # report everything to the parent
        queue.put((rank, False, traceback.format_exc()))


def run_distributed(fn: Callable, world_size: int = 2, args: tuple = (), timeout: float = 180.0) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` processes with a gloo group on CPU.

    Use it to test layers under ``torch.nn.parallel.DistributedDataParallel`` or layers that
    synchronise statistics with ``torch.distributed`` collectives. The ranks meet through a file store
    in a fresh temporary directory (removed afterwards), so parallel calls (pytest-xdist) cannot
    collide on a port. Processes are *spawned*, so
    ``fn`` (and ``args``) must be picklable: a module-level function.

    Args:
        fn: ``fn(rank, world_size, *args) -> result``; the process group is initialised before the
            call and destroyed after it.
        world_size: number of processes.
        args: extra arguments passed to every rank.
        timeout: seconds to wait for all ranks (also the process-group timeout).

    Returns:
        List of the ranks' return values, indexed by rank (tensors are fine; detach them).

    Raises:
        RuntimeError: if a rank raised (its traceback is included) or timed out.

    Example:
        >>> def _sum(rank, world):  # must live at module level in real use
        ...     t = torch.tensor([rank + 1.0]); dist.all_reduce(t); return t
        >>> # run_distributed(_sum, 2) -> [tensor([3.]), tensor([3.])]
    """
    if not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive int, got {world_size!r}")
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    folder, store = _rendezvous_file()
    procs = [
        ctx.Process(target=_worker, args=(r, world_size, store, fn, tuple(args), queue, timeout), daemon=True)
        for r in range(world_size)
    ]
    try:
        for p in procs:
            p.start()
        return _collect(procs, queue, world_size, timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _collect(procs, queue, world_size: int, timeout: float) -> list:
    """Wait for every rank's result (or the first error, or the timeout); join the processes."""
    results: dict[int, object] = {}
    errors: list[str] = []
    deadline = time.monotonic() + timeout
    first_error_at = None
    try:
        while len(results) + len(errors) < world_size:
            now = time.monotonic()
            if now >= deadline or (first_error_at is not None and now - first_error_at > 10.0):
                break  # a failed rank can leave the others blocked in a collective: stop waiting
            try:
                rank, ok, payload = queue.get(timeout=min(deadline - now, 1.0))
            except queue_mod.Empty:
                if not any(p.is_alive() for p in procs) and queue.empty():
                    break
                continue
            if ok:
                results[rank] = torch.load(io.BytesIO(payload), weights_only=False)
            else:
                errors.append(f"rank {rank} failed:\n{payload}")
                first_error_at = first_error_at or time.monotonic()
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
    if errors:
        raise RuntimeError("\n".join(errors))
    if len(results) != world_size:
        missing = sorted(set(range(world_size)) - set(results))
        raise RuntimeError(f"run_distributed: ranks {missing} did not finish within {timeout:.0f}s")
    return [results[r] for r in range(world_size)]
