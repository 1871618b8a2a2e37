r"""Curvature analysis of a metric space: triangle (sectional) curvature, Gromov δ, signature suggestion.

- :func:`sectional_curvature` (Gu et al. 2019, §3.2): for a node ``m`` with two neighbours ``b, c`` (so
  ``m`` is a midpoint of ``b`` and ``c``) and a reference node ``a``,

  .. math:: \xi(m; b, c; a) = \frac{1}{2 d(a,m)}\Big(d(a,m)^2 + \frac{d(b,c)^2}{4}
            - \frac{d(a,b)^2 + d(a,c)^2}{2}\Big),

  which is 0 in Euclidean space (the parallelogram law), negative in hyperbolic and positive in
  spherical space; a node's estimate is the mean over sampled triangles.
- :func:`delta_hyperbolicity`: Gromov's four-point δ,
  :math:`\delta = \max_{x,y,z,w} \tfrac12 (S_1 - S_2)` with :math:`S_1 \ge S_2 \ge S_3` the three sums
  ``d(x,y)+d(z,w)``, ``d(x,z)+d(y,w)``, ``d(x,w)+d(y,z)``. Fixing ``w`` turns the inner maximum into a
  (max, min) matrix product of Gromov products :math:`(x|y)_w`: :math:`\delta_w = \max(A \otimes A - A)`
  with :math:`(A \otimes A)_{xy} = \max_z \min(A_{xz}, A_{zy})`, O(n³) per base point; the exact δ is
  :math:`\max_w \delta_w` (O(n⁴)), one base point gives :math:`\delta_w \le \delta \le 2\delta_w`. A tree
  has δ = 0; a cycle of length n has δ > 0.
- :func:`suggest_signature`: rank candidate signatures of a total dimension by the distortion that short
  :func:`embed_graph` runs reach on (a node sample of) the metric.
"""

from __future__ import annotations

import torch

from .embedding import embed_graph
from .metrics import adjacency_from_distances, graph_distances

__all__ = ["sectional_curvature", "delta_hyperbolicity", "suggest_signature", "candidate_signatures"]


def sectional_curvature(
    graph_or_distances,
    *,
    adjacency: torch.Tensor | None = None,
    samples_per_node: int = 32,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-node triangle curvature estimates of Gu et al. (formula in the module docstring).

    Args:
        graph_or_distances: graph or distance matrix ``(n, n)`` (see :func:`graph_distances`).
        adjacency: boolean ``(n, n)`` neighbourhoods (default: pairs at the smallest distance, i.e. the
            edges of an unweighted graph).
        samples_per_node: triangles ``(b, c, a)`` sampled per node.
        seed: sampling seed.

    Returns:
        ``(nodes, curvature)``: indices ``(m,)`` of the nodes with at least two neighbours and their mean
        estimate ``(m,)`` (float64).
    """
    D = graph_distances(graph_or_distances)
    n = D.shape[0]
    adj = adjacency_from_distances(D) if adjacency is None else adjacency.bool().clone()
    if adj.shape != (n, n):
        raise ValueError(f"adjacency must be ({n}, {n}), got {tuple(adj.shape)}")
    if samples_per_node < 1:
        raise ValueError(f"samples_per_node must be ≥ 1, got {samples_per_node}")
    adj.fill_diagonal_(False)
    deg = adj.sum(1)
    nodes = torch.nonzero(deg >= 2).flatten()
    if nodes.numel() == 0:
        raise ValueError("graph_or_distances has no node with two neighbours (no triangle to measure)")
    gen = torch.Generator().manual_seed(seed)
    S = samples_per_node
    m = nodes.repeat_interleave(S)
    # two distinct neighbours per sample: rank-sample within each node's neighbour list
    w = adj[m].double()
    b = torch.multinomial(w, 1, generator=gen).flatten()
    w[torch.arange(len(m)), b] = 0
    c = torch.multinomial(w, 1, generator=gen).flatten()
    a = (m + torch.randint(1, n, (len(m),), generator=gen)) % n  # a ≠ m
    dam, dbc, dab, dac = D[a, m], D[b, c], D[a, b], D[a, c]
    xi = (dam**2 + dbc**2 / 4 - (dab**2 + dac**2) / 2) / (2 * dam)
    return nodes, xi.view(-1, S).mean(1)


def _gromov_products(D: torch.Tensor, w: int) -> torch.Tensor:
    return 0.5 * (D[:, w : w + 1] + D[w : w + 1, :] - D)


def _maxmin(A: torch.Tensor, block: int = 64) -> torch.Tensor:
    out = torch.empty_like(A)
    for s in range(0, A.shape[0], block):
        out[s : s + block] = torch.minimum(A[s : s + block, :, None], A[None, :, :]).amax(1)
    return out


def delta_hyperbolicity(
    graph_or_distances,
    *,
    method: str = "auto",
    base: int = 0,
    num_samples: int = 100_000,
    seed: int = 0,
) -> float:
    """Gromov four-point δ of a metric (module docstring).

    Args:
        graph_or_distances: graph or distance matrix ``(n, n)``.
        method: ``"exact"`` (all base points, O(n⁴); default for n ≤ 128), ``"base"`` (one base point,
            O(n³): returns δ_w with δ_w ≤ δ ≤ 2δ_w), ``"sample"`` (``num_samples`` random quadruples: a lower
            bound; default for n > 128), or ``"auto"``.
        base: base point for ``"base"``. num_samples, seed: for ``"sample"``.

    Returns:
        δ (float; 0 for a tree).
    """
    D = graph_distances(graph_or_distances)
    n = D.shape[0]
    if method == "auto":
        method = "exact" if n <= 128 else "sample"
    if method == "exact":
        return float(max((_maxmin(A := _gromov_products(D, w)) - A).max() for w in range(n)))
    if method == "base":
        if not 0 <= base < n:
            raise ValueError(f"base must be a node index in [0, {n}), got {base}")
        A = _gromov_products(D, base)
        return float((_maxmin(A) - A).max())
    if method == "sample":
        if num_samples < 1:
            raise ValueError(f"num_samples must be ≥ 1, got {num_samples}")
        g = torch.Generator().manual_seed(seed)
        x, y, z, w = torch.randint(0, n, (4, num_samples), generator=g)
        sums = torch.stack([D[x, y] + D[z, w], D[x, z] + D[y, w], D[x, w] + D[y, z]], -1)
        top = sums.sort(-1, descending=True).values
        return float(((top[:, 0] - top[:, 1]) / 2).max())
    raise ValueError(f"method must be 'auto', 'exact', 'base' or 'sample', got {method!r}")


def candidate_signatures(dim: int) -> list[str]:
    """Default candidates of total dimension ``dim``: E, H, S, H×S, H×E, (H²)^k, (S²)^k, (H²)^a×E²×(S²)^a."""
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    out = [f"E{dim}", f"H{dim}", f"S{dim}"]
    if dim >= 2:
        a, b = dim - dim // 2, dim // 2
        out += [f"H{a}xS{b}", f"H{a}xE{b}"]
    if dim % 2 == 0 and dim >= 4:
        out += [f"(H2)^{dim // 2}", f"(S2)^{dim // 2}"]
    if dim % 2 == 0 and dim >= 6 and (dim // 2 - 1) % 2 == 0:
        h = (dim // 2 - 1) // 2
        out.append(f"(H2)^{h}xE2x(S2)^{h}")
    return out


def suggest_signature(
    graph_or_distances,
    dim: int,
    *,
    candidates: list | None = None,
    steps: int = 300,
    max_nodes: int = 200,
    seed: int = 0,
    **embed_kwargs,
) -> list[tuple[str, float]]:
    """Rank candidate signatures by the average distortion of short embeddings (best first).

    Args:
        graph_or_distances: graph or distance matrix ``(n, n)``.
        dim: total dimension of the candidates (:func:`candidate_signatures`) unless ``candidates`` given.
        steps: optimiser steps per candidate (short runs: a ranking, not final quality).
        max_nodes: embed a uniform sample of at most this many nodes (its distances from the full metric).
        seed: node sampling and embedding seed. embed_kwargs: passed to :func:`embed_graph`.

    Returns:
        ``[(signature, D_avg), ...]`` sorted by distortion.
    """
    D = graph_distances(graph_or_distances)
    cands = candidate_signatures(dim) if candidates is None else list(candidates)
    if not cands:
        raise ValueError("candidates must not be empty")
    n = D.shape[0]
    if n > max_nodes:
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(n, generator=g)[:max_nodes].sort().values
        D = D[idx][:, idx]
    scores = []
    for sig in cands:
        emb = embed_graph(D, sig, steps=steps, seed=seed, **embed_kwargs)
        scores.append((emb.space.signature if not isinstance(sig, str) else sig, emb.distortion()))
    return sorted(scores, key=lambda t: t[1])
