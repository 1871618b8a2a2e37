r"""Graph metrics for embeddings: shortest-path distances, average distortion and mean average precision.

- :func:`graph_distances`: all-pairs shortest-path lengths ``(n, n)`` of a graph (networkx graph, scipy
  sparse adjacency, PyG ``edge_index``) or a validated distance matrix.
- :func:`average_distortion`: :math:`D_{avg} = \binom n2^{-1}\sum_{i<j} |d_P(i,j) - d_G(i,j)| / d_G(i,j)`
  (Sala et al. 2018; Gu et al. 2019 Table 1).
- :func:`mean_average_precision`: for every node ``u`` rank all other nodes by embedding distance; for each
  graph neighbour ``v`` take the precision of the neighbourhood among the nodes at most as far as ``v``;
  average over ``v`` and then over ``u`` (Nickel & Kiela 2017; Sala et al. 2018).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import shortest_path

__all__ = [
    "graph_distances",
    "adjacency_from_distances",
    "average_distortion",
    "mean_average_precision",
    "average_precision_rows",
]


def _to_sparse_adjacency(graph) -> sp.csr_matrix | None:
    if sp.issparse(graph):
        return sp.csr_matrix(graph)
    if hasattr(graph, "nodes") and hasattr(graph, "edges") and hasattr(graph, "number_of_nodes"):  # networkx
        nodes = list(graph.nodes())
        index = {u: i for i, u in enumerate(nodes)}
        edges = [(index[u], index[v]) for u, v in graph.edges()]
        n = len(nodes)
        if not edges:
            return sp.csr_matrix((n, n))
        r, c = np.array(edges).T
        return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
    if (
        isinstance(graph, torch.Tensor)
        and graph.dim() == 2
        and graph.shape[0] == 2
        and not graph.is_floating_point()
    ):
        ei = graph.cpu().numpy()
        n = int(ei.max()) + 1 if ei.size else 0
        return sp.csr_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n))
    return None


def graph_distances(graph_or_distances, *, dtype=torch.float64) -> torch.Tensor:
    """All-pairs shortest-path distances ``(n, n)`` (unweighted, undirected) or a checked distance matrix.

    Args:
        graph_or_distances: a networkx graph (node order of ``graph.nodes()``), a scipy sparse adjacency
            ``(n, n)``, a PyG ``edge_index`` ``(2, E)`` (integer), or a dense ``(n, n)`` distance matrix
            (tensor or array: symmetric, zero diagonal, positive and finite off the diagonal).
        dtype: floating dtype of the result.

    Raises:
        TypeError: unsupported input type or non-floating dtype.
        ValueError: the graph is disconnected (infinite distances: embed its largest connected component)
            or the matrix is not a valid distance matrix.
    """
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch dtype, got {dtype}")
    A = _to_sparse_adjacency(graph_or_distances)
    if A is not None:
        if A.shape[0] < 2:
            raise ValueError(f"graph_or_distances must have at least 2 nodes, got {A.shape[0]}")
        D = shortest_path(A, method="D", directed=False, unweighted=True)
        if not np.isfinite(D).all():
            raise ValueError(
                "graph_or_distances is disconnected (some shortest paths are infinite); embed its largest "
                "connected component"
            )
        return torch.as_tensor(D, dtype=dtype)
    if isinstance(graph_or_distances, np.ndarray):
        graph_or_distances = torch.as_tensor(graph_or_distances)
    if not isinstance(graph_or_distances, torch.Tensor):
        raise TypeError(
            "graph_or_distances must be a networkx graph, a scipy sparse adjacency, an edge_index (2, E) or "
            f"an (n, n) distance matrix, got {type(graph_or_distances).__name__}"
        )
    D = graph_or_distances
    if not D.is_floating_point():
        D = D.to(dtype)
    if D.dim() != 2 or D.shape[0] != D.shape[1] or D.shape[0] < 2:
        raise ValueError(
            f"graph_or_distances must be an (n, n) distance matrix with n ≥ 2, got {tuple(D.shape)}"
        )
    D = D.to(dtype)
    off = ~torch.eye(D.shape[0], dtype=torch.bool, device=D.device)
    if not bool(torch.isfinite(D).all()):
        raise ValueError("graph_or_distances has non-finite entries (disconnected graph?)")
    if not bool((D[off] > 0).all()) or bool(D.diagonal().abs().max() > 0):
        raise ValueError("graph_or_distances must have a zero diagonal and positive off-diagonal entries")
    if not torch.allclose(D, D.T, rtol=1e-6, atol=1e-8 * float(D.abs().max())):
        raise ValueError("graph_or_distances must be symmetric")
    return D


def _neighbour_cutoff(D: torch.Tensor, block: int = 2048) -> float:
    """Largest distance at which two points of ``D`` count as neighbours: the smallest off-diagonal entry
    (relative tolerance 1e-9), found in row blocks (no ``(n, n)`` temporary)."""
    dmin = float("inf")
    for start in range(0, D.shape[0], block):
        rows = D[start : start + block].clone()
        rows[torch.arange(rows.shape[0]), torch.arange(start, start + rows.shape[0])] = float("inf")
        dmin = min(dmin, float(rows.min()))
    return dmin * (1 + 1e-9)


def adjacency_from_distances(D: torch.Tensor) -> torch.Tensor:
    """Boolean ``(n, n)`` neighbourhoods: pairs at the smallest positive distance of ``D`` (1 for graphs)."""
    off = ~torch.eye(D.shape[0], dtype=torch.bool, device=D.device)
    return off & (D <= _neighbour_cutoff(D))


def _check_pair(d_emb: torch.Tensor, d_graph: torch.Tensor) -> None:
    for name, t in (("d_emb", d_emb), ("d_graph", d_graph)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating torch.Tensor")
        if t.dim() != 2 or t.shape[0] != t.shape[1]:
            raise ValueError(f"{name} must be a square (n, n) matrix, got {tuple(t.shape)}")
    if d_emb.shape != d_graph.shape:
        raise ValueError(
            f"d_emb {tuple(d_emb.shape)} and d_graph {tuple(d_graph.shape)} must have the same shape"
        )


def average_distortion(d_emb: torch.Tensor, d_graph: torch.Tensor) -> float:
    r""":math:`D_{avg}`: mean over pairs ``i < j`` of :math:`|d_P - d_G| / d_G` (0: isometric).

    Args:
        d_emb: embedding distances ``(n, n)``. d_graph: target distances ``(n, n)`` (positive off-diagonal).
    """
    _check_pair(d_emb, d_graph)
    n = d_emb.shape[0]
    iu = torch.triu_indices(n, n, 1, device=d_emb.device)
    dp, dg = d_emb[iu[0], iu[1]].double(), d_graph[iu[0], iu[1]].double()
    return float(((dp - dg).abs() / dg).mean())


def average_precision_rows(d_rows: torch.Tensor, adj_rows: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
    """``AP(u)`` (:func:`mean_average_precision`) of the nodes ``u = nodes[r]`` that have a neighbour.

    Args:
        d_rows: embedding distances ``(r, n)`` from each node ``nodes[r]`` to every node.
        adj_rows: boolean adjacency rows ``(r, n)`` of the same nodes (their own entry is ignored).
        nodes: ``(r,)`` the node index of each row.

    Returns:
        ``(r',)`` average precisions of the rows with a neighbour.
    """
    d = d_rows.double().clone()
    a = adj_rows.bool().clone()
    r = torch.arange(d.shape[0], device=d.device)
    d[r, nodes] = -torch.inf  # u itself first, then removed from the ranking
    a[r, nodes] = False
    order = torch.argsort(d, dim=1, stable=True)
    sorted_d = torch.gather(d, 1, order)
    sorted_a = torch.gather(a, 1, order)
    # rank of v = number of nodes w ≠ u with d(u, w) ≤ d(u, v) (whole tie group counted)
    le = torch.searchsorted(sorted_d.contiguous(), sorted_d.contiguous(), right=True)  # 1 + #{≤} incl. u
    ranks = (le - 1).double()
    hits = torch.cumsum(sorted_a.double(), 1)
    # neighbours tied at the same distance all count: hits up to the last tied position
    hits_at = torch.gather(hits, 1, (le - 1).clamp_min(0))
    prec = torch.where(sorted_a, hits_at / ranks.clamp_min(1), torch.zeros_like(ranks))
    deg = a.sum(1)
    keep = deg > 0
    return prec.sum(1)[keep] / deg[keep]


def mean_average_precision(d_emb: torch.Tensor, adjacency: torch.Tensor, *, block_rows: int = 256) -> float:
    """Mean average precision of the graph neighbourhoods reconstructed from embedding distances.

    For node ``u`` with neighbours ``N(u)`` and each ``v ∈ N(u)``, let ``R(u, v)`` be the nodes ``w ≠ u``
    with ``d(u, w) ≤ d(u, v)``; ``AP(u) = mean_v |N(u) ∩ R(u, v)| / |R(u, v)|``; the score is the mean of
    ``AP(u)`` over nodes with at least one neighbour (1 is a perfect reconstruction). Ties count against
    the embedding (a tied non-neighbour is ranked first).

    Args:
        d_emb: embedding distances ``(n, n)``.
        adjacency: boolean (or 0/1) adjacency ``(n, n)``; the diagonal is ignored.
        block_rows: rows processed at once (memory ``O(block_rows · n)``).
    """
    if not isinstance(adjacency, torch.Tensor) or adjacency.shape != d_emb.shape:
        raise ValueError(f"adjacency must be an (n, n) tensor like d_emb {tuple(d_emb.shape)}")
    _check_pair(d_emb, d_emb)
    n = d_emb.shape[0]
    adj = adjacency.bool()
    aps = []
    for s in range(0, n, block_rows):
        rows = torch.arange(s, min(s + block_rows, n), device=d_emb.device)
        aps.append(average_precision_rows(d_emb[rows], adj[rows], rows))
    return float(torch.cat(aps).mean()) if aps else float("nan")
