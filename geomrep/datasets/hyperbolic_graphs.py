"""The graphs of ``hyperbolic_graphs/`` (Sala et al. 2018, Gu et al. 2019, manify's labelled graphs).

- :func:`load_hyperbolic_graph`: the all-pairs shortest-path distance matrix of a named graph (its largest
  connected component), or the US cities road distances — the inputs of Gu et al. (2019) Table 1;
- :func:`load_polblogs`: the political-blogs graph (Adamic & Glance 2005) with its 0/1 leaning labels, the
  node-classification benchmark of manify (largest connected component, undirected, no self-loops).
"""

from __future__ import annotations

import os

import numpy as np
import scipy.io
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components, shortest_path

from ._root import data_root

__all__ = ["HYPERBOLIC_GRAPHS", "load_hyperbolic_graph", "load_polblogs"]

#: name → file under ``hyperbolic_graphs/hazyresearch_hyperbolics`` (Gu et al. 2019 Table 1 and friends)
HYPERBOLIC_GRAPHS = {
    "csphd": "ca-CSphd.edges",
    "power": "inf-power.edges",
    "facebook": "facebook_combined.edges",
    "phylo_tree": "phylo_tree.edges",
    "diseasome": "bio-diseasome.edges",
    "grqc": "grqc.edges",
    "cities": "usca312_dist.txt",
}


def _largest_component(A: sp.csr_matrix) -> np.ndarray:
    """Indices (sorted) of the nodes of the largest connected component of the undirected graph ``A``."""
    _, labels = connected_components(A, directed=False)
    return np.flatnonzero(labels == np.bincount(labels).argmax())


def load_hyperbolic_graph(name: str, root: str | os.PathLike | None = None) -> torch.Tensor:
    """Distance matrix ``(n, n)`` (float64) of a graph of ``hyperbolic_graphs/``.

    ``"cities"`` gives the 312 × 312 US road distances (USCA312, symmetrised); the others the unweighted
    shortest-path lengths of the undirected edge list's largest connected component (node ids sorted).

    Args:
        name: one of :data:`HYPERBOLIC_GRAPHS` (``"csphd"``, ``"power"``, ``"facebook"``, ``"phylo_tree"``,
            ``"diseasome"``, ``"grqc"``, ``"cities"``).
        root: data root (default ``$GEOMREP_DATA``, see :func:`~geomrep.datasets.data_root`).

    Raises:
        ValueError: unknown ``name``.
        FileNotFoundError: the data folder is missing.
    """
    if name not in HYPERBOLIC_GRAPHS:
        raise ValueError(f"name must be one of {sorted(HYPERBOLIC_GRAPHS)}, got {name!r}")
    path = data_root(root, "hyperbolic_graphs") / "hazyresearch_hyperbolics" / HYPERBOLIC_GRAPHS[name]
    if name == "cities":
        with open(path) as f:
            vals = [float(v) for line in f if not line.startswith("#") for v in line.split()]
        D = torch.tensor(vals, dtype=torch.float64).reshape(312, 312)
        return (D + D.T) / 2
    edges = np.loadtxt(path, dtype=np.int64, comments="#", usecols=(0, 1))
    n = int(edges.max()) + 1
    A = sp.csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    A = A + A.T
    keep = _largest_component(A)
    D = shortest_path(A[keep][:, keep], method="D", directed=False, unweighted=True)
    return torch.as_tensor(D, dtype=torch.float64)


def load_polblogs(root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The political-blogs graph and its leaning labels (largest connected component, 1,222 nodes).

    The 1,490-node directed multigraph of manify's history (MatrixMarket) is made undirected and simple
    (self-loops and repeated arcs dropped); isolated and small components are removed, as is usual for this
    benchmark (manify, Chami et al.).

    Returns:
        ``edge_index`` ``(2, E)`` int64 (both directions of each undirected edge, nodes renumbered
        0…n−1 in the original order) and ``y`` ``(n,)`` int64 labels (0 liberal, 1 conservative).
    """
    folder = data_root(root, "hyperbolic_graphs") / "manify_history"
    A = sp.csr_matrix(scipy.io.mmread(folder / "graphs__polblogs__polblogs.mtx"))
    labels = np.loadtxt(folder / "graphs__polblogs__polblogs_labels.tsv", dtype=np.int64)
    if labels.shape[0] != A.shape[0]:
        raise ValueError(f"polblogs: {labels.shape[0]} labels for {A.shape[0]} nodes")
    A = ((A + A.T) > 0).astype(np.float64).tolil()
    A.setdiag(0)
    A = A.tocsr()
    A.eliminate_zeros()
    keep = _largest_component(A)
    A = sp.coo_matrix(A[keep][:, keep])
    edge_index = torch.as_tensor(np.stack([A.row, A.col]), dtype=torch.int64)
    return edge_index, torch.as_tensor(labels[keep], dtype=torch.int64)
