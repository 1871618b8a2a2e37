"""Group actions ``action(g, x) -> g·x`` for :func:`geomrep.testing.assert_equivariant`.

Each action casts the group element to the dtype/device of ``x`` (so a float64 evaluation stays
float64) and raises ``ValueError`` when the shapes do not fit.
"""

from __future__ import annotations

import contextlib
import copy

import torch
from e3nn import o3

__all__ = [
    "rotation_action",
    "irreps_action",
    "permutation_action",
    "node_permutation_action",
    "edge_index_permutation_action",
    "adjacency_permutation_action",
    "graph_permutation_action",
    "congruence_action",
    "left_multiplication_action",
    "inverse_permutation",
]


def _as_matrix(g: torch.Tensor, x: torch.Tensor, n: int, name: str) -> torch.Tensor:
    if not isinstance(g, torch.Tensor) or g.shape != (n, n):
        raise ValueError(f"{name}: group element g must be a ({n}, {n}) matrix, got {getattr(g, 'shape', g)}")
    return g.to(dtype=x.dtype, device=x.device)


def rotation_action(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Rotate 3-D vectors / point clouds: ``x (..., 3) -> x gᵀ`` (each row vector ``v ↦ g v``).

    Example:
        >>> from geomrep.testing import random_rotation
        >>> x = torch.randn(10, 3)
        >>> y = rotation_action(random_rotation(), x)
        >>> torch.allclose(x.norm(dim=-1), y.norm(dim=-1), atol=1e-5)
        True
    """
    if x.shape[-1] != 3:
        raise ValueError(f"rotation_action: x must have last dimension 3, got shape {tuple(x.shape)}")
    return x @ _as_matrix(g, x, 3, "rotation_action").transpose(-1, -2)


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def irreps_action(irreps, parity: bool = False):
    """Action of O(3) on features of e3nn irreps: ``x (..., irreps.dim) -> x Dᵀ``.

    ``D = irreps.D_from_matrix(g)`` is built in float64 (e3nn builds Wigner matrices in the *default*
    dtype, which gives ~1e-7 errors in a float64 test; the default is changed only inside this call and
    restored afterwards), then cast to ``x``'s dtype.

    Args:
        irreps: ``e3nn.o3.Irreps`` (or anything ``Irreps(...)`` accepts) describing the last axis of x.
        parity: if True, ``g`` may be improper (``det g = −1``) and acts with each irrep's parity;
            if False, an improper ``g`` raises ``ValueError``.

    Returns:
        ``action(g, x)``.

    Example:
        >>> from e3nn import o3
        >>> act = irreps_action(o3.Irreps("1x0e + 1x1o"))
        >>> act(torch.eye(3), torch.randn(2, 4)).shape
        torch.Size([2, 4])
    """
    irreps = o3.Irreps(irreps)

    def action(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != irreps.dim:
            raise ValueError(
                f"irreps_action: x must have last dimension irreps.dim = {irreps.dim} ({irreps}), "
                f"got shape {tuple(x.shape)}"
            )
        g64 = _as_matrix(g, x, 3, "irreps_action").to(torch.float64).cpu()
        det = float(torch.linalg.det(g64))
        if not parity and det < 0:
            raise ValueError("irreps_action(parity=False): g must be a rotation (det +1); got det -1")
        with _default_dtype(torch.float64):
            D = irreps.D_from_matrix(g64)
        return x @ D.to(dtype=x.dtype, device=x.device).transpose(-1, -2)

    return action


def permutation_action(k: int):
    """Permutation action on ``(Rⁿ)^{⊗k}``: permute each of the last ``k`` axes of ``x`` by ``g``.

    ``x'[..., i₁, …, i_k] = x[..., g[i₁], …, g[i_k]]``.

    Args:
        k: tensor order (``k = 0`` is the trivial action).

    Example:
        >>> act = permutation_action(2)
        >>> A = torch.arange(9.).reshape(3, 3)
        >>> act(torch.tensor([2, 0, 1]), A)[0, 0] == A[2, 2]
        tensor(True)
    """
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"permutation_action: k must be a non-negative int, got {k!r}")

    def action(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < k:
            raise ValueError(f"permutation_action({k}): x needs at least {k} dims, got {x.dim()}")
        g = g.to(device=x.device, dtype=torch.long)
        for d in range(x.dim() - k, x.dim()):
            if x.shape[d] != g.numel():
                raise ValueError(
                    f"permutation_action({k}): axis {d} of x has size {x.shape[d]}, "
                    f"permutation has {g.numel()}"
                )
            x = x.index_select(d, g)
        return x

    return action


def inverse_permutation(g: torch.Tensor) -> torch.Tensor:
    """``inv`` with ``inv[g[i]] = i``."""
    inv = torch.empty_like(g)
    inv[g] = torch.arange(g.numel(), device=g.device, dtype=g.dtype)
    return inv


def node_permutation_action(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Permute nodes (dim 0): new node ``i`` is old node ``g[i]``, i.e. ``x -> x[g]``."""
    if x.shape[0] != g.numel():
        raise ValueError(f"node_permutation_action: x has {x.shape[0]} rows, permutation has {g.numel()}")
    return x[g.to(x.device)]


def edge_index_permutation_action(g: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """Relabel ``edge_index (2, E)`` consistently with :func:`node_permutation_action`.

    Old node ``g[i]`` becomes node ``i``; edge order (and hence edge attributes) is unchanged.
    """
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}")
    inv = inverse_permutation(g.to(edge_index.device, torch.long))
    return inv[edge_index]


def adjacency_permutation_action(g: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
    """Permute a dense or ``torch.sparse`` (COO/CSR) adjacency ``(N, N) -> A[g][:, g]``."""
    if adj.dim() != 2 or adj.shape[0] != adj.shape[1] or adj.shape[0] != g.numel():
        raise ValueError(f"adjacency must be ({g.numel()}, {g.numel()}), got {tuple(adj.shape)}")
    g = g.to(adj.device, torch.long)
    if adj.layout == torch.strided:
        return adj[g][:, g]
    layout = adj.layout
    coo = adj.to_sparse_coo().coalesce() if layout != torch.sparse_coo else adj.coalesce()
    idx = inverse_permutation(g)[coo.indices()]
    out = torch.sparse_coo_tensor(idx, coo.values(), coo.shape).coalesce()
    if layout == torch.sparse_csr:
        return out.to_sparse_csr()
    return out


def graph_permutation_action(g: torch.Tensor, data):
    """Permute the nodes of a PyG ``Data``/``Batch``: node attributes reindexed, ``edge_index`` relabeled.

    Node-level attributes (``x``, ``pos``, ``batch``, any attribute PyG classifies as node-level) become
    ``attr[g]``; ``edge_index`` is relabeled by :func:`edge_index_permutation_action`; edge-level and
    graph-level attributes are kept. For a ``Batch``, a permutation that mixes graphs leaves ``batch``
    unsorted (fine for scatter-based layers; use a within-graph permutation for layers that need it).
    """
    n = data.num_nodes
    if g.numel() != n:
        raise ValueError(f"graph_permutation_action: graph has {n} nodes, permutation has {g.numel()}")
    out = copy.copy(data)
    for key in list(data.keys()):
        value = data[key]
        if not isinstance(value, torch.Tensor):
            continue
        if key == "edge_index":
            out[key] = edge_index_permutation_action(g, value)
        elif key in ("ptr",):
            continue
        elif data.is_node_attr(key) and value.dim() > 0 and value.shape[0] == n:
            out[key] = value[g.to(value.device)]
    return out


def congruence_action(g: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Congruence ``X (..., n, n) -> g X gᵀ`` (orthogonal ``g`` keeps SPD matrices SPD)."""
    if X.dim() < 2 or X.shape[-1] != X.shape[-2]:
        raise ValueError(f"congruence_action: X must be (..., n, n), got {tuple(X.shape)}")
    g = _as_matrix(g, X, X.shape[-1], "congruence_action")
    return g @ X @ g.transpose(-1, -2)


def left_multiplication_action(g: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """Left multiplication ``R (..., n, n) -> g R`` (e.g. rotating rotation matrices)."""
    if R.dim() < 2:
        raise ValueError(f"left_multiplication_action: R must be (..., n, m), got {tuple(R.shape)}")
    return _as_matrix(g, R, R.shape[-2], "left_multiplication_action") @ R
