"""Shortest-path targets without the ``(n, n)`` matrix: breadth-first search from a few sampled sources.

For graphs too large for all-pairs distances (``n = 10⁵`` would need 80 GB in float64),
:func:`~geomrep.manifolds.products.embed_graph` with ``distances="sampled"`` draws, at every step, ``S``
source nodes uniformly, runs one BFS from each (scipy's C implementation, ``O(S·(n + m))`` time, ``O(S·n)``
memory) and pairs each source with ``batch_pairs / S`` uniformly drawn targets ``j ≠ s``. Every unordered
pair has the same probability as under uniform pair sampling, so the loss is an unbiased estimate of the
all-pairs loss.

The quality measures are estimated the same way: :func:`sampled_distortion` averages ``|d_P − d_G| / d_G``
over all pairs ``(s, j)`` of ``num_sources`` sampled sources (exact when every node is a source), and
:func:`sampled_map` averages ``AP(u)`` over ``num_nodes`` sampled nodes.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components, shortest_path

from .metrics import average_precision_rows

__all__ = ["ShortestPathSampler", "sampled_distortion", "sampled_map"]


class ShortestPathSampler:
    """Sampled (source, target, graph distance) triples of a connected, undirected, unweighted graph.

    Args:
        adjacency: scipy sparse ``(n, n)`` adjacency (symmetrised here; weights ignored).

    Raises:
        ValueError: fewer than 2 nodes, or the graph is disconnected.
    """

    def __init__(self, adjacency: sp.spmatrix) -> None:
        A = sp.csr_matrix(adjacency, dtype=np.float64)
        A = ((A + A.T) > 0).astype(np.float64)
        A.setdiag(0)
        A.eliminate_zeros()
        self.adjacency = sp.csr_matrix(A)
        self.n = A.shape[0]
        if self.n < 2:
            raise ValueError(f"graph_or_distances must have at least 2 nodes, got {self.n}")
        n_comp, _ = connected_components(self.adjacency, directed=False)
        if n_comp > 1:
            raise ValueError(
                f"graph_or_distances is disconnected ({n_comp} components); embed its largest component"
            )

    def rows(self, sources: torch.Tensor) -> torch.Tensor:
        """Graph distances ``(len(sources), n)`` (float64) from each source (one BFS each)."""
        idx = sources.numpy()
        D = shortest_path(self.adjacency, method="D", directed=False, unweighted=True, indices=idx)
        return torch.from_numpy(np.atleast_2d(D))

    def sample(self, num_pairs: int, num_sources: int, generator: torch.Generator):
        """``(i, j, d_G(i, j))``: ``num_pairs`` pairs of ``num_sources`` uniform sources ``i``, ``j ≠ i``."""
        S = max(1, min(num_sources, num_pairs))
        sources = torch.randint(0, self.n, (S,), generator=generator)
        row = torch.arange(S).repeat_interleave(-(-num_pairs // S))[:num_pairs]  # source row of each pair
        i = sources[row]
        j = (i + torch.randint(1, self.n, (num_pairs,), generator=generator)) % self.n  # j ≠ i, uniform
        d = self.rows(sources)[row, j]
        return i, j, d

    def adjacency_rows(self, nodes: torch.Tensor) -> torch.Tensor:
        """Boolean adjacency rows ``(len(nodes), n)``."""
        return torch.from_numpy(self.adjacency[nodes.numpy()].toarray() > 0)


def _sources(n: int, k: int | None, seed: int) -> torch.Tensor:
    if k is None or k >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k]


def sampled_distortion(
    space,
    points: torch.Tensor,
    scale: float,
    sampler: ShortestPathSampler,
    *,
    num_sources: int | None = 1000,
    seed: int = 0,
) -> float:
    r"""Estimate of :math:`D_{avg}` from all pairs ``(s, j)``, ``j ≠ s``, of ``num_sources`` sampled sources.

    Exact (equal to :func:`average_distortion`) when ``num_sources ≥ n``: each unordered pair then appears
    twice. Memory ``O(block · n)``.
    """
    src = _sources(sampler.n, num_sources, seed)
    total, count = 0.0, 0
    for blk in src.split(64):
        dg = sampler.rows(blk)
        with torch.no_grad():
            dp = space.cdist(points[blk], points).double().cpu() / scale
        off = dg > 0
        total += float(((dp - dg).abs()[off] / dg[off]).sum())
        count += int(off.sum())
    return total / count


def sampled_map(
    space, points, sampler: ShortestPathSampler, *, num_nodes: int | None = 1000, seed: int = 0
) -> float:
    """Estimate of the mean average precision from ``num_nodes`` sampled nodes (exact if ``≥ n``)."""
    nodes = _sources(sampler.n, num_nodes, seed)
    aps = []
    for blk in nodes.split(64):
        with torch.no_grad():
            dp = space.cdist(points[blk], points).double().cpu()
        aps.append(average_precision_rows(dp, sampler.adjacency_rows(blk), blk))
    return float(torch.cat(aps).mean())
