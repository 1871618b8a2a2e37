"""Index gathers whose backward is a gather too (no zero fill, no scatter-add), for index maps that take
every input slice at most once — the layouts of the Gaunt products (functional core)."""

from __future__ import annotations

import torch

__all__ = ["take", "column_inverse"]


def column_inverse(index: torch.Tensor, n_columns: int) -> torch.Tensor:
    """``inverse[j]`` = the position of column ``j`` in ``index`` (``len(index)`` if absent) for an
    ``index`` into ``[x, 0]`` (``x`` with ``n_columns`` columns, the appended zero column ``n_columns``)
    that takes every column of ``x`` at most once."""
    inverse = torch.full((n_columns,), index.numel(), dtype=torch.int64)
    real = index < n_columns
    positions = torch.arange(index.numel())[real]
    if torch.unique(index[real]).numel() != positions.numel():
        raise ValueError("index takes a column more than once")
    inverse[index[real]] = positions
    return inverse


class _Take(torch.autograd.Function):
    """``x.index_select(dim, index)`` (of ``[x, 0]`` along ``dim`` when ``pad``); the backward gathers the
    gradient through ``inverse`` (a position in ``index`` per slice of ``x``, or ``len(index)``: zero).

    Valid when every slice of ``x`` that ``inverse`` points to is taken there, and any other position
    taking it receives an identically zero gradient (padding multiplied by zeros downstream). The
    backward uses differentiable ops, so higher derivatives work.
    """

    @staticmethod
    def forward(x, index, inverse, dim, pad):
        if pad:
            x = torch.cat([x, x.new_zeros(x.shape[:dim] + (1,) + x.shape[dim + 1 :])], dim=dim)
        return x.index_select(dim, index)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[2])
        ctx.dim = inputs[3]

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        d = ctx.dim
        grad = torch.cat([grad, grad.new_zeros(grad.shape[:d] + (1,) + grad.shape[d + 1 :])], dim=d)
        return grad.index_select(d, inverse), None, None, None, None


def take(x: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor, dim: int = 1, pad: bool = True):
    """``x.index_select(dim, index)`` (of ``x`` with a zero slice appended along ``dim`` when ``pad``)
    with a gather backward through ``inverse`` (see :func:`column_inverse`)."""
    return _Take.apply(x, index, inverse, dim, pad)
