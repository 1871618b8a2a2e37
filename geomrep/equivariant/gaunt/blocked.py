"""Cache-blocked Gauss–Legendre grid product with a hand-written backward (the eager fast path of ``"grid"``).

The grid backend computes ``y = A_{L3}( S_{L1} x1 ∘ S_{L2} x2 )`` with ``S_L`` the synthesis (SH → samples
on a Gauss–Legendre × equispaced S² grid) and ``A_L`` the exact quadrature analysis (:mod:`.s2_grid`). Every
step is a GEMM of low arithmetic intensity (inner dimensions ``L+1`` and ``2L+1``), so on a CPU its speed is
set by where the samples live: at 2048 rows × L = 8 they are 2.7 MB per factor, past the L2 cache, and at
32,768 rows they leave the L3 cache too. This module runs the whole product on blocks of rows whose samples
stay in cache, and differentiates it by hand:

- forward, per block: two syntheses, one pointwise product, one analysis; the two sample blocks are kept
  for the backward (the same tensors autograd would save for the pointwise product);
- backward, per block: the output gradient is synthesised on the same grid and multiplied by the other
  factor's samples, then analysed to each input degree. This is exact because the Gaunt coefficients
  are symmetric in their three index pairs, so ``∂y/∂x1`` contracted with ``g`` is the Gaunt product
  of ``g`` and ``x2`` projected on degrees ``≤ L1``, and the grid resolves degree ``L1 + L2 + L3``;
- a double backward (``create_graph=True``, e.g. forces from energies) calls the same function on
  ``(g, x2)`` and ``(g, x1)``, so every order of derivative is available.

Channels: inputs are batch-first ``(R, C1, N1)`` and ``(R, C2, N2)`` with ``C1, C2 ∈ {C, 1}``; a factor
with one channel is synthesised once per row and broadcast (edge spherical harmonics in a message
passing layer), and its gradient is summed over the channels on the grid before the analysis.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import torch

from .s2_grid import grid_size
from .transforms import analysis_tables, cast_tables, sample_grid, synthesis_tables

__all__ = ["blocked_grid_product", "block_rows", "blocked_available", "use_blocked"]

# samples (floats) per block and factor: ~1 MiB in float32, so that the two factors, their product
# and the GEMM panels of one block fit in this machine's 2 × 1 MiB L2 (2^18 measured fastest of 2^15–2^20)
_BLOCK_SAMPLES = 1 << 18
# worker threads only pay off for many blocks of substantial GEMMs (measured: L ≥ 8, ≥ 8 blocks)
_PARALLEL_MIN_BLOCKS = 8
_PARALLEL_MIN_SAMPLES = 300


ENABLED = True
"""Set to False to run the grid backend unblocked everywhere (plain autograd; benchmarks compare both)."""


# below this many samples per factor the unblocked product's intermediates stay in the L3 cache and
# blocking makes no measurable difference (0.85–1.08× at 2,048 rows; 2.1–3.7× at 32,768 rows and L ≥ 8)
_MIN_TOTAL_SAMPLES = 1 << 22


def blocked_available(x: torch.Tensor) -> bool:
    """Whether the blocked path can run on ``x``: eager CPU (``ENABLED``, not under ``torch.compile`` or a
    ``torch.func`` transform).

    Under ``torch.compile`` the plain autograd formulation is traced instead (Inductor fuses it);
    ``_BlockedProduct`` has no functorch rules; on CUDA the unblocked GEMMs are kept until the GPU suite
    (``benchmarks/gpu_suite.py``) has measured both.
    """
    return (
        ENABLED
        and x.device.type == "cpu"
        and not torch.compiler.is_compiling()
        and not torch._C._are_functorch_transforms_active()
    )


def use_blocked(x: torch.Tensor, rows: int, degree: int) -> bool:
    """Whether the grid backend takes the blocked path for ``rows`` (batch × channels) products of total
    degree ``degree`` (``l1 + l2 + l_out``): :func:`blocked_available` and the samples
    (``rows · Nα · Nβ``) exceed the L3-sized ``_MIN_TOTAL_SAMPLES``."""
    n_beta, n_alpha = grid_size(degree)
    return blocked_available(x) and rows * n_alpha * n_beta >= _MIN_TOTAL_SAMPLES


def block_rows(n_alpha: int, n_beta: int, channels: int) -> int:
    """Rows per block: ``2^k`` rows whose ``Nα·Nβ·channels`` samples stay near ``2^18`` floats (≥ 16 rows)."""
    per_row = max(1, n_alpha * n_beta * channels)
    rows = 16
    while rows * 2 * per_row <= _BLOCK_SAMPLES:
        rows *= 2
    return rows


_POOL: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's worker threads, and the lock may have been held by one."""
    global _POOL_LOCK
    _POOL_LOCK = threading.Lock()
    _POOL.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _single_threaded() -> None:
    torch.get_num_threads()  # ATen's lazy per-thread init first (it would reset the count to the global one)
    torch.set_num_threads(1)  # per worker: OpenMP's thread count is a per-thread setting


def _pool(workers: int) -> ThreadPoolExecutor:
    """One executor of single-threaded workers per worker count (a forked child starts without any)."""
    with _POOL_LOCK:
        if workers not in _POOL:
            threads = torch.get_num_threads()
            pool = ThreadPoolExecutor(
                workers, thread_name_prefix="geomrep-gaunt", initializer=_single_threaded
            )
            # torch.set_num_threads also sets the count that threads started later inherit: start every
            # worker now (the barrier holds each until all run), then restore that count
            barrier = threading.Barrier(workers)
            for f in [pool.submit(barrier.wait) for _ in range(workers)]:
                f.result()
            torch.set_num_threads(threads)
            _POOL[workers] = pool
        return _POOL[workers]


def _map_blocks(fn, starts: range, device: torch.device, grid) -> list:
    """``[fn(s) for s in starts]``, on CPU spread over ``torch.get_num_threads()`` single-threaded workers.

    The GEMMs of one block are too small (inner dimension ``L+1``, ``2L+1``) for a multi-threaded BLAS to
    split well, and splitting them moves every intermediate between cores; one block per core keeps
    its samples in that core's cache. Used for at least ``_PARALLEL_MIN_BLOCKS`` blocks on grids of at
    least ``_PARALLEL_MIN_SAMPLES`` points (L ≥ 8); below that the thread hand-offs cost more than they
    save (``benchmarks/bench_gaunt_throughput.py``). Each ``fn`` runs without gradient tracking.
    """
    workers = min(torch.get_num_threads(), len(starts))
    small = len(starts) < _PARALLEL_MIN_BLOCKS or grid.n_alpha * grid.n_beta < _PARALLEL_MIN_SAMPLES
    nested = threading.current_thread().name.startswith("geomrep-gaunt")
    inference = torch.is_inference_mode_enabled()  # thread-local: the workers must write inference tensors

    def job(s):
        with torch.inference_mode(inference), torch.no_grad():
            return fn(s)

    if device.type != "cpu" or workers < 2 or small or nested:
        return [job(s) for s in starts]
    return list(_pool(workers).map(job, starts))


@lru_cache(maxsize=256)
def _tables(lmax_a: int, lmax_b: int, lmax_c: int, dtype: torch.dtype, device: torch.device):
    """Grid of the product ``a · b → c``; synthesis and analysis tables of the three degrees on it."""
    grid = sample_grid("grid", lmax_a + lmax_b, lmax_c)
    syn = {l: cast_tables(synthesis_tables(l, grid), dtype, device) for l in {lmax_a, lmax_b, lmax_c}}
    ana = {l: cast_tables(analysis_tables(l, grid), dtype, device) for l in {lmax_a, lmax_b, lmax_c}}
    return grid, syn, ana


def _synthesis(x: torch.Tensor, grid, tables) -> torch.Tensor:
    """Samples ``(Nα, Nβ, B)`` of batch-first coefficients ``x (B, (L+1)²)``.

    The batch-last :func:`.transforms.synthesis`/:func:`.transforms.analysis` on ``x.t()`` give the same
    samples but gather through a transposed view: 1.2–1.45× slower per block (L = 4–16), hence these."""
    polar, index, _, azimuth = tables
    n_m, _, lp1 = polar.shape
    b = x.shape[0]
    xg = x.index_select(1, index).view(b, n_m, lp1).permute(1, 2, 0)  # (2L+1, L+1, B), a transposed view
    g = torch.bmm(polar, xg)  # (2L+1, Nβ, B)
    return torch.mm(azimuth, g.view(n_m, grid.n_beta * b)).view(grid.n_alpha, grid.n_beta, b)


def _analysis(p: torch.Tensor, grid, tables) -> torch.Tensor:
    """Batch-first coefficients ``(B, (L+1)²)`` of samples ``p (Nα, Nβ, B)``."""
    azimuth, polar, index = tables
    b = p.shape[-1]
    h = torch.mm(azimuth, p.reshape(grid.n_alpha, grid.n_beta * b)).view(azimuth.shape[0], grid.n_beta, b)
    y = torch.bmm(polar, h)  # (2L+1, L+1, B)
    return y.view(-1, b).index_select(0, index).t()


class _BlockedProduct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x1, x2, lmax1, lmax2, lmax_out):
        rows, c1, c2 = x1.shape[0], x1.shape[1], x2.shape[1]
        channels = max(c1, c2)
        grid, syn, ana = _tables(lmax1, lmax2, lmax_out, x1.dtype, x1.device)
        out = x1.new_empty(rows, channels, (lmax_out + 1) ** 2)
        step = block_rows(grid.n_alpha, grid.n_beta, channels)

        def block(s):
            e = min(rows, s + step)
            n_alpha, n_beta = grid.n_alpha, grid.n_beta
            f1 = _synthesis(x1[s:e].reshape(-1, x1.shape[2]), grid, syn[lmax1]).view(
                n_alpha, n_beta, e - s, c1
            )
            f2 = _synthesis(x2[s:e].reshape(-1, x2.shape[2]), grid, syn[lmax2]).view(
                n_alpha, n_beta, e - s, c2
            )
            y = _analysis((f1 * f2).view(n_alpha, n_beta, -1), grid, ana[lmax_out])
            out[s:e] = y.view(e - s, channels, -1)
            return f1, f2

        samples = [f for pair in _map_blocks(block, range(0, rows, step), x1.device, grid) for f in pair]
        ctx.degrees = (lmax1, lmax2, lmax_out)
        ctx.step = step
        ctx.save_for_backward(x1, x2, *samples)
        return out

    @staticmethod
    def backward(ctx, grad):
        x1, x2, *samples = ctx.saved_tensors
        lmax1, lmax2, lmax_out = ctx.degrees
        c1, c2 = x1.shape[1], x2.shape[1]
        need1, need2 = ctx.needs_input_grad[:2]
        if torch.is_grad_enabled():  # create_graph: differentiable products (double backward)
            g1 = g2 = None
            if need1:
                g1 = _product(grad, x2, lmax_out, lmax2, lmax1)
                g1 = g1.sum(1, keepdim=True) if c1 == 1 and g1.shape[1] > 1 else g1
            if need2:
                g2 = _product(grad, x1, lmax_out, lmax1, lmax2)
                g2 = g2.sum(1, keepdim=True) if c2 == 1 and g2.shape[1] > 1 else g2
            return g1, g2, None, None, None
        grid, syn, ana = _tables(lmax1, lmax2, lmax_out, grad.dtype, grad.device)
        grad = grad.contiguous()
        rows = grad.shape[0]
        g1 = x1.new_empty(x1.shape) if need1 else None
        g2 = x2.new_empty(x2.shape) if need2 else None
        step = ctx.step

        def block(s):
            e, i = min(rows, s + step), s // step
            f1, f2 = samples[2 * i], samples[2 * i + 1]
            gs = _synthesis(grad[s:e].reshape(-1, grad.shape[2]), grid, syn[lmax_out])
            gs = gs.view(grid.n_alpha, grid.n_beta, e - s, -1)
            for gout, other, c, lmax in ((g1, f2, c1, lmax1), (g2, f1, c2, lmax2)):
                if gout is None:
                    continue
                q = gs * other
                if c == 1 and q.shape[-1] > 1:
                    q = q.sum(-1, keepdim=True)
                gout[s:e] = _analysis(q.view(grid.n_alpha, grid.n_beta, -1), grid, ana[lmax]).view(
                    e - s, c, -1
                )

        _map_blocks(block, range(0, rows, step), grad.device, grid)
        return g1, g2, None, None, None


def _product(x1, x2, lmax1, lmax2, lmax_out):
    """:func:`blocked_grid_product` without the degree clipping (degrees above ``l1 + l2`` padded)."""
    lmax_prod = min(lmax_out, lmax1 + lmax2)
    out = _BlockedProduct.apply(x1, x2, lmax1, lmax2, lmax_prod)
    if lmax_prod < lmax_out:
        pad = out.new_zeros(out.shape[:2] + ((lmax_out + 1) ** 2 - out.shape[2],))
        out = torch.cat([out, pad], dim=2)
    return out


def blocked_grid_product(
    x1: torch.Tensor, x2: torch.Tensor, lmax1: int, lmax2: int, lmax_out: int
) -> torch.Tensor:
    """Channel-wise Gaunt product on the Gauss–Legendre grid, blocked over rows (eager CPU/GPU fast path).

    Args:
        x1: ``(R, C1, (lmax1+1)²)`` real SH coefficients (e3nn order), float32 or float64.
        x2: ``(R, C2, (lmax2+1)²)``, same dtype/device; ``C1`` and ``C2`` equal or one of them 1.
        lmax1, lmax2, lmax_out: degrees.

    Returns:
        ``(R, max(C1, C2), (lmax_out+1)²)``: ``y_c = A_{Lout}(S_{L1} x1_c · S_{L2} x2_c)``; components of
        degree above ``lmax1 + lmax2`` are exactly zero. Differentiable to any order.
    """
    if x1.shape[0] == 0:
        shape = (0, max(x1.shape[1], x2.shape[1]), (lmax_out + 1) ** 2)
        return x1.new_zeros(shape) + 0 * (x1.sum() + x2.sum())
    return _product(x1.contiguous(), x2.contiguous(), lmax1, lmax2, lmax_out)
