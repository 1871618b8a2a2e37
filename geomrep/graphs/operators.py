"""Sparse propagation operators built from ``edge_index`` (pure torch).

A propagation operator is an ``(N, N)`` matrix ``P`` acting on node features by ``X ← P X``. We use
PyG's message-passing orientation: an edge ``j → i`` (``edge_index[:, e] = (j, i)``) puts weight on
``P[i, j]``, so row ``i`` of ``P`` collects from the in-neighbours of ``i``. With ``A[i, j] = w_{j→i}``
(edge weights, default 1) and in-degrees ``d_i = Σ_j A[i, j]``:

- ``"sym"``: ``P = D^{-1/2} A D^{-1/2}`` (the GCN normalisation without self loops), eigenvalues in
  ``[-1, 1]`` for undirected graphs;
- ``"rw"``: ``P = D^{-1} A`` (random-walk / mean-over-neighbours operator, row-stochastic);
- ``"laplacian"``: ``P = I - L_sym / 2 = (I + D^{-1/2} A D^{-1/2}) / 2``, ``L_sym = I - D^{-1/2} A D^{-1/2}``:
  eigenvalues in ``[0, 1]``; its top-``k`` eigenvectors are the ``k`` lowest eigenvectors of the
  normalised Laplacian, the ones :class:`torch_geometric.transforms.AddLaplacianEigenvectorPE` uses.

Edge weights must be finite and non-negative (a negative weight could cancel a degree to zero or
make it negative; such weights raise :class:`ValueError` instead of producing garbage rows).
Nodes of zero (weighted) in-degree — isolated nodes, or nodes whose in-edges all have weight 0 — are
handled explicitly with the pseudo-inverse convention ``d^{-1/2} = d^{-1} = 0`` (as PyG's
``gcn_norm``): their row of ``"sym"``/``"rw"`` is zero (propagation sends their features to 0, and the
ℓ2 normalisation keeps an all-zero column zero instead of dividing by 0), and their row of
``"laplacian"`` is ``e_i / 2`` (they keep half of their own features). No NaN or inf is produced.

All entry points validate their input with ``geomrep.graphs.validation``: ``edge_index`` must be
an integer ``(2, E)`` tensor with indices in ``[0, num_nodes)`` (TypeError / ValueError naming it;
negative indices are never wrapped).

Every function accepts either a ``(2, E)`` integer ``edge_index`` or a ``torch.sparse`` ``(N, N)``
adjacency in PyG's ``adj_t`` convention (row = target, column = source; for undirected graphs the
two conventions coincide); the sparse values are used as edge weights.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from .validation import check_edge_index, check_edge_weight

__all__ = [
    "OPERATORS",
    "as_edge_index",
    "operator_edge_weights",
    "propagation_operator",
    "propagate",
]

#: Operators accepted as ``operator``: "sym" D^-½AD^-½, "rw" D^-1A, "laplacian" (I + D^-½AD^-½)/2.
OPERATORS = ("sym", "rw", "laplacian")


def as_edge_index(
    edge_index: Tensor, edge_weight: Tensor | None = None, num_nodes: int | None = None
) -> tuple[Tensor, Tensor | None, int]:
    """Normalise a graph given as ``edge_index`` or ``torch.sparse`` adjacency to ``(edge_index, weight, N)``.

    Args:
        edge_index: ``(2, E)`` integer tensor (``edge_index[0]`` = source, ``[1]`` = target), or a
            ``torch.sparse`` ``(N, N)`` tensor (COO/CSR/CSC) in the ``adj_t`` convention (row = target).
        edge_weight: optional ``(E,)`` finite, non-negative weights (only with a dense ``edge_index``).
        num_nodes: number of nodes; inferred as ``max(edge_index) + 1`` (0 for no edges) when None.

    Returns:
        ``(edge_index (2, E) long, edge_weight (E,) or None, num_nodes)``.

    Raises:
        TypeError: non-integer ``edge_index`` or a bool/complex ``edge_weight``.
        ValueError: wrong shapes, indices outside ``[0, num_nodes)``, negative or non-finite weights
            (sparse values included).

    Example:
        >>> ei, w, n = as_edge_index(torch.tensor([[0, 1], [1, 0]]))
        >>> n
        2
    """
    if isinstance(edge_index, Tensor) and edge_index.layout != torch.strided:
        if edge_weight is not None:
            raise ValueError("edge_weight must be None when edge_index is a torch.sparse adjacency")
        if edge_index.dim() != 2 or edge_index.size(0) != edge_index.size(1):
            raise ValueError(f"sparse adjacency must be square (N, N), got shape {tuple(edge_index.shape)}")
        adj = edge_index.to_sparse_coo().coalesce()
        target, source = adj.indices()
        values = adj.values()
        if values.dim() != 1:
            raise ValueError("sparse adjacency must have scalar values (edge weights)")
        check_edge_weight(values, values.numel(), name="edge_index (sparse adjacency values)")
        n = adj.size(0)
        if num_nodes is not None and num_nodes != n:
            raise ValueError(f"num_nodes={num_nodes} disagrees with the adjacency size {n}")
        return torch.stack([source, target]), values, n
    edge_index, n = check_edge_index(edge_index, num_nodes)
    edge_weight = check_edge_weight(edge_weight, edge_index.size(1))
    return edge_index, edge_weight, n


def _inv_power(d: Tensor, p: float) -> Tensor:
    """``d^{-p}`` with 0 for ``d <= 0`` (isolated nodes)."""
    safe = torch.where(d > 0, d, torch.ones_like(d))
    return torch.where(d > 0, safe.pow(-p), torch.zeros_like(d))


def operator_edge_weights(
    edge_index: Tensor,
    num_nodes: int | None = None,
    operator: str = "sym",
    edge_weight: Tensor | None = None,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> tuple[Tensor, Tensor, int]:
    """Entries of a propagation operator as a weighted edge list ``(edge_index, weight)``.

    ``P = Σ_e weight_e · e_{target_e} e_{source_e}^T``; see the module docstring for the operators.
    For ``"laplacian"`` the diagonal ``1/2 · I`` is appended as ``N`` self loops.

    Args:
        edge_index: ``(2, E)`` graph or ``torch.sparse`` ``(N, N)`` adjacency (``adj_t`` convention).
        num_nodes: number of nodes (inferred when None).
        operator: ``"sym"``, ``"rw"`` or ``"laplacian"``.
        edge_weight: optional ``(E,)`` finite, non-negative weights ``w_{j→i}`` (integer weights are
            converted to ``dtype``).
        dtype: dtype of the weights (default: a floating ``edge_weight``'s, else the default float dtype).
        device: device (default: ``edge_index``'s).

    Returns:
        ``(edge_index (2, E'), weight (E',), num_nodes)`` with ``E' = E`` (``E + N`` for "laplacian").

    Example:
        >>> ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
        >>> _, w, _ = operator_edge_weights(ei, operator="rw")
        >>> w.tolist()
        [0.5, 1.0, 1.0, 0.5]
    """
    if operator not in OPERATORS:
        raise ValueError(f"operator must be one of {OPERATORS}, got {operator!r}")
    edge_index, edge_weight, n = as_edge_index(edge_index, edge_weight, num_nodes)
    device = edge_index.device if device is None else device
    if dtype is None:
        floating = edge_weight is not None and edge_weight.dtype.is_floating_point
        dtype = edge_weight.dtype if floating else torch.get_default_dtype()
    elif not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    edge_index = edge_index.to(device)
    source, target = edge_index[0], edge_index[1]
    if edge_weight is None:
        w = torch.ones(source.numel(), dtype=dtype, device=device)
    else:
        w = edge_weight.to(device=device, dtype=dtype)
    deg = torch.zeros(n, dtype=dtype, device=device).index_add_(0, target, w)
    if not torch.compiler.is_compiling() and not bool(torch.isfinite(deg).all()):
        raise ValueError(
            f"edge_weight too large for {dtype}: a weighted degree overflows (max {float(w.max()):.3g})"
        )
    if operator == "rw":  # w / d, not w * (1 / d): 1 / d overflows for subnormal degrees
        w = w / torch.where(deg > 0, deg, torch.ones_like(deg))[target]
    else:
        inv_sqrt = _inv_power(deg, 0.5)
        w = inv_sqrt[target] * w * inv_sqrt[source]
    if operator == "laplacian":
        loop = torch.arange(n, device=device)
        edge_index = torch.cat([edge_index, torch.stack([loop, loop])], dim=1)
        w = torch.cat([0.5 * w, torch.full((n,), 0.5, dtype=dtype, device=device)])
    return edge_index, w, n


def propagation_operator(
    edge_index: Tensor,
    num_nodes: int | None = None,
    operator: str = "sym",
    edge_weight: Tensor | None = None,
    *,
    layout: torch.layout = torch.sparse_csr,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """The propagation operator ``P`` as a ``torch.sparse`` ``(N, N)`` matrix.

    Args:
        edge_index: ``(2, E)`` graph or ``torch.sparse`` adjacency (``adj_t`` convention).
        num_nodes: number of nodes (inferred when None).
        operator: ``"sym"`` (``D^{-1/2} A D^{-1/2}``), ``"rw"`` (``D^{-1} A``) or ``"laplacian"``
            (``I - L_sym / 2``).
        edge_weight: optional ``(E,)`` edge weights.
        layout: ``torch.sparse_csr`` (fast ``P @ X`` on CPU) or ``torch.sparse_coo`` (differentiable
            in its values).
        dtype, device: of the result (defaults as in :func:`operator_edge_weights`).

    Returns:
        Sparse ``(N, N)`` tensor, duplicates summed, with ``P[i, j]`` the weight of edge ``j → i``.

    Example:
        >>> ei = torch.tensor([[0, 1], [1, 0]])
        >>> propagation_operator(ei, operator="sym").to_dense()
        tensor([[0., 1.],
                [1., 0.]])
    """
    if layout not in (torch.sparse_csr, torch.sparse_coo):
        raise ValueError(f"layout must be torch.sparse_csr or torch.sparse_coo, got {layout}")
    ei, w, n = operator_edge_weights(edge_index, num_nodes, operator, edge_weight, dtype=dtype, device=device)
    # coalesce by hand (one sort of row-major keys; faster than torch's coalesce on CPU)
    key_sorted, order = torch.sort(ei[1] * n + ei[0])
    keys, inverse = torch.unique_consecutive(key_sorted, return_inverse=True)
    values = w.new_zeros(keys.numel()).index_add_(0, inverse, w[order])
    rows, cols = keys // max(n, 1), keys % max(n, 1)
    if layout == torch.sparse_coo:
        return torch.sparse_coo_tensor(
            torch.stack([rows, cols]), values, (n, n), is_coalesced=True, check_invariants=False
        )
    crow = torch.zeros(n + 1, dtype=torch.long, device=ei.device)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=n), 0)
    with warnings.catch_warnings():  # torch warns once per process that CSR support is "beta"
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, cols, values, (n, n), check_invariants=False)


def propagate(x: Tensor, edge_index: Tensor, edge_weight: Tensor, num_nodes: int | None = None) -> Tensor:
    """``P X`` for ``P`` given as a weighted edge list, by gather + ``index_add`` (differentiable).

    ``out[i] = Σ_{e: j → i} weight_e · x[j]``.

    Args:
        x: ``(N, *)`` floating node features (any trailing shape).
        edge_index: ``(2, E)`` (source, target); sources index ``[0, N)``, targets ``[0, num_nodes)``.
        edge_weight: ``(E,)`` weights (any sign: learned operators may be signed); gradients flow into
            them and into ``x``.
        num_nodes: output rows (default ``x.size(0)``).

    Returns:
        ``(num_nodes, *)`` tensor with ``x``'s dtype.

    Raises:
        TypeError / ValueError: as ``geomrep.graphs.validation.check_edge_index`` for
            ``edge_index``; wrong ``edge_weight`` shape; non-floating ``x``.

    Example:
        >>> ei = torch.tensor([[0, 1], [1, 0]])
        >>> propagate(torch.tensor([[1.0], [2.0]]), ei, torch.ones(2))
        tensor([[2.],
                [1.]])
    """
    if not isinstance(x, Tensor) or not (x.dtype.is_floating_point or x.dtype.is_complex) or x.dim() < 1:
        raise TypeError(f"x must be a floating tensor of shape (N, *), got {getattr(x, 'dtype', type(x))}")
    n = x.size(0) if num_nodes is None else num_nodes
    edge_index, _ = check_edge_index(edge_index, (x.size(0), n))
    if not isinstance(edge_weight, Tensor) or edge_weight.shape != (edge_index.size(1),):
        raise ValueError(
            f"edge_weight must have shape ({edge_index.size(1)},), got {getattr(edge_weight, 'shape', None)}"
        )
    return _propagate(x, edge_index, edge_weight, n)


def _propagate(x: Tensor, edge_index: Tensor, edge_weight: Tensor, n: int) -> Tensor:
    """:func:`propagate` without validation (for loops over already validated inputs)."""
    w = edge_weight.to(x.dtype).reshape((-1,) + (1,) * (x.dim() - 1))
    msg = x.index_select(0, edge_index[0]) * w
    out = x.new_zeros((n,) + tuple(x.shape[1:]))
    return out.index_add(0, edge_index[1], msg)
