"""The Gaunt product of two spherical functions given by their real SH coefficients (functional API)."""

from __future__ import annotations

import torch

from .blocked import blocked_grid_product, use_blocked
from .coefficients import gaunt_tensor
from .dtypes import check_features, compute_dtype
from .transforms import (
    BACKENDS,
    analysis,
    analysis_tables,
    cast_tables,
    sample_grid,
    synthesis,
    synthesis_tables,
)

__all__ = ["gaunt_product", "default_backend"]


def default_backend(lmax1: int, lmax2: int, lmax_out: int, device: torch.device | str | None = None) -> str:
    """Backend used when ``backend=None``: the fastest measured for these degrees and device.

    On CPU (float32, fwd+bwd, 2048 and 32,768 rows, 2 threads; ``benchmarks/bench_gaunt.py`` and
    ``benchmarks/bench_gaunt_throughput.py``, tables in ``benchmarks/RESULTS.md``) the Gauss–Legendre S²
    grid (``"grid"``, cache-blocked by :mod:`.blocked` for large problems) was fastest at every degree
    1–16: the torus FFT backend took 5–25× its time (its complex layout copies and 2-D FFTs of
    ``Mβ × Mα ≈ (4L)·(3L)`` points do more work than the grid's ``(3L/2)·(3L)`` samples, and at these
    sizes the O(L² log L) FFT does not beat the O(L³) GEMMs); the dense ``c · 3j`` tensor was faster only
    for tiny problems (L ≤ 2 at a few hundred rows), where every backend takes well under a millisecond.
    GPUs were not measured (no GPU was lent to these sessions); ``"grid"`` is GEMM-bound
    there too and is used for every device until ``benchmarks/gpu_suite.py`` has run on one.
    """
    del lmax1, lmax2, lmax_out, device
    return "grid"


def _check(x: torch.Tensor, lmax: int, name: str) -> None:
    check_features(x, name)
    if x.ndim < 1 or x.shape[-1] != (lmax + 1) ** 2:
        raise ValueError(
            f"{name} must have shape (..., {(lmax + 1) ** 2}) for lmax={lmax}, got {tuple(x.shape)}"
        )


def _check_degree(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def gaunt_product(
    x1: torch.Tensor,
    x2: torch.Tensor,
    lmax1: int,
    lmax2: int,
    lmax_out: int,
    backend: str | None = None,
) -> torch.Tensor:
    """SH coefficients of the pointwise product of two spherical functions (the Gaunt tensor product).

    With ``f_i = Σ_lm x_i[lm] Y_lm`` (e3nn's real spherical harmonics, ``normalization="integral"``,
    i.e. ``∫ Y_lm Y_l'm' dΩ = δ``, coefficients in e3nn's order ``l² + l + m``):

    .. math:: y_{l_3 m_3} = \\int_{S^2} f_1 f_2\\, Y_{l_3 m_3}\\, d\\Omega
       = \\sum G^{l_1 l_2 l_3}_{m_1 m_2 m_3}\\, x_{1, l_1 m_1}\\, x_{2, l_2 m_2},
       \\qquad G^{l_1 l_2 l_3} = c\\,(l_1 l_2 l_3)_{3j},

    for ``l3 ≤ lmax_out`` (see :func:`~geomrep.equivariant.gaunt.gaunt_constant`). Equivalent to
    an e3nn ``TensorProduct`` restricted to the paths with ``l1 + l2 + l3`` even, path weights ``c`` and
    no normalisation, computed in O(L³) per row instead of O(L⁶).

    Args:
        x1: ``(..., (lmax1+1)²)``.
        x2: ``(..., (lmax2+1)²)``, broadcastable with ``x1`` over the leading dims.
        lmax1, lmax2, lmax_out: degrees.
        backend: ``"grid"`` (Gauss–Legendre S² grid, GEMMs), ``"fft"`` (2-D Fourier on the torus,
            real FFTs), ``"dense"`` (the ``c · 3j`` tensor, O(L⁶), reference) or ``None`` for
            :func:`default_backend`. All are exact up to rounding.

    Returns:
        ``(..., (lmax_out+1)²)`` in the inputs' dtype and device. float32 and float64 are computed in
        their dtype; float16/bfloat16 in float32 (rounded on return). Degrees ``l3 > lmax1 + lmax2`` of
        the output are exactly zero (the product has no such components); every backend returns them so.

    Raises:
        TypeError: ``x1``/``x2`` not real floating tensors (int, bool, complex) or of different dtypes.
        ValueError: negative or non-int degrees, last dimension not ``(lmax+1)²``, unknown backend.

    Example:
        >>> x1, x2 = torch.randn(10, 16), torch.randn(10, 9)
        >>> gaunt_product(x1, x2, 3, 2, 4).shape
        torch.Size([10, 25])
    """
    lmax1, lmax2, lmax_out = (
        _check_degree(n, v) for n, v in (("lmax1", lmax1), ("lmax2", lmax2), ("lmax_out", lmax_out))
    )
    _check(x1, lmax1, "x1")
    _check(x2, lmax2, "x2")
    if x1.dtype != x2.dtype:
        raise TypeError(f"x1 and x2 must have the same dtype, got {x1.dtype} and {x2.dtype}")
    if backend is None:
        backend = default_backend(lmax1, lmax2, lmax_out, x1.device)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")
    lead = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
    in_dtype, dtype = x1.dtype, compute_dtype(x1.dtype)
    x1 = x1.to(dtype).expand(lead + x1.shape[-1:]).reshape(-1, x1.shape[-1])
    x2 = x2.to(dtype).expand(lead + x2.shape[-1:]).reshape(-1, x2.shape[-1])
    lmax_prod = min(lmax_out, lmax1 + lmax2)  # degrees above l1 + l2 are exactly zero
    if x1.shape[0] == 0:
        out = x1.new_zeros(0, (lmax_prod + 1) ** 2)
    elif backend == "dense":
        g = _dense_tensor(lmax1, lmax2, lmax_prod, x1.dtype, x1.device)
        outer = (x1.unsqueeze(-1) * x2.unsqueeze(-2)).reshape(x1.shape[0], -1)
        out = outer @ g.reshape(-1, g.shape[-1])
    elif backend == "grid" and use_blocked(x1, x1.shape[0], lmax1 + lmax2 + lmax_prod):
        out = blocked_grid_product(x1.unsqueeze(1), x2.unsqueeze(1), lmax1, lmax2, lmax_prod).squeeze(1)
    else:
        out = _sampled_product(x1.t(), x2.t(), lmax1, lmax2, lmax_prod, backend).t()
    if lmax_prod < lmax_out:
        out = torch.cat([out, out.new_zeros(out.shape[0], (lmax_out + 1) ** 2 - out.shape[1])], dim=1)
    return out.to(in_dtype).reshape(lead + out.shape[-1:])


@torch.compiler.disable
def _dense_tensor(lmax1, lmax2, lmax_out, dtype, device):
    return gaunt_tensor(lmax1, lmax2, lmax_out, dtype=dtype, device=device)


@torch.compiler.disable
def _plan(lmax1, lmax2, lmax_out, backend, dtype, device):
    """Sampling grid and cast tables (cached); opaque to torch.compile (constants, not graph ops)."""
    grid = sample_grid(backend, lmax1 + lmax2, lmax_out)
    t1 = cast_tables(synthesis_tables(lmax1, grid), dtype, device)
    t2 = cast_tables(synthesis_tables(lmax2, grid), dtype, device)
    ta = cast_tables(analysis_tables(lmax_out, grid), dtype, device)
    return grid, t1, t2, ta


def _sampled_product(x1t, x2t, lmax1, lmax2, lmax_out, backend):
    grid, t1, t2, ta = _plan(lmax1, lmax2, lmax_out, backend, x1t.dtype, x1t.device)
    return analysis(synthesis(x1t, grid, t1) * synthesis(x2t, grid, t2), grid, ta)
