"""Per-graph column normalisation of node-feature blocks: ℓ2 and QR with fixed signs.

Random feature propagation normalises its ``k`` propagated feature columns after every step,
**per graph**: in a PyG batch the nodes of graph ``g`` are normalised among themselves only, so
an encoding never depends on which other graphs share the batch.

Both functions take ``x`` of shape ``(N, k)`` or ``(N, m, k)``: ``N`` nodes, ``m`` independent
blocks (random starts) and ``k`` columns. ``batch`` (``(N,)``, graph index of each node, as in PyG)
defines the graphs; ``None`` means one graph.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .validation import check_batch, check_size

__all__ = ["NORMALIZATIONS", "l2_normalize", "qr_normalize", "node_positions"]

NORMALIZATIONS = ("l2", "qr")


def _check(x: Tensor, batch: Tensor | None, num_graphs: int | None) -> tuple[Tensor | None, int]:
    """Validate ``x`` and ``batch`` (:func:`~geomrep.graphs.validation.check_batch`); resolve ``B``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"x must be floating point, got {x.dtype}")
    if x.dim() not in (2, 3):
        raise ValueError(f"x must have shape (N, k) or (N, m, k), got {tuple(x.shape)}")
    return check_batch(batch, x.size(0), num_graphs)


def l2_normalize(x: Tensor, batch: Tensor | None = None, num_graphs: int | None = None) -> Tensor:
    """Divide every column of every graph by its ℓ2 norm over that graph's nodes.

    ``out[n, ..., c] = x[n, ..., c] / max(‖x[batch == g, ..., c]‖₂, eps)`` with ``g = batch[n]`` and
    ``eps = finfo(dtype).eps`` (all-zero columns stay zero). Permutation-equivariant in the nodes.

    Args:
        x: ``(N, k)`` or ``(N, m, k)`` floating tensor.
        batch: ``(N,)`` graph assignment (None: a single graph).
        num_graphs: number of graphs (inferred from ``batch`` when None).

    Returns:
        Tensor of ``x``'s shape, dtype and device.

    Example:
        >>> l2_normalize(torch.tensor([[3.0], [4.0]]))
        tensor([[0.6000],
                [0.8000]])
    """
    batch, b = _check(x, batch, num_graphs)
    eps = torch.finfo(x.dtype).eps
    if batch is None:
        sq = (x * x).sum(0, keepdim=True)
    else:
        sq = x.new_zeros((b,) + tuple(x.shape[1:])).index_add(0, batch, x * x)[batch]
    tiny = torch.finfo(x.dtype).tiny
    norm = sq.clamp_min(tiny).sqrt()
    return x / norm.clamp_min(eps)


def node_positions(batch: Tensor, num_graphs: int) -> tuple[Tensor, Tensor]:
    """Index of every node inside its graph, and the graph sizes.

    Works for any (not necessarily sorted) ``batch``: nodes keep their relative order within a graph.

    Args:
        batch: ``(N,)`` graph assignment.
        num_graphs: number of graphs ``B``.

    Returns:
        ``(position (N,), counts (B,))`` as long tensors.

    Raises:
        TypeError / ValueError: a non-integer ``batch``, negative values, or ``num_graphs <= max(batch)``.

    Example:
        >>> node_positions(torch.tensor([0, 1, 0, 1, 1]), 2)
        (tensor([0, 0, 1, 1, 2]), tensor([2, 3]))
    """
    num_nodes = batch.size(0) if isinstance(batch, Tensor) and batch.dim() > 0 else -1
    batch, num_graphs = check_batch(batch, num_nodes, check_size(num_graphs, "num_graphs"))
    counts = torch.bincount(batch, minlength=num_graphs)
    ptr = torch.cumsum(counts, 0) - counts
    order = torch.argsort(batch, stable=True)
    pos_sorted = torch.arange(batch.numel(), device=batch.device) - ptr[batch[order]]
    pos = torch.empty_like(pos_sorted).scatter_(0, order, pos_sorted)
    return pos, counts


def qr_normalize(
    x: Tensor,
    batch: Tensor | None = None,
    num_graphs: int | None = None,
    *,
    rtol: float | None = None,
) -> Tensor:
    """Per-graph orthonormalisation: the ``Q`` factor of ``x_g = Q R`` with ``diag(R) > 0``.

    For each graph ``g`` and block, the ``(N_g, k)`` matrix is factorised by Householder QR and the
    signs are fixed so that ``R_jj > 0``. That thin QR is unique for full column rank, which makes
    the map permutation-equivariant: ``qr_normalize(Π x) = Π qr_normalize(x)``. Columns that are
    (numerically) dependent on the previous ones, ``|R_jj| <= rtol · ‖x_j‖``, and the columns
    ``j >= N_g`` of graphs with fewer nodes than columns, are set to zero (that choice is also
    equivariant, unlike the arbitrary complement LAPACK would return).

    Gradients flow through :func:`torch.linalg.qr` and are finite only for full column rank.

    Args:
        x: ``(N, k)`` or ``(N, m, k)`` floating tensor.
        batch: ``(N,)`` graph assignment (None: one graph).
        num_graphs: number of graphs (inferred when None).
        rtol: dependence threshold, default ``sqrt(finfo(dtype).eps)``.

    Returns:
        Tensor of ``x``'s shape: per graph and block, orthonormal (or zero) columns.

    Example:
        >>> q = qr_normalize(torch.randn(10, 3, dtype=torch.float64))
        >>> torch.allclose(q.T @ q, torch.eye(3, dtype=torch.float64))
        True
    """
    batch, b = _check(x, batch, num_graphs)
    squeeze = x.dim() == 2
    if squeeze:
        x = x.unsqueeze(1)
    n, m, k = x.shape
    rtol = torch.finfo(x.dtype).eps ** 0.5 if rtol is None else rtol
    if batch is None:
        dense = x.permute(1, 0, 2).unsqueeze(0)  # (1, m, N, k)
    else:
        pos, counts = node_positions(batch, b)
        n_max = int(counts.max()) if counts.numel() > 0 else 0
        dense = x.new_zeros(b, n_max, m, k)
        dense = dense.index_put((batch, pos), x).permute(0, 2, 1, 3)  # (B, m, Nmax, k)
    q = _signed_qr(dense, rtol)
    if batch is None:
        out = q.squeeze(0).permute(1, 0, 2)
    else:
        out = q.permute(0, 2, 1, 3)[batch, pos]
    return out.squeeze(1) if squeeze else out


def _signed_qr(a: Tensor, rtol: float) -> Tensor:
    """Q of ``a (..., n, k)`` with ``diag(R) >= 0``, dependent columns zeroed, padded to ``k`` columns.

    Pass 1 finds the dependent columns. If there are any (or under ``torch.compile``), pass 2
    factorises the columns reordered as [independent ones, dependent ones] (stable order), so the
    kept columns come from a full-rank, hence unique and permutation-equivariant, factorisation.
    """
    n, k = a.shape[-2], a.shape[-1]
    if n == 0 or k == 0:
        return a.new_zeros(a.shape)
    q, keep = _qr_pass(a, rtol)
    if torch.compiler.is_compiling() or not bool(keep.all()):
        order = torch.argsort((~keep).to(torch.uint8), dim=-1, stable=True)  # independent columns first
        a_sorted = a.gather(-1, order.unsqueeze(-2).expand(a.shape))
        q_sorted, _ = _qr_pass(a_sorted, rtol)
        q_sorted = q_sorted * keep.gather(-1, order).unsqueeze(-2).to(q.dtype)
        q = torch.zeros_like(q_sorted).scatter(-1, order.unsqueeze(-2).expand(q_sorted.shape), q_sorted)
    return q


def _qr_pass(a: Tensor, rtol: float) -> tuple[Tensor, Tensor]:
    """Householder QR with ``R_jj >= 0``: ``(Q (..., n, k), dependent columns zeroed; keep (..., k))``."""
    k = a.shape[-1]
    q, r = torch.linalg.qr(a, mode="reduced")  # q (..., n, p), r (..., p, k), p = min(n, k)
    p = q.shape[-1]
    d = torch.diagonal(r, dim1=-2, dim2=-1)  # (..., p)
    col_norm = torch.linalg.vector_norm(a[..., :p], dim=-2)
    keep = d.abs() > rtol * col_norm
    sign = torch.where(d < 0, -torch.ones_like(d), torch.ones_like(d))
    q = q * torch.where(keep, sign, torch.zeros_like(sign)).unsqueeze(-2)
    if p < k:
        q = torch.cat([q, q.new_zeros(q.shape[:-1] + (k - p,))], dim=-1)
        keep = torch.cat([keep, keep.new_zeros(keep.shape[:-1] + (k - p,))], dim=-1)
    return q, keep
