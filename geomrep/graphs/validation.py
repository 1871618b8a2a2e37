"""Input validation shared by every graph entry point: ``edge_index``, ``edge_weight``, ``batch``.

One policy for :mod:`geomrep.graphs` (the library-wide one): a wrong dtype *kind* raises
:class:`TypeError`, a wrong shape or value raises :class:`ValueError`; both name the user's argument.
Indices are never wrapped (a negative index is an error, not "counted from the end") and never
land silently in another row.

The *value* checks (index range, ``batch`` values, non-negative finite weights) read the data, so
they synchronise with the device once per call; under :func:`torch.compile` they are skipped (a
data-dependent branch would break the graph), like the data checks elsewhere in the library. Shape
and dtype checks always run.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_edge_index", "check_edge_weight", "check_batch", "check_size"]


def _checking_data() -> bool:
    return not torch.compiler.is_compiling()


def check_size(value, name: str, *, low: int = 0) -> int:
    """A Python (or 0-d integer tensor) integer ``>= low``, returned as ``int``.

    Raises:
        TypeError: ``value`` is not an integer (``bool`` and floats included).
        ValueError: ``value < low``.
    """
    if isinstance(value, Tensor) and value.dim() == 0 and not value.dtype.is_floating_point:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def _is_integer_dtype(dtype: torch.dtype) -> bool:
    return not (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool)


def check_edge_index(
    edge_index,
    num_nodes: int | tuple[int, int] | None = None,
    *,
    name: str = "edge_index",
) -> tuple[Tensor, int | tuple[int, int]]:
    """Validate a ``(2, E)`` integer ``edge_index`` against the node count(s).

    Args:
        edge_index: ``(2, E)`` tensor, row 0 = source, row 1 = target (PyG orientation).
        num_nodes: ``N`` (both endpoints index ``[0, N)``), ``(N_src, N_dst)`` for a bipartite graph,
            or None to infer ``N = max(edge_index) + 1`` (0 when there are no edges).
        name: the argument name used in error messages.

    Returns:
        ``(edge_index as int64, num_nodes)`` with ``num_nodes`` resolved.

    Raises:
        TypeError: not a tensor, or a floating/complex/bool dtype.
        ValueError: shape other than ``(2, E)``, a negative index, or an index ``>= num_nodes``.

    Example:
        >>> check_edge_index(torch.tensor([[0, 1], [1, 2]]), 3)[1]
        3
    """
    if not isinstance(edge_index, Tensor):
        raise TypeError(f"{name} must be a (2, E) integer tensor, got {type(edge_index).__name__}")
    if not _is_integer_dtype(edge_index.dtype):
        raise TypeError(f"{name} must have an integer dtype, got {edge_index.dtype}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"{name} must have shape (2, E), got {tuple(edge_index.shape)}")
    edge_index = edge_index.long()
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() > 0 else 0
        if num_nodes <= 0 and edge_index.numel() > 0:  # every index negative
            raise ValueError(f"{name} has negative node indices (min {int(edge_index.min())})")
    if isinstance(num_nodes, tuple):
        n_src = check_size(num_nodes[0], "num_nodes[0]")
        n_dst = check_size(num_nodes[1], "num_nodes[1]")
        num_nodes = (n_src, n_dst)
    else:
        num_nodes = check_size(num_nodes, "num_nodes")
        n_src = n_dst = num_nodes
    if edge_index.numel() > 0 and _checking_data():
        lo = int(edge_index.min())
        if lo < 0:
            raise ValueError(f"{name} has negative node indices (min {lo}); indices must lie in [0, N)")
        for row, n, what in ((0, n_src, "source"), (1, n_dst, "target")):
            hi = int(edge_index[row].max())
            if hi >= n:
                raise ValueError(
                    f"{name} has a {what} index {hi} out of range for {n} "
                    f"{'source ' if n_src != n_dst else ''}nodes (indices must lie in [0, {n}))"
                )
    return edge_index, num_nodes


def check_edge_weight(
    edge_weight, num_edges: int, *, name: str = "edge_weight", nonnegative: bool = True
) -> Tensor | None:
    """Validate optional ``(E,)`` edge weights: real dtype, finite and (by default) non-negative.

    The propagation operators divide by (weighted) degrees, so a negative weight could make a degree
    zero or negative and turn a row into garbage; such weights are rejected rather than guessed at.

    Args:
        edge_weight: None or a ``(E,)`` tensor (floating or integer dtype).
        num_edges: ``E``.
        name: the argument name used in error messages.
        nonnegative: reject negative weights.

    Returns:
        ``edge_weight`` unchanged (None stays None).

    Raises:
        TypeError: not a tensor, or a bool/complex dtype.
        ValueError: wrong shape, a non-finite weight, or a negative weight.
    """
    if edge_weight is None:
        return None
    if not isinstance(edge_weight, Tensor):
        raise TypeError(f"{name} must be a tensor of shape ({num_edges},), got {type(edge_weight).__name__}")
    if edge_weight.dtype == torch.bool or edge_weight.dtype.is_complex:
        raise TypeError(f"{name} must have a real (floating or integer) dtype, got {edge_weight.dtype}")
    if edge_weight.shape != (num_edges,):
        raise ValueError(f"{name} must have shape ({num_edges},), got {tuple(edge_weight.shape)}")
    if edge_weight.numel() > 0 and _checking_data():
        if edge_weight.dtype.is_floating_point and not bool(torch.isfinite(edge_weight).all()):
            raise ValueError(f"{name} has non-finite entries (NaN or inf)")
        if nonnegative and bool((edge_weight < 0).any()):
            raise ValueError(
                f"{name} has negative entries (min {float(edge_weight.min())}); the propagation operators "
                "need non-negative weights (degrees are sums of weights)"
            )
    return edge_weight


def check_batch(
    batch, num_nodes: int, num_graphs: int | None = None, *, name: str = "batch"
) -> tuple[Tensor | None, int]:
    """Validate a PyG ``batch`` vector (graph index of every node) and resolve the number of graphs.

    Args:
        batch: None (one graph) or a ``(N,)`` integer tensor with values in ``[0, num_graphs)``.
        num_nodes: ``N``.
        num_graphs: number of graphs ``B`` (inferred as ``max(batch) + 1`` when None).
        name: the argument name used in error messages.

    Returns:
        ``(batch as int64 or None, B)`` (``B = 1`` when ``batch`` is None).

    Raises:
        TypeError: ``batch`` not an integer tensor (a float ``batch`` included), ``num_graphs`` not an int.
        ValueError: wrong shape, negative values, or ``num_graphs <= max(batch)``.
    """
    if batch is None:
        if num_graphs is not None and check_size(num_graphs, "num_graphs") != 1:
            raise ValueError(f"num_graphs={num_graphs} needs a batch vector (batch=None means one graph)")
        return None, 1
    if not isinstance(batch, Tensor):
        raise TypeError(f"{name} must be a ({num_nodes},) integer tensor, got {type(batch).__name__}")
    if not _is_integer_dtype(batch.dtype):
        raise TypeError(f"{name} must have an integer dtype (graph index per node), got {batch.dtype}")
    if batch.shape != (num_nodes,):
        raise ValueError(f"{name} must have shape ({num_nodes},), got {tuple(batch.shape)}")
    batch = batch.long()
    if num_graphs is not None:
        num_graphs = check_size(num_graphs, "num_graphs")
    if not _checking_data():  # no value checks; inferring num_graphs reads the data (a graph break)
        if num_graphs is None:
            num_graphs = int(batch.max()) + 1 if batch.numel() > 0 else 0
        return batch, num_graphs
    if batch.numel() == 0:
        return batch, 0 if num_graphs is None else num_graphs
    lo, hi = int(batch.min()), int(batch.max())
    if lo < 0:
        raise ValueError(f"{name} has negative graph indices (min {lo})")
    if num_graphs is None:
        return batch, hi + 1
    if hi >= num_graphs:
        raise ValueError(f"num_graphs={num_graphs} is too small for {name} (max graph index {hi})")
    return batch, num_graphs
