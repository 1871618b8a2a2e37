"""The DictionaryLookup synthetic task.

Brody, Alon, Yahav, "How Attentive are Graph Attention Networks?", ICLR 2022 (GATv2).

A complete bipartite graph from ``k`` key nodes to ``k`` query nodes. Key node ``i`` carries
``(key_i, value_i)``; query node ``j`` carries only a key (its value slot holds the token ``k``).
Every key node sends an edge to every query node; the label of a query is the value of the key
node with the same key. Solving it needs a message that depends on *both* endpoints (GAT's static
attention ranks the neighbours identically for every query; sum-based GIN mixes all values).
"""

from __future__ import annotations

import torch
from torch_geometric.data import Data

__all__ = ["dictionary_lookup_graphs"]


def dictionary_lookup_graphs(
    num_keys: int, num_graphs: int, *, generator: torch.Generator | None = None
) -> list[Data]:
    """Random DictionaryLookup graphs.

    Each graph has ``2k`` nodes: nodes ``0..k-1`` are keys, ``k..2k-1`` queries.
    ``x (2k, 2)`` long: column 0 the key in ``[0, k)``, column 1 the value in ``[0, k)`` for key
    nodes and ``k`` ("unknown") for queries; ``edge_index (2, k²)`` from every key to every query;
    ``y (2k,)`` long: the value to predict on query nodes (``-100``, ignored by cross-entropy, on
    key nodes); ``query_mask (2k,)`` bool.

    Args:
        num_keys: ``k``.
        num_graphs: number of graphs (values and query order are drawn independently per graph).
        generator: random generator for reproducibility.

    Returns:
        List of ``Data``.

    Example:
        >>> g = dictionary_lookup_graphs(4, 1, generator=torch.Generator().manual_seed(0))[0]
        >>> g.x.shape, g.edge_index.shape
        (torch.Size([8, 2]), torch.Size([2, 16]))
    """
    if num_keys < 1 or num_graphs < 0:
        raise ValueError(f"need num_keys >= 1 and num_graphs >= 0, got {num_keys}, {num_graphs}")
    k = num_keys
    keys = torch.arange(k)
    src = keys.repeat_interleave(k)
    dst = k + keys.repeat(k)
    edge_index = torch.stack([src, dst])
    mask = torch.cat([torch.zeros(k, dtype=torch.bool), torch.ones(k, dtype=torch.bool)])
    graphs = []
    for _ in range(num_graphs):
        values = torch.randperm(k, generator=generator)
        query_keys = torch.randperm(k, generator=generator)
        x = torch.stack(
            [torch.cat([keys, query_keys]), torch.cat([values, torch.full((k,), k, dtype=torch.long)])], dim=1
        )
        y = torch.cat([torch.full((k,), -100, dtype=torch.long), values[query_keys]])
        graphs.append(Data(x=x, edge_index=edge_index, y=y, query_mask=mask, num_nodes=2 * k))
    return graphs
